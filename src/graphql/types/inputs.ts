import { Field, ID, InputType } from 'type-graphql';
import { GraphQLJSONObject } from './common.js';

@InputType()
export class NameInput {
  @Field(() => String, { nullable: true }) formatted?: string | null;
  @Field(() => String, { nullable: true }) givenName?: string | null;
  @Field(() => String, { nullable: true }) familyName?: string | null;
  @Field(() => String, { nullable: true }) middleName?: string | null;
  @Field(() => String, { nullable: true }) honorificPrefix?: string | null;
  @Field(() => String, { nullable: true }) honorificSuffix?: string | null;
}

@InputType()
export class EmailInput {
  @Field() value!: string;
  @Field(() => String, { nullable: true }) type?: string | null;
  @Field(() => Boolean, { nullable: true }) primary?: boolean | null;
}

@InputType()
export class PhoneNumberInput {
  @Field() value!: string;
  @Field(() => String, { nullable: true }) type?: string | null;
  @Field(() => Boolean, { nullable: true }) primary?: boolean | null;
}

@InputType()
export class AddressInput {
  @Field(() => String, { nullable: true }) formatted?: string | null;
  @Field(() => String, { nullable: true }) streetAddress?: string | null;
  @Field(() => String, { nullable: true }) locality?: string | null;
  @Field(() => String, { nullable: true }) region?: string | null;
  @Field(() => String, { nullable: true }) postalCode?: string | null;
  @Field(() => String, { nullable: true }) country?: string | null;
  @Field(() => String, { nullable: true }) type?: string | null;
  @Field(() => Boolean, { nullable: true }) primary?: boolean | null;
}

@InputType({
  description:
    'Names a manager. Exactly one field. If no such user exists yet the link stays pending and is filled in when that user is created.',
})
export class ManagerRefInput {
  @Field(() => ID, { nullable: true, description: 'Global id of the manager.' }) id?: string | null;
  @Field(() => String, { nullable: true, description: 'The manager’s SCIM id (uuid).' }) scimId?: string | null;
  @Field(() => String, { nullable: true, description: 'The manager’s externalId.' }) externalId?: string | null;
}

@InputType({ description: 'Fields of a user. In updates an omitted field is unchanged and null clears it.' })
export class UserFieldsInput {
  @Field(() => String, { nullable: true }) externalId?: string | null;
  @Field(() => NameInput, { nullable: true }) name?: NameInput | null;
  @Field(() => String, { nullable: true }) displayName?: string | null;
  @Field(() => String, { nullable: true }) nickName?: string | null;
  @Field(() => String, { nullable: true }) profileUrl?: string | null;
  @Field(() => String, { nullable: true }) title?: string | null;
  @Field(() => String, { nullable: true }) userType?: string | null;
  @Field(() => String, { nullable: true }) preferredLanguage?: string | null;
  @Field(() => String, { nullable: true }) locale?: string | null;
  @Field(() => String, { nullable: true }) timezone?: string | null;
  @Field(() => Boolean, { nullable: true }) active?: boolean | null;
  @Field(() => [EmailInput], { nullable: true }) emails?: EmailInput[] | null;
  @Field(() => [PhoneNumberInput], { nullable: true }) phoneNumbers?: PhoneNumberInput[] | null;
  @Field(() => [AddressInput], { nullable: true }) addresses?: AddressInput[] | null;
  @Field(() => String, { nullable: true }) employeeNumber?: string | null;
  @Field(() => String, { nullable: true }) costCenter?: string | null;
  @Field(() => String, { nullable: true }) organization?: string | null;
  @Field(() => String, { nullable: true }) division?: string | null;
  @Field(() => String, { nullable: true, description: 'Team by name; created when new (case-insensitive match).' }) department?:
    string | null;
  @Field(() => ID, { nullable: true, description: 'Team by id.' }) teamId?: string | null;
  @Field(() => ManagerRefInput, { nullable: true }) manager?: ManagerRefInput | null;
  @Field(() => GraphQLJSONObject, { nullable: true, description: 'Custom attribute values by declared name; null removes one.' })
  customAttributes?: Record<string, unknown> | null;
}

@InputType()
export class CreateUserInput extends UserFieldsInput {
  @Field() userName!: string;
  @Field(() => String, { nullable: true, description: 'Keep this SCIM id (uuid), e.g. when importing; generated otherwise.' }) scimId?:
    string | null;
}

@InputType()
export class UpdateUserInput extends UserFieldsInput {
  @Field(() => String, { nullable: true }) userName?: string | null;
}

@InputType()
export class CreateTeamInput {
  @Field() name!: string;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => ID, { nullable: true }) parentId?: string | null;
}

@InputType()
export class UpdateTeamInput {
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => ID, { nullable: true, description: 'null makes it a root team.' }) parentId?: string | null;
}

@InputType()
export class CreateRoleInput {
  @Field() displayName!: string;
  @Field(() => String, { nullable: true }) externalId?: string | null;
  @Field(() => String, { nullable: true }) description?: string | null;
}

@InputType()
export class UpdateRoleInput {
  @Field(() => String, { nullable: true }) displayName?: string | null;
  @Field(() => String, { nullable: true }) externalId?: string | null;
  @Field(() => String, { nullable: true }) description?: string | null;
}
