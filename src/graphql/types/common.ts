import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, Int, InterfaceType, ObjectType, registerEnumType, type ClassType } from 'type-graphql';
import type { Page } from '../../kernel/pagination.js';
import { TeamView } from '../../modules/teams/team.view.js';
import { UserView } from '../../modules/users/user.view.js';

export { GraphQLJSONObject };

@InterfaceType({
  description: 'An object with an opaque, globally unique id (Relay Object Identification).',
  // Resolvers return entities (User, Team, Role, …) whose class names are the GraphQL type names, or
  // read-only views of users and teams (infra/orm/views.ts).
  resolveType: (value: object) => (value instanceof UserView ? 'User' : value instanceof TeamView ? 'Team' : value.constructor.name),
})
export abstract class Node {
  @Field(() => ID, { description: 'Opaque global id.' })
  id!: string;
}

@ObjectType({ simpleResolvers: true })
export class PageInfo {
  @Field() hasNextPage!: boolean;
  @Field() hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true }) startCursor!: string | null;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

export enum UserErrorCode {
  INVALID_INPUT = 'INVALID_INPUT',
  NOT_FOUND = 'NOT_FOUND',
  CONFLICT = 'CONFLICT',
  MANAGER_CYCLE = 'MANAGER_CYCLE',
  TEAM_CYCLE = 'TEAM_CYCLE',
  PRECONDITION_FAILED = 'PRECONDITION_FAILED',
  LIMIT_EXCEEDED = 'LIMIT_EXCEEDED',
}
registerEnumType(UserErrorCode, { name: 'UserErrorCode', description: 'Why a mutation did not apply. Nothing was changed.' });

@ObjectType({ description: 'A problem with the input of a mutation. A mutation with userErrors changed nothing.' })
export class UserError {
  @Field(() => UserErrorCode) code!: UserErrorCode;
  @Field(() => String, { nullable: true, description: 'The input field at fault, e.g. "userName" or "manager".' }) field!: string | null;
  @Field(() => String, { nullable: true, description: 'A finer, stable reason, e.g. USER_NAME_TAKEN.' }) reason!: string | null;
  @Field() message!: string;
}

export interface ConnectionShape<T> {
  edges: Array<{ cursor: string; node: T }>;
  nodes: T[];
  pageInfo: PageInfo;
  /** A promise resolves only when the query selects the field (graphql-js awaits a field's promise). */
  totalCount: number | Promise<number>;
}

/** A Relay connection type for a node type: edges, nodes, pageInfo, totalCount. */
export function ConnectionOf<T extends object>(nodeType: ClassType<T>, name: string) {
  @ObjectType(`${name}Edge`, { simpleResolvers: true })
  class Edge {
    @Field() cursor!: string;
    @Field(() => nodeType) node!: T;
  }
  @ObjectType(`${name}Connection`, { simpleResolvers: true })
  class Connection {
    @Field(() => [Edge]) edges!: Edge[];
    @Field(() => [nodeType]) nodes!: T[];
    @Field(() => PageInfo) pageInfo!: PageInfo;
    @Field(() => Int) totalCount!: number;
  }
  return Connection;
}

export function toConnection<T>(page: Page<T>): ConnectionShape<T> {
  return {
    edges: page.nodes.map((node, i) => ({ node, cursor: page.cursors[i] })),
    nodes: page.nodes,
    get totalCount() {
      return page.totalCount();
    },
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      startCursor: page.cursors[0] ?? null,
      endCursor: page.cursors[page.cursors.length - 1] ?? null,
    },
  };
}
