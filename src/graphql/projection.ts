import type { TeamProjection, TeamProperty, UserProjection, UserProperty } from '../modules/users/user.queries.js';

const same = <const P extends string>(...props: P[]) => props.map((p) => [p, [p]] as const);

/**
 * The user properties each field of the GraphQL `User` type reads from the object it resolves on (a view
 * or an entity; see user.resolver.ts). The fields that read only the id (relations loaded by id, the
 * global id) read nothing more. The test in test/integration/graphql/projection.int.test.ts selects every
 * field of the type through a projected page and compares it with the whole row's answer, and so for `Team`.
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
  ...same(
    'userName',
    'externalId',
    'displayName',
    'nickName',
    'profileUrl',
    'title',
    'userType',
    'preferredLanguage',
    'locale',
    'timezone',
    'active',
    'emails',
    'phoneNumbers',
    'addresses',
    'employeeNumber',
    'costCenter',
    'organization',
    'division',
    'version',
    'createdAt',
    'updatedAt',
    'deactivatedAt',
  ),
]);

const TEAM_FIELD_PROPERTIES = new Map<string, readonly TeamProperty[]>([
  ['__typename', []],
  ['id', []],
  ['children', []],
  ['members', []],
  ['memberCount', []],
  ['parent', ['parentId']],
  ...same('name', 'description', 'createdAt', 'updatedAt'),
]);

function projectionOf<P extends string>(known: Map<string, readonly P[]>, fields: Iterable<string>): 'all' | P[] {
  const props = new Set<P>();
  for (const field of fields) {
    const needs = known.get(field);
    if (!needs) return 'all';
    for (const p of needs) props.add(p);
  }
  return [...props];
}

/**
 * The properties a selection of `User` (`Team`) fields needs (graphql/lookahead.ts). A field this module
 * does not know, such as one added to the type later, needs the whole row: a projection may cost a column
 * it did not need, never a field it did.
 */
export const userProjection = (fields: Iterable<string>): UserProjection => projectionOf(USER_FIELD_PROPERTIES, fields);
export const teamProjection = (fields: Iterable<string>): TeamProjection => projectionOf(TEAM_FIELD_PROPERTIES, fields);
