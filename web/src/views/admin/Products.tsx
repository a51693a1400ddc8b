import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from '../../client';
import { ErrorState, Loading, Panel, StatusBadge, TableHead, TableWrap } from '../../components/ui';
import { formatDateTime } from '../../format';
import { PRODUCT_FIELDS, lifecycleTone, type DataProduct } from '../Catalog';
import type { AdminDraftMutation, AdminProductsQuery, AdminPublishMutation } from '../../generated/graphql';

const PRODUCTS_QUERY = /* GraphQL */ `
  query AdminProducts {
    dataProducts { ...ProductFields }
  }
`;
const PRODUCTS = PRODUCTS_QUERY + PRODUCT_FIELDS;

const PUBLISH = /* GraphQL */ `
  mutation AdminPublish($input: DataProductInput!) {
    publishDataProduct(input: $input) { id slug version status }
  }
`;

const DRAFT = /* GraphQL */ `
  mutation AdminDraft($input: DataProductInput!) {
    saveDataProductDraft(input: $input) { id slug version status }
  }
`;

const DEPRECATE = /* GraphQL */ `
  mutation AdminDeprecate($id: ID!) {
    deprecateDataProduct(id: $id) { id status }
  }
`;

interface ProductForm {
  slug: string;
  name: string;
  description: string;
  domain: string;
  owner: string;
  version: string;
  graphqlType: string;
  availability: string;
  freshnessSeconds: string;
  latencyP99Ms: string;
  accessPolicy: string;
  eventSchema: string;
}

const EMPTY: ProductForm = {
  slug: '',
  name: '',
  description: '',
  domain: 'risk',
  owner: '',
  version: '1.0.0',
  graphqlType: 'RiskScore',
  availability: '99.9',
  freshnessSeconds: '5',
  latencyP99Ms: '100',
  accessPolicy: JSON.stringify(
    {
      plans: ['PROFESSIONAL', 'ENTERPRISE'],
      fields: [
        { plan: 'PROFESSIONAL', fields: ['customerId', 'band', 'score'] },
        { plan: 'ENTERPRISE', fields: ['customerId', 'band', 'score'] },
      ],
    },
    null,
    2,
  ),
  eventSchema: JSON.stringify({ type: 'object', properties: {}, additionalProperties: true }, null, 2),
};

function bumpMinor(version: string): string {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return match ? `${match[1]}.${Number(match[2]) + 1}.0` : version;
}

/** A form prefilled from an existing product, ready to publish its next version. */
function fromProduct(product: DataProduct): ProductForm {
  return {
    slug: product.slug,
    name: product.name,
    description: product.description,
    domain: product.domain,
    owner: product.owner,
    version: bumpMinor(product.version),
    graphqlType: product.schema.graphqlType,
    availability: String(product.slo.availability),
    freshnessSeconds: String(product.slo.freshnessSeconds),
    latencyP99Ms: String(product.slo.latencyP99Ms),
    accessPolicy: JSON.stringify(product.accessPolicy, null, 2),
    eventSchema: JSON.stringify(product.schema.eventJsonSchema, null, 2),
  };
}

export function Products() {
  const products = useQuery<AdminProductsQuery>(PRODUCTS);
  const deprecate = useMutation<unknown>(DEPRECATE);
  const [form, setForm] = useState<ProductForm>(EMPTY);
  const [formKey, setFormKey] = useState(0);

  if (!products.data) return products.error ? <ErrorState error={products.error} onRetry={products.reload} /> : <Loading what="Loading data products" />;

  return (
    <div className="stack">
      <Panel title="Data products">
        {deprecate.error && <ErrorState error={deprecate.error} compact />}
        <TableWrap label="Data products">
          <table className="table" data-testid="products-table">
            <TableHead columns={['Product', 'Version', 'Status', 'Published', 'Plans']} actions />
            <tbody>
              {products.data.dataProducts.map((product) => (
                <tr key={product.id}>
                  <th scope="row">
                    {product.name}
                    <br />
                    <code className="small">{product.slug}</code>
                  </th>
                  <td>{product.version}</td>
                  <td>
                    <StatusBadge tone={lifecycleTone(product.status)}>{product.status.toLowerCase()}</StatusBadge>
                  </td>
                  <td>{formatDateTime(product.publishedAt)}</td>
                  <td>{product.accessPolicy.plans.join(', ')}</td>
                  <td className="actions">
                    <button
                      type="button"
                      className="button secondary"
                      onClick={() => {
                        setForm(fromProduct(product));
                        setFormKey((k) => k + 1);
                        document.getElementById('publish-form')?.scrollIntoView({ behavior: 'smooth' });
                        window.setTimeout(() => document.getElementById('product-version')?.focus(), 0);
                      }}
                    >
                      New version
                    </button>
                    {product.status === 'PUBLISHED' && (
                      <button
                        type="button"
                        className="button secondary"
                        disabled={deprecate.busy}
                        onClick={async () => (await deprecate.run({ id: product.id })) && products.reload()}
                      >
                        Deprecate
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      </Panel>
      <PublishForm key={formKey} initial={form} onDone={products.reload} />
    </div>
  );
}

function PublishForm({ initial, onDone }: { initial: ProductForm; onDone(): void }) {
  const [form, setForm] = useState(initial);
  const [parseError, setParseError] = useState<string | null>(null);
  const publish = useMutation<AdminPublishMutation>(PUBLISH);
  const draft = useMutation<AdminDraftMutation>(DRAFT);
  const [result, setResult] = useState<string | null>(null);
  const set = (name: keyof ProductForm) => (event: { target: { value: string } }) => setForm({ ...form, [name]: event.target.value });

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setResult(null);
    let accessPolicy: unknown;
    let eventSchema: unknown;
    try {
      accessPolicy = JSON.parse(form.accessPolicy);
      eventSchema = JSON.parse(form.eventSchema);
      setParseError(null);
    } catch (error) {
      setParseError(`Not valid JSON: ${(error as Error).message}`);
      return;
    }
    const input = {
      slug: form.slug.trim(),
      name: form.name.trim(),
      description: form.description.trim(),
      domain: form.domain.trim(),
      owner: form.owner.trim(),
      version: form.version.trim(),
      graphqlType: form.graphqlType.trim(),
      slo: { availability: Number(form.availability), freshnessSeconds: Number(form.freshnessSeconds), latencyP99Ms: Number(form.latencyP99Ms) },
      accessPolicy,
      eventSchema,
    };
    const asDraft = (event.nativeEvent as SubmitEvent).submitter?.getAttribute('value') === 'draft';
    if (asDraft) {
      const saved = await draft.run({ input });
      if (saved) setResult(`Saved ${saved.saveDataProductDraft.slug} ${saved.saveDataProductDraft.version} as a draft.`);
    } else {
      const published = await publish.run({ input });
      if (published) setResult(`Published ${published.publishDataProduct.slug} ${published.publishDataProduct.version}.`);
    }
    onDone();
  };

  const text = (name: keyof ProductForm, label: string, extra: Record<string, unknown> = {}) => (
    <div className="field">
      <label htmlFor={`product-${name}`}>{label}</label>
      <input id={`product-${name}`} value={form[name]} onChange={set(name)} required {...extra} />
    </div>
  );

  return (
    <Panel title="Publish a data product" labelId="publish-heading">
      <form id="publish-form" onSubmit={submit} aria-labelledby="publish-heading">
        <p className="muted small">
          The gateway validates the contract: the GraphQL type must exist, the event schema must be valid JSON Schema, the policy must name known plans and
          fields. An existing slug needs a higher version.
        </p>
        <div className="form-grid">
          {text('slug', 'Slug', { pattern: '[a-z0-9]+(-[a-z0-9]+)*', maxLength: 64 })}
          {text('name', 'Name')}
          {text('version', 'Version (semver)', { pattern: '\\d+\\.\\d+\\.\\d+.*' })}
          {text('domain', 'Domain')}
          {text('owner', 'Owner (team or address)')}
          {text('graphqlType', 'GraphQL type')}
          {text('availability', 'SLO availability (%)', { type: 'number', step: 'any', min: 0, max: 100 })}
          {text('freshnessSeconds', 'SLO freshness (s)', { type: 'number', step: 'any', min: 0 })}
          {text('latencyP99Ms', 'SLO latency p99 (ms)', { type: 'number', step: 'any', min: 0 })}
          <div className="field span-all">
            <label htmlFor="product-description">Description</label>
            <textarea id="product-description" rows={2} value={form.description} onChange={set('description')} required />
          </div>
          <div className="field span-2">
            <label htmlFor="product-accessPolicy">Access policy (JSON)</label>
            <textarea id="product-accessPolicy" className="mono" rows={8} value={form.accessPolicy} onChange={set('accessPolicy')} required />
          </div>
          <div className="field span-2">
            <label htmlFor="product-eventSchema">Event schema (JSON Schema)</label>
            <textarea id="product-eventSchema" className="mono" rows={8} value={form.eventSchema} onChange={set('eventSchema')} required />
          </div>
        </div>
        <div className="button-row">
          <button type="submit" className="button" value="publish" disabled={publish.busy || draft.busy}>
            Publish
          </button>
          <button type="submit" className="button secondary" value="draft" disabled={publish.busy || draft.busy}>
            Save as draft
          </button>
        </div>
        {parseError && (
          <p className="error-state compact" role="alert">
            {parseError}
          </p>
        )}
        {result && (
          <p className="note note-ok" role="status">
            {result}
          </p>
        )}
        {publish.error && <ErrorState error={publish.error} compact />}
        {draft.error && <ErrorState error={draft.error} compact />}
      </form>
    </Panel>
  );
}
