import { Arg, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import { Account } from '../accounts/account.types';
import { isAdmin, mayAccessAccount, viewerOf } from '../auth/guards';
import { notFound } from '../errors';
import { actorOf } from '../auth/viewer';
import { badInput, TollgraphError } from '../errors';
import { ApiKeyRole } from '../generated/prisma/enums';
import type { GatewayContext } from '../gateway/context';
import { ApiKey, CreatedApiKey } from './key.types';

const NAME_MAX = 100;

@Resolver(() => ApiKey)
export class KeysResolver {
  @Mutation(() => CreatedApiKey, {
    description:
      'Creates a key and returns its secret, once. ADMIN keys may create any key (PUBLISHER keys with the domains they publish); a subscriber may create SUBSCRIBER keys for its own account.',
  })
  async createApiKey(
    @Ctx() context: GatewayContext,
    @Arg('accountId', () => ID) accountId: string,
    @Arg('name', () => String, { nullable: true }) name: string | undefined,
    @Arg('role', () => ApiKeyRole, { defaultValue: 'SUBSCRIBER' }) role: ApiKeyRole,
    @Arg('expiresAt', () => Date, { nullable: true }) expiresAt?: Date,
    @Arg('domains', () => [String], { nullable: true, description: 'PUBLISHER keys: the data-product domains it publishes' }) domains?: string[] | null,
  ): Promise<CreatedApiKey> {
    const viewer = viewerOf(context);
    if (!mayAccessAccount(viewer, accountId) || !(await context.services.accounts.find(accountId))) throw notFound('account');
    if (role !== 'SUBSCRIBER' && !isAdmin(viewer)) throw new TollgraphError('FORBIDDEN', `Only an ADMIN key can create ${role} keys.`);
    const keyName = (name ?? 'default').trim();
    if (!keyName || keyName.length > NAME_MAX) throw badInput(`name must be 1-${NAME_MAX} characters`, { fields: ['name'] });
    if (expiresAt && expiresAt.getTime() <= Date.now()) throw badInput('expiresAt must be in the future', { fields: ['expiresAt'] });
    const { secret, key } = await context.services.keys.create(
      { accountId, name: keyName, role, expiresAt, domains: domains ?? [] },
      actorOf(viewer, context.requestId),
    );
    return { key: secret, apiKey: key };
  }

  @Mutation(() => ApiKey, { description: 'Revokes a key at once on every gateway. ADMIN keys, or any key of the same account.' })
  async revokeApiKey(@Ctx() context: GatewayContext, @Arg('id', () => ID) id: string): Promise<ApiKey> {
    const viewer = viewerOf(context);
    const key = await context.services.keys.find(id);
    if (!key || !mayAccessAccount(viewer, key.accountId)) throw notFound('API key');
    return context.services.keys.revoke(id, actorOf(viewer, context.requestId));
  }
}

@Resolver(() => Account)
export class AccountKeysResolver {
  @FieldResolver(() => [ApiKey], { description: 'The account’s keys, revoked ones included' })
  apiKeys(@Root() account: Account, @Ctx() { services }: GatewayContext): Promise<ApiKey[]> {
    return services.keys.list(account.id);
  }
}
