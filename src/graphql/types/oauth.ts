import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { Node, UserError } from './common.js';

@ObjectType({ description: 'A secret of an OAuth client. The secret itself is never readable again.' })
export class OAuthClientSecret {
  @Field({ description: 'The first characters of the secret, to recognise it.' }) prefix!: string;
  @Field(() => String, { nullable: true }) createdBy!: string | null;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true, description: 'Set when a rotation left this secret an overlap window.' }) expiresAt!: Date | null;
  @Field(() => Date, { nullable: true }) revokedAt!: Date | null;
  @Field(() => Date, { nullable: true }) lastUsedAt!: Date | null;
  @Field({ description: 'Usable now: not revoked and not expired.' }) active!: boolean;
}

@ObjectType({
  implements: Node,
  description:
    'An OAuth 2.0 client of the SCIM door (client credentials grant, as Microsoft Entra gallery apps use): its access tokens, from tokenEndpoint, are accepted by /scim/v2 as bearer tokens.',
})
export class OAuthClient extends Node {
  @Field({ description: 'The public client id to give the identity provider.' }) clientId!: string;
  @Field() name!: string;
  @Field(() => String, { nullable: true }) createdBy!: string | null;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) revokedAt!: Date | null;
  @Field(() => Date, { nullable: true, description: 'When an access token of this client was last issued or used (to the minute).' })
  lastUsedAt!: Date | null;
  @Field({ description: 'Not revoked.' }) active!: boolean;
  @Field({ description: "The tenant's OAuth token endpoint (POST, grant_type=client_credentials)." }) tokenEndpoint!: string;
  @Field(() => [OAuthClientSecret], { description: 'Newest first.' }) secrets!: OAuthClientSecret[];
}

@InputType()
export class CreateOAuthClientInput {
  @Field(() => String, { nullable: true, description: 'A label, e.g. "Entra gallery app".' }) name?: string | null;
}

@ObjectType()
export class CreateOAuthClientPayload {
  @Field(() => OAuthClient, { nullable: true }) client!: unknown;
  @Field(() => String, { nullable: true, description: 'The client secret. Shown only here, only once.' }) clientSecret!: string | null;
  @Field(() => String, { nullable: true }) tokenEndpoint!: string | null;
  @Field(() => String, { nullable: true }) scimBaseUrl!: string | null;
  @Field(() => [UserError]) userErrors!: UserError[];
}

@InputType()
export class RotateOAuthClientSecretInput {
  @Field(() => ID) id!: string;
  @Field(() => Int, {
    defaultValue: 0,
    description: 'Keep the previous secret (and its access tokens) valid this many seconds more (at most 7 days). 0 ends them now.',
  })
  overlapSeconds!: number;
}

@ObjectType()
export class RotateOAuthClientSecretPayload {
  @Field(() => OAuthClient, { nullable: true }) client!: unknown;
  @Field(() => String, { nullable: true, description: 'The new client secret. Shown only here, only once.' }) clientSecret!: string | null;
  @Field(() => [UserError]) userErrors!: UserError[];
}

@ObjectType()
export class OAuthClientPayload {
  @Field(() => OAuthClient, { nullable: true }) client!: unknown;
  @Field(() => [UserError]) userErrors!: UserError[];
}

@ObjectType({ description: 'Failed authentications, aggregated per minute, door, client address, presented credential prefix and reason.' })
export class AuthFailure {
  @Field({ description: 'The minute these attempts fell in.' }) windowStart!: Date;
  @Field({ description: 'scim, graphql or oauth (the token endpoint).' }) door!: string;
  @Field({ description: 'The client address (the one the nearest proxy reported).' }) clientIp!: string;
  @Field({ description: "The first characters of a presented Roster secret (or an OAuth client id), else 'unrecognised'. Never more." })
  credentialPrefix!: string;
  @Field({
    description:
      'unknown_credential, revoked, expired, wrong_tenant (token endpoint: unknown_client, invalid_secret, revoked, expired, wrong_tenant).',
  })
  reason!: string;
  @Field(() => String, {
    nullable: true,
    description: 'The tenant the presented credential belongs to, when it names one (e.g. a revoked token).',
  })
  tenantSlug!: string | null;
  @Field(() => Int) attempts!: number;
  @Field() firstAt!: Date;
  @Field() lastAt!: Date;
  @Field(() => String, { nullable: true }) lastRequestId!: string | null;
  @Field(() => String, { nullable: true }) userAgent!: string | null;
}
