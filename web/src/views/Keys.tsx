import type { PortalCreateKeyMutation, PortalKeysQuery, PortalRevokeKeyMutation } from '../generated/graphql';
import { useRef, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from '../client';
import { CopyButton, ErrorState, Loading, Panel, StatusBadge, TableHead, TableWrap } from '../components/ui';
import { formatDateTime } from '../format';

type ApiKey = PortalKeysQuery['me']['account']['apiKeys'][number];

const KEYS = /* GraphQL */ `
  query PortalKeys {
    me {
      key { id }
      account { id apiKeys { id name prefix role createdAt lastUsedAt expiresAt revokedAt } }
    }
  }
`;

const CREATE = /* GraphQL */ `
  mutation PortalCreateKey($accountId: ID!, $name: String, $expiresAt: DateTime) {
    createApiKey(accountId: $accountId, name: $name, expiresAt: $expiresAt, role: SUBSCRIBER) { key apiKey { id name prefix } }
  }
`;

const REVOKE = /* GraphQL */ `
  mutation PortalRevokeKey($id: ID!) {
    revokeApiKey(id: $id) { id revokedAt }
  }
`;

function keyState(key: ApiKey, now = Date.now()): { label: string; tone: 'ok' | 'bad' | 'warn' } {
  if (key.revokedAt) return { label: 'revoked', tone: 'bad' };
  if (key.expiresAt && Date.parse(key.expiresAt) <= now) return { label: 'expired', tone: 'warn' };
  return { label: 'active', tone: 'ok' };
}

export function Keys({ onRevokedOwnKey }: { onRevokedOwnKey(): void }) {
  const keys = useQuery<PortalKeysQuery>(KEYS);
  const create = useMutation<PortalCreateKeyMutation>(CREATE);
  const revoke = useMutation<PortalRevokeKeyMutation>(REVOKE);
  const [name, setName] = useState('');
  const [expires, setExpires] = useState('');
  const [secret, setSecret] = useState<{ key: string; name: string } | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const secretRef = useRef<HTMLDivElement>(null);

  if (!keys.data) return keys.error ? <ErrorState error={keys.error} onRetry={keys.reload} /> : <Loading what="Loading keys" />;
  const { me } = keys.data;
  const list = [...me.account.apiKeys].sort((a, b) => Number(Boolean(a.revokedAt)) - Number(Boolean(b.revokedAt)) || b.createdAt.localeCompare(a.createdAt));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await create.run({
      accountId: me.account.id,
      name: name.trim() || null,
      expiresAt: expires ? new Date(`${expires}T23:59:59Z`).toISOString() : null,
    });
    if (!result) return;
    setSecret({ key: result.createApiKey.key, name: result.createApiKey.apiKey.name });
    setName('');
    setExpires('');
    keys.reload();
    // Move focus to the secret so keyboard and screen-reader users land on it.
    window.setTimeout(() => secretRef.current?.focus(), 0);
  };

  const confirmRevoke = async (key: ApiKey) => {
    const result = await revoke.run({ id: key.id });
    setConfirming(null);
    if (!result) return;
    if (key.id === me.key.id) onRevokedOwnKey();
    else keys.reload();
  };

  return (
    <div className="stack">
      {secret && (
        <div className="secret" role="region" aria-label="Your new key" tabIndex={-1} ref={secretRef}>
          <h2>Key “{secret.name}” created</h2>
          <p>
            <strong>Copy it now: this is the only time it is shown.</strong> Tollgraph stores only a hash of it.
          </p>
          <div className="secret-row">
            <label className="visually-hidden" htmlFor="new-key-secret">
              New API key
            </label>
            <input
              id="new-key-secret"
              className="mono"
              readOnly
              value={secret.key}
              onFocus={(event) => event.currentTarget.select()}
              data-testid="new-key-secret"
            />
            <CopyButton text={secret.key} label="Copy key" />
          </div>
          <button type="button" className="button secondary" onClick={() => setSecret(null)}>
            I have stored it
          </button>
        </div>
      )}

      <Panel title="Create a key">
        <form className="form-row" onSubmit={submit}>
          <div className="field">
            <label htmlFor="key-name">Name</label>
            <input id="key-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={100} placeholder="e.g. production scorer" required />
          </div>
          <div className="field">
            <label htmlFor="key-expires">
              Expires <span className="muted">(optional)</span>
            </label>
            <input id="key-expires" type="date" value={expires} onChange={(e) => setExpires(e.target.value)} min={new Date().toISOString().slice(0, 10)} />
          </div>
          <button type="submit" className="button" disabled={create.busy}>
            {create.busy ? 'Creating…' : 'Create key'}
          </button>
        </form>
        {create.error && <ErrorState error={create.error} compact />}
      </Panel>

      <Panel title="Your keys">
        {revoke.error && <ErrorState error={revoke.error} compact />}
        <TableWrap label="API keys">
          <table className="table" data-testid="keys-table">
            <TableHead columns={['Name', 'Key', 'Role', 'Status', 'Created', 'Last used', 'Expires']} actions />
            <tbody>
              {list.map((key) => {
                const state = keyState(key);
                return (
                  <tr key={key.id} data-key-id={key.id} data-key-name={key.name}>
                    <th scope="row">
                      {key.name}
                      {key.id === me.key.id && <span className="muted"> (this session)</span>}
                    </th>
                    <td>
                      <code>{key.prefix}…</code>
                    </td>
                    <td>{key.role}</td>
                    <td>
                      <StatusBadge tone={state.tone}>{state.label}</StatusBadge>
                    </td>
                    <td>{formatDateTime(key.createdAt)}</td>
                    <td>{formatDateTime(key.lastUsedAt)}</td>
                    <td>{key.expiresAt ? formatDateTime(key.expiresAt) : 'never'}</td>
                    <td className="actions">
                      {!key.revokedAt &&
                        (confirming === key.id ? (
                          <span className="confirm" role="group" aria-label={`Confirm revoking ${key.name}`}>
                            <span>{key.id === me.key.id ? 'This signs you out. Revoke?' : 'Revoke for good?'}</span>
                            <button type="button" className="button danger" disabled={revoke.busy} onClick={() => confirmRevoke(key)}>
                              Yes, revoke
                            </button>
                            <button type="button" className="button secondary" onClick={() => setConfirming(null)}>
                              Cancel
                            </button>
                          </span>
                        ) : (
                          <button type="button" className="button secondary" onClick={() => setConfirming(key.id)} aria-label={`Revoke key ${key.name}`}>
                            Revoke
                          </button>
                        ))}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableWrap>
      </Panel>
    </div>
  );
}
