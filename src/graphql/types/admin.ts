import { Field, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Node, UserError } from './common.js';

@ObjectType({ implements: Node, description: 'A customer tenant.' })
export class Tenant extends Node {
  @Field({ description: 'Subdomain-like identifier.' }) slug!: string;
  @Field() displayName!: string;
  @Field({ description: 'Paste this into Okta or Entra as the SCIM base URL.' }) scimBaseUrl!: string;
  @Field() createdAt!: Date;
}

export enum ScimCredentialKind {
  BEARER = 'bearer',
  BASIC = 'basic',
}
registerEnumType(ScimCredentialKind, { name: 'ScimCredentialKind' });

@ObjectType({ implements: Node, description: 'A SCIM credential. The secret itself is never readable again.' })
export class ScimCredential extends Node {
  @Field(() => ScimCredentialKind) kind!: ScimCredentialKind;
  @Field({ description: 'The first characters of the secret, to recognise it.' }) prefix!: string;
  @Field(() => String, { nullable: true, description: 'For basic credentials: the user name.' }) basicUsername!: string | null;
  @Field(() => String, { nullable: true }) createdBy!: string | null;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true, description: 'Set when a rotation left this credential an overlap window.' })
  expiresAt!: Date | null;
  @Field(() => Date, { nullable: true }) revokedAt!: Date | null;
  @Field(() => Date, { nullable: true }) lastUsedAt!: Date | null;
  @Field({ description: 'Usable now: not revoked and not expired.' }) active!: boolean;
}

@ObjectType({ implements: Node, description: 'An admin API key for the GraphQL API.' })
export class ApiKey extends Node {
  @Field() name!: string;
  @Field(() => [String]) permissions!: string[];
  @Field() prefix!: string;
  @Field(() => String, { nullable: true }) createdBy!: string | null;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) revokedAt!: Date | null;
  @Field(() => Date, { nullable: true }) lastUsedAt!: Date | null;
}

export enum CustomAttributeType {
  string = 'string',
  boolean = 'boolean',
  decimal = 'decimal',
  integer = 'integer',
  dateTime = 'dateTime',
}
registerEnumType(CustomAttributeType, { name: 'CustomAttributeType' });

@ObjectType({ implements: Node, description: "A custom user attribute, published in the tenant's own SCIM schema extension." })
export class CustomAttribute extends Node {
  @Field() name!: string;
  @Field(() => CustomAttributeType) type!: CustomAttributeType;
  @Field() multiValued!: boolean;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field() createdAt!: Date;
}

@InputType()
export class DeclareCustomAttributeInput {
  @Field() name!: string;
  @Field(() => CustomAttributeType) type!: CustomAttributeType;
  @Field({ defaultValue: false }) multiValued!: boolean;
  @Field(() => String, { nullable: true }) description?: string | null;
}

@InputType()
export class GenerateScimCredentialInput {
  @Field(() => ScimCredentialKind, { defaultValue: ScimCredentialKind.BEARER }) kind!: ScimCredentialKind;
  @Field(() => Int, {
    defaultValue: 0,
    description: 'Keep the previous credential valid this many seconds more (at most 7 days). 0 invalidates it now.',
  })
  overlapSeconds!: number;
}

@ObjectType()
export class GenerateScimCredentialPayload {
  @Field(() => ScimCredential, { nullable: true }) credential!: unknown;
  @Field(() => String, { nullable: true, description: 'The bearer token or Basic password. Shown only here, only once.' }) secret!:
    string | null;
  @Field(() => String, { nullable: true }) scimBaseUrl!: string | null;
  @Field(() => [UserError]) userErrors!: UserError[];
}

@ObjectType()
export class RevokePayload {
  @Field(() => Int, {
    nullable: true,
    description: 'How many credentials were revoked; null when the mutation did not apply (see userErrors).',
  })
  revoked!: number | null;
  @Field(() => [UserError]) userErrors!: UserError[];
}

@InputType()
export class CreateApiKeyInput {
  @Field() name!: string;
  @Field(() => [String], { description: 'Any of directory:read, directory:write, integrations:manage, audit:read.' })
  permissions!: string[];
}

@ObjectType()
export class CreateApiKeyPayload {
  @Field(() => ApiKey, { nullable: true }) apiKey!: unknown;
  @Field(() => String, { nullable: true, description: 'Shown only here, only once.' }) secret!: string | null;
  @Field(() => [UserError]) userErrors!: UserError[];
}

@ObjectType()
export class ApiKeyPayload {
  @Field(() => ApiKey, { nullable: true }) apiKey!: unknown;
  @Field(() => [UserError]) userErrors!: UserError[];
}

@ObjectType()
export class CustomAttributePayload {
  @Field(() => CustomAttribute, { nullable: true }) customAttribute!: unknown;
  @Field(() => [UserError]) userErrors!: UserError[];
}

@InputType()
export class CreateTenantInput {
  @Field() slug!: string;
  @Field(() => String, { nullable: true }) displayName?: string | null;
}

@ObjectType({ description: 'A new tenant and its first credentials. The secrets are shown only here, only once.' })
export class CreateTenantPayload {
  @Field(() => Tenant, { nullable: true }) tenant!: unknown;
  @Field(() => String, { nullable: true }) scimToken!: string | null;
  @Field(() => String, { nullable: true, description: 'An admin API key holding every tenant permission.' }) apiKey!: string | null;
  @Field(() => [UserError]) userErrors!: UserError[];
}
