import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { ApiKeyRole } from '../generated/prisma/enums';

registerEnumType(ApiKeyRole, {
  name: 'ApiKeyRole',
  description: 'SUBSCRIBER: reads; PUBLISHER: publishes the data products of its domains and sees their usage and revenue; ADMIN: everything',
});

@ObjectType({ description: 'An API key as listings show it: the secret is never shown again after creation' })
export class ApiKey {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  accountId!: string;

  @Field({ description: 'The first characters of the key, to tell keys apart' })
  prefix!: string;

  @Field()
  name!: string;

  @Field(() => ApiKeyRole)
  role!: ApiKeyRole;

  @Field(() => [String], { description: 'PUBLISHER keys: the data-product domains the key publishes; empty for other roles' })
  domains!: string[];

  @Field(() => Date, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'Updated in the background, at most a few seconds behind' })
  lastUsedAt!: Date | null;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType()
export class CreatedApiKey {
  @Field({ description: 'The secret key. Shown only in this response: store it now.' })
  key!: string;

  @Field(() => ApiKey)
  apiKey!: ApiKey;
}
