import type { CustomAttribute } from '../modules/custom-attributes/custom-attribute.entity.js';
import type { AttrMapping, FilterSchema, ScalarColumn } from './filter/to-sql.js';
import { CORE_GROUP, CORE_USER, ENTERPRISE_USER } from './schemas/urns.js';

/**
 * Where each filterable SCIM attribute lives in SQL (alias `u` for users, `r` for roles/groups). Only
 * these expressions ever reach SQL: attribute names from a request are looked up here, never interpolated.
 * Index-backed lookups: userName (user_name_lower), externalId, id, emails.value (GIN), displayName of
 * groups (lower(display_name)), meta.lastModified / meta.created ((tenant_id, updated_at|created_at)).
 */
const col = (sql: string, type: ScalarColumn['type'] = 'string', caseExact = false, notNull = false): ScalarColumn => ({
  kind: 'column',
  sql,
  type,
  caseExact,
  notNull,
});

const ENT = ENTERPRISE_USER.toLowerCase();

export function userFilterSchema(customUrn: string, customDecls: CustomAttribute[]): FilterSchema {
  const roleRelation = (sub: Record<string, ScalarColumn>): AttrMapping => ({
    kind: 'relation',
    exists: (c) =>
      `exists (select 1 from role_members gm join roles gr on gr.id = gm.role_id and gr.tenant_id = gm.tenant_id where gm.tenant_id = u.tenant_id and gm.user_id = u.id and ${c})`,
    subAttributes: sub,
  });
  const attributes: Record<string, AttrMapping> = {
    id: col('u.id', 'uuid', true, true),
    externalid: col('u.external_id', 'string', true),
    // The stored lower(user_name): comparisons lower only the parameter, so the index serves them under
    // row-level security too (lower() on a column is not leakproof; see Migration20261122020000_perf).
    username: { ...col('u.user_name_lower', 'string', false, true), storedLower: true },
    'name.formatted': col('u.formatted_name'),
    'name.familyname': col('u.family_name'),
    'name.givenname': col('u.given_name'),
    'name.middlename': col('u.middle_name'),
    'name.honorificprefix': col('u.honorific_prefix'),
    'name.honorificsuffix': col('u.honorific_suffix'),
    displayname: col('u.display_name'),
    nickname: col('u.nick_name'),
    profileurl: col('u.profile_url', 'reference', true),
    title: col('u.title'),
    usertype: col('u.user_type'),
    preferredlanguage: col('u.preferred_language'),
    locale: col('u.locale'),
    timezone: col('u.timezone'),
    active: col('u.active', 'boolean', false, true),
    emails: {
      kind: 'jsonArray',
      column: 'u.emails',
      subAttributes: {
        value: { type: 'string', caseExact: false, storedLower: true },
        type: { type: 'string', caseExact: false },
        primary: { type: 'boolean', caseExact: false },
        display: { type: 'string', caseExact: false },
      },
    },
    phonenumbers: {
      kind: 'jsonArray',
      column: 'u.phone_numbers',
      subAttributes: {
        value: { type: 'string', caseExact: false },
        type: { type: 'string', caseExact: false },
        primary: { type: 'boolean', caseExact: false },
        display: { type: 'string', caseExact: false },
      },
    },
    addresses: {
      kind: 'jsonArray',
      column: 'u.addresses',
      subAttributes: {
        formatted: { type: 'string', caseExact: false },
        streetaddress: { type: 'string', caseExact: false, key: 'streetAddress' },
        locality: { type: 'string', caseExact: false },
        region: { type: 'string', caseExact: false },
        postalcode: { type: 'string', caseExact: false, key: 'postalCode' },
        country: { type: 'string', caseExact: false },
        type: { type: 'string', caseExact: false },
        primary: { type: 'boolean', caseExact: false },
      },
    },
    groups: roleRelation({
      value: col('gm.role_id', 'uuid', true, true),
      display: col('gr.display_name', 'string', false, true),
      type: col(`'direct'`, 'string', false, true),
    }),
    roles: roleRelation({ value: col('gr.display_name', 'string', false, true), display: col('gr.display_name', 'string', false, true) }),
    'meta.created': col('u.created_at', 'dateTime', false, true),
    'meta.lastmodified': col('u.updated_at', 'dateTime', false, true),
    'meta.resourcetype': col(`'User'`, 'string', true, true),
    [`${ENT}:employeenumber`]: col('u.employee_number', 'string', true),
    [`${ENT}:costcenter`]: col('u.cost_center'),
    [`${ENT}:organization`]: col('u.organization'),
    [`${ENT}:division`]: col('u.division'),
    [`${ENT}:department`]: col('(select t.name from teams t where t.id = u.team_id and t.tenant_id = u.tenant_id)'),
    [`${ENT}:manager.value`]: col('coalesce(u.manager_id::text, u.manager_ref)', 'string', true),
    [`${ENT}:manager.displayname`]: col(
      `(select coalesce(m.display_name, m.user_name) from users m where m.id = u.manager_id and m.tenant_id = u.tenant_id)`,
    ),
  };
  for (const d of customDecls) {
    attributes[`${customUrn.toLowerCase()}:${d.name.toLowerCase()}`] = {
      kind: 'json',
      column: 'u.custom',
      key: d.name,
      type: d.type,
      caseExact: false,
      multiValued: d.multiValued,
    };
  }
  return { coreUrn: CORE_USER, attributes, extensionUrns: [ENTERPRISE_USER, customUrn] };
}

export const groupFilterSchema: FilterSchema = {
  coreUrn: CORE_GROUP,
  attributes: {
    id: col('r.id', 'uuid', true, true),
    externalid: col('r.external_id', 'string', true),
    displayname: col('r.display_name', 'string', false, true),
    members: {
      kind: 'relation',
      exists: (c) => `exists (select 1 from role_members m where m.tenant_id = r.tenant_id and m.role_id = r.id and ${c})`,
      subAttributes: { value: col('m.user_id', 'uuid', true, true), type: col(`'User'`, 'string', false, true) },
    },
    'meta.created': col('r.created_at', 'dateTime', false, true),
    'meta.lastmodified': col('r.updated_at', 'dateTime', false, true),
    'meta.resourcetype': col(`'Group'`, 'string', true, true),
  },
  extensionUrns: [],
};
