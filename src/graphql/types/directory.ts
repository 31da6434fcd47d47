import { ArgsType, Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ConnectionOf, GraphQLJSONObject, Node, PageInfo, UserError } from './common.js';

@ArgsType()
export class ConnectionArgs {
  @Field(() => Int, { nullable: true, description: 'At most 100.' }) first?: number | null;
  @Field(() => String, { nullable: true }) after?: string | null;
  @Field(() => Int, { nullable: true, description: 'At most 100.' }) last?: number | null;
  @Field(() => String, { nullable: true }) before?: string | null;
}

@ObjectType({ simpleResolvers: true })
export class UserName {
  @Field(() => String, { nullable: true }) formatted!: string | null;
  @Field(() => String, { nullable: true }) givenName!: string | null;
  @Field(() => String, { nullable: true }) familyName!: string | null;
  @Field(() => String, { nullable: true }) middleName!: string | null;
  @Field(() => String, { nullable: true }) honorificPrefix!: string | null;
  @Field(() => String, { nullable: true }) honorificSuffix!: string | null;
}

@ObjectType({ simpleResolvers: true })
export class Email {
  @Field() value!: string;
  @Field(() => String, { nullable: true }) type!: string | null;
  @Field() primary!: boolean;
}

@ObjectType({ simpleResolvers: true })
export class PhoneNumber {
  @Field() value!: string;
  @Field(() => String, { nullable: true }) type!: string | null;
  @Field() primary!: boolean;
}

@ObjectType({ simpleResolvers: true })
export class Address {
  @Field(() => String, { nullable: true }) formatted!: string | null;
  @Field(() => String, { nullable: true }) streetAddress!: string | null;
  @Field(() => String, { nullable: true }) locality!: string | null;
  @Field(() => String, { nullable: true }) region!: string | null;
  @Field(() => String, { nullable: true }) postalCode!: string | null;
  @Field(() => String, { nullable: true }) country!: string | null;
  @Field(() => String, { nullable: true }) type!: string | null;
  @Field() primary!: boolean;
}

@ObjectType({
  simpleResolvers: true,
  implements: Node,
  description: 'A person in the directory. Deactivated users stay readable; deleted ones are gone.',
})
export class User extends Node {
  @Field({ description: 'The id SCIM clients see for this user.' }) scimId!: string;
  @Field({ description: 'The login, usually the email address; unique in the tenant, case-insensitively.' }) userName!: string;
  @Field(() => String, { nullable: true, description: "The identity provider's stable anchor." }) externalId!: string | null;
  @Field(() => UserName) name!: UserName;
  @Field(() => String, { nullable: true }) displayName!: string | null;
  @Field(() => String, { nullable: true }) nickName!: string | null;
  @Field(() => String, { nullable: true }) profileUrl!: string | null;
  @Field(() => String, { nullable: true }) title!: string | null;
  @Field(() => String, { nullable: true }) userType!: string | null;
  @Field(() => String, { nullable: true }) preferredLanguage!: string | null;
  @Field(() => String, { nullable: true }) locale!: string | null;
  @Field(() => String, { nullable: true }) timezone!: string | null;
  @Field() active!: boolean;
  @Field(() => [Email]) emails!: Email[];
  @Field(() => [PhoneNumber]) phoneNumbers!: PhoneNumber[];
  @Field(() => [Address]) addresses!: Address[];
  @Field(() => String, { nullable: true }) employeeNumber!: string | null;
  @Field(() => String, { nullable: true }) costCenter!: string | null;
  @Field(() => String, { nullable: true }) organization!: string | null;
  @Field(() => String, { nullable: true }) division!: string | null;
  @Field(() => String, { nullable: true, description: 'The manager reference (id or externalId) waiting for that user to be provisioned.' })
  pendingManagerRef!: string | null;
  @Field(() => GraphQLJSONObject, { description: "Values of the tenant's custom attributes." }) customAttributes!: Record<string, unknown>;
  @Field(() => Int, {
    description:
      "Increases with every change of the user's own attributes (the expectedVersion of updates). The SCIM ETag starts with it and also moves with the user's groups and the names of its team, manager and groups.",
  })
  version!: number;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
  @Field(() => Date, { nullable: true }) deactivatedAt!: Date | null;
}

@ObjectType({ simpleResolvers: true, implements: Node, description: 'A team (department). Users belong to at most one team; teams nest.' })
export class Team extends Node {
  @Field() name!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
}

@ObjectType({
  simpleResolvers: true,
  implements: Node,
  description: 'A tenant role. Over SCIM it is a Group; group membership is role assignment.',
})
export class Role extends Node {
  @Field({ description: 'The id SCIM clients see for this group.' }) scimId!: string;
  @Field() displayName!: string;
  @Field(() => String, { nullable: true }) externalId!: string | null;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => Int) version!: number;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
}

export enum Door {
  GRAPHQL = 'graphql',
  SCIM = 'scim',
  CLI = 'cli',
  SYSTEM = 'system',
}
registerEnumType(Door, { name: 'Door', description: 'Which door a change came through.' });

@ObjectType()
export class AuditActor {
  @Field({ description: 'api_key, scim_credential, operator, cli or system' }) kind!: string;
  @Field(() => String, { nullable: true }) id!: string | null;
  @Field(() => String, { nullable: true }) label!: string | null;
}

@ObjectType({ implements: Node, description: 'One change: who, through which door, what, when, and the before/after of changed fields.' })
export class AuditEvent extends Node {
  @Field() occurredAt!: Date;
  @Field(() => Door) door!: Door;
  @Field(() => AuditActor) actor!: AuditActor;
  @Field() action!: string;
  @Field() targetType!: string;
  @Field(() => String, { nullable: true, description: 'Global id of the target, when it is a node.' }) targetId!: string | null;
  @Field(() => GraphQLJSONObject) changes!: Record<string, unknown>;
  @Field(() => String, { nullable: true }) requestId!: string | null;
}

export const UserConnection = ConnectionOf(User, 'User');
export const TeamConnection = ConnectionOf(Team, 'Team');
export const RoleConnection = ConnectionOf(Role, 'Role');
export const AuditEventConnection = ConnectionOf(AuditEvent, 'AuditEvent');

@ObjectType('SubtreeEdge', { simpleResolvers: true })
export class SubtreeEdge {
  @Field() cursor!: string;
  @Field(() => User) node!: unknown;
  @Field(() => Int, { description: '1 for direct reports, 2 for their reports, …' }) depth!: number;
}

@ObjectType('SubtreeConnection', { simpleResolvers: true, description: 'Everyone below a manager, nearest levels first.' })
export class SubtreeConnection {
  @Field(() => [SubtreeEdge]) edges!: SubtreeEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  @Field(() => Int) totalCount!: number;
}

export enum UserOrderField {
  NAME = 'NAME',
  CREATED_AT = 'CREATED_AT',
  UPDATED_AT = 'UPDATED_AT',
}
registerEnumType(UserOrderField, { name: 'UserOrderField' });

@InputType()
export class UserOrder {
  @Field(() => UserOrderField) field!: UserOrderField;
  @Field({ defaultValue: false }) descending!: boolean;
}

@InputType({ description: 'All conditions must hold.' })
export class UserFilter {
  @Field(() => Boolean, { nullable: true }) active?: boolean | null;
  @Field(() => ID, { nullable: true }) teamId?: string | null;
  @Field(() => ID, { nullable: true }) roleId?: string | null;
  @Field(() => ID, { nullable: true }) managerId?: string | null;
  @Field(() => String, { nullable: true, description: 'Case-insensitive substring of userName, names or emails.' }) search?: string | null;
}

@InputType()
export class AuditFilter {
  @Field(() => Door, { nullable: true }) door?: Door | null;
  @Field(() => String, { nullable: true, description: 'e.g. user.created, user.deactivated, role.members_changed' }) action?: string | null;
  @Field(() => Date, { nullable: true }) since?: Date | null;
  @Field(() => Date, { nullable: true }) until?: Date | null;
  @Field(() => ID, { nullable: true, description: 'Only events about this node.' }) targetId?: string | null;
}

@ObjectType()
export class UserPayload {
  @Field(() => User, { nullable: true }) user!: unknown;
  @Field(() => [UserError]) userErrors!: UserError[];
}

@ObjectType()
export class TeamPayload {
  @Field(() => Team, { nullable: true }) team!: unknown;
  @Field(() => [UserError]) userErrors!: UserError[];
}

@ObjectType()
export class RolePayload {
  @Field(() => Role, { nullable: true }) role!: unknown;
  @Field(() => [UserError]) userErrors!: UserError[];
}

@ObjectType()
export class DeletePayload {
  @Field(() => ID, { nullable: true }) deletedId!: string | null;
  @Field(() => [UserError]) userErrors!: UserError[];
}

@ObjectType()
export class RoleAssignmentPayload {
  @Field(() => Role, { nullable: true }) role!: unknown;
  @Field(() => Int, { nullable: true, description: 'How many assignments were added or removed.' }) changed!: number | null;
  @Field(() => [UserError]) userErrors!: UserError[];
}
