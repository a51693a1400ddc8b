import { GraphQLJSON } from 'graphql-scalars';
import { Arg, Ctx, Field, ID, Int, ObjectType, Query, Resolver } from 'type-graphql';
import { AdminOnly } from '../auth/access';
import { Cost } from '../cost/hints';
import { badInput } from '../errors';
import type { GatewayContext } from '../gateway/context';
import { Connection, page } from '../graphql/connection';
import { idCursor, idCursorOf } from '../graphql/cursor';

@ObjectType({ description: 'One administrative change: who, what, when, before and after' })
export class AuditEntry {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'key, cli or system:<component>' })
  actorType!: string;

  @Field(() => ID, { nullable: true })
  actorKeyId!: string | null;

  @Field(() => ID, { nullable: true })
  actorAccountId!: string | null;

  @Field({ description: 'e.g. account.setPlan, apiKey.revoke' })
  action!: string;

  @Field()
  targetType!: string;

  @Field(() => String, { nullable: true })
  targetId!: string | null;

  @Field(() => GraphQLJSON, { nullable: true })
  before!: unknown;

  @Field(() => GraphQLJSON, { nullable: true })
  after!: unknown;

  @Field(() => String, { nullable: true })
  requestId!: string | null;

  @Field(() => Date)
  at!: Date;
}

@ObjectType()
export class AuditEntryConnection extends Connection(AuditEntry) {}

@Resolver()
export class AuditResolver {
  @AdminOnly()
  @Cost({ slicingArguments: ['first'], sizedFields: ['nodes'] })
  @Query(() => AuditEntryConnection, { description: 'Administrative changes, newest first. ADMIN.' })
  async auditLog(
    @Ctx() { services }: GatewayContext,
    @Arg('first', () => Int, { defaultValue: 50 }) first: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<AuditEntryConnection> {
    if (first < 1 || first > 200) throw badInput('first must be between 1 and 200', { fields: ['first'] });
    const { entries, hasNextPage } = await services.audit.list({ first, after: idCursor(after) });
    return page(entries, hasNextPage, idCursorOf);
  }
}
