import { TeamSchema } from '../modules/teams/team.entity.js';
import { UserSchema } from '../modules/users/user.entity.js';
import type { TeamProjection, TeamProperty, UserProjection, UserProperty } from '../modules/users/user.queries.js';

/**
 * The user properties each field of the GraphQL `User` type reads from the object it resolves on (a view or
 * an entity; see user.resolver.ts), where that is not the property of the field's own name: the fields that
 * read only the id (relations loaded by id, the global id) read nothing more. The test in
 * test/integration/graphql/projection.int.test.ts selects every field of the type through a projected page and
 * compares it with the whole row's answer, and so for `Team`.
 */
const USER_FIELD_PROPERTIES = new Map<string, readonly UserProperty[]>([
  ['__typename', []],
  ['id', []],
  ['scimId', []],
  ['roles', []],
  ['directReports', []],
  ['reportingChain', []],
  ['subtree', []],
  ['auditTrail', []],
  ['name', ['formattedName', 'givenName', 'familyName', 'middleName', 'honorificPrefix', 'honorificSuffix']],
  ['pendingManagerRef', ['managerRef']],
  ['customAttributes', ['custom']],
  ['team', ['teamId']],
  ['manager', ['managerId']],
]);

const TEAM_FIELD_PROPERTIES = new Map<string, readonly TeamProperty[]>([
  ['__typename', []],
  ['id', []],
  ['children', []],
  ['members', []],
  ['memberCount', []],
  ['parent', ['parentId']],
]);

/**
 * The properties a selection of fields needs (graphql/lookahead.ts): as listed, else the property of the
 * field's name. A field that is neither, such as one added to the type later, needs the whole row: a
 * projection may cost a column it did not need, never a field it did.
 */
function projectionOf<P extends string>(listed: Map<string, readonly P[]>, properties: object, fields: Iterable<string>): 'all' | P[] {
  const props = new Set<P>();
  for (const field of fields) {
    const needs = listed.get(field) ?? (Object.hasOwn(properties, field) ? [field as P] : undefined);
    if (!needs) return 'all';
    for (const p of needs) props.add(p);
  }
  return [...props];
}

export const userProjection = (fields: Iterable<string>): UserProjection =>
  projectionOf(USER_FIELD_PROPERTIES, UserSchema.meta.properties, fields);
export const teamProjection = (fields: Iterable<string>): TeamProjection =>
  projectionOf(TEAM_FIELD_PROPERTIES, TeamSchema.meta.properties, fields);
