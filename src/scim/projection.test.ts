import { compileProjection, parseProjection, projectResource, ScimProjectionError, type ProjectionRequest } from './projection.js';
import { customUserExtension, GROUP_SCHEMAS, USER_SCHEMAS, type ScimAttributeDef, type ScimSchemaDef } from './schemas/definitions.js';
import { CORE_GROUP, CORE_USER, ENTERPRISE_USER } from './schemas/urns.js';

type Json = Record<string, unknown>;
type Query = { attributes?: string | string[]; excludedAttributes?: string | string[] };

const ACME_SCHEMA = customUserExtension('acme', [
  { name: 'badgeNumber', type: 'string', multiValued: false },
  { name: 'skills', type: 'string', multiValued: true },
  { name: 'remote', type: 'boolean', multiValued: false },
]);
const ACME = ACME_SCHEMA.id;
const USER = [...USER_SCHEMAS, ACME_SCHEMA];
const GROUP = GROUP_SCHEMAS;
const BASE = 'https://roster.example/scim/v2';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

function omit(obj: Json, ...keys: string[]): Json {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => !keys.includes(k)));
}

const userMeta = {
  resourceType: 'User',
  created: '2024-01-02T03:04:05.000Z',
  lastModified: '2024-02-03T04:05:06.000Z',
  location: `${BASE}/Users/u-1`,
  version: 'W/"3"',
};
const enterprise = {
  employeeNumber: '701984',
  costCenter: '4130',
  department: 'Engineering',
  manager: { value: 'u-2', $ref: `${BASE}/Users/u-2`, displayName: 'Grace Hopper' },
};
const acme = { badgeNumber: 'B-7', skills: ['typescript', 'sql'], remote: false };
const emails = [
  { value: 'ada@example.com', type: 'work', primary: true },
  { value: 'ada@home.example', type: 'home' },
];

const user: Json = deepFreeze({
  schemas: [CORE_USER, ENTERPRISE_USER, ACME],
  id: 'u-1',
  externalId: 'entra-8f3a',
  userName: 'ada@example.com',
  name: { formatted: 'Ada Lovelace', familyName: 'Lovelace', givenName: 'Ada' },
  displayName: 'Ada Lovelace',
  title: 'Principal Engineer',
  active: true,
  password: 'never-returned',
  emails,
  phoneNumbers: [{ value: '+44 20 7946 0000', type: 'work' }],
  groups: [{ value: 'g-1', $ref: `${BASE}/Groups/g-1`, display: 'Admins', type: 'direct' }],
  roles: [{ value: 'admin', display: 'Administrator' }],
  meta: userMeta,
  [ENTERPRISE_USER]: enterprise,
  [ACME]: acme,
});
const userDefault = omit(user, 'password');
const members = [
  { value: 'u-1', $ref: `${BASE}/Users/u-1`, display: 'Ada Lovelace', type: 'User' },
  { value: 'u-2', $ref: `${BASE}/Users/u-2`, display: 'Grace Hopper', type: 'User' },
];
const group: Json = deepFreeze({
  schemas: [CORE_GROUP],
  id: 'g-1',
  externalId: 'entra-g-1',
  displayName: 'Admins',
  members,
  meta: { resourceType: 'Group', created: '2024-01-01T00:00:00.000Z', lastModified: '2024-01-05T00:00:00.000Z' },
});

/** Core-only representation: `id` and `schemas` without extension URNs. */
const core = (extra: Json): Json => ({ schemas: [CORE_USER], id: 'u-1', ...extra });

interface Case {
  name: string;
  query: Query;
  expected: Json;
  resource?: Json;
  schemas?: readonly ScimSchemaDef[];
}

const cases: Case[] = [
  // ------------------------------------------------------------------------------------------- default
  { name: 'no parameters: everything but returned "never" (password)', query: {}, expected: userDefault },
  {
    name: 'empty parameters are as if absent',
    query: { attributes: ' , ', excludedAttributes: '' },
    expected: userDefault,
  },
  { name: 'group, no parameters', query: {}, resource: group, schemas: GROUP, expected: group },

  // ------------------------------------------------------------------------------------------- attributes
  {
    name: 'attributes=userName: id and schemas too',
    query: { attributes: 'userName' },
    expected: core({ userName: 'ada@example.com' }),
  },
  {
    name: 'names are case-insensitive, keys keep the resource casing',
    query: { attributes: 'USERNAME,DisplayName' },
    expected: core({ userName: 'ada@example.com', displayName: 'Ada Lovelace' }),
  },
  {
    name: 'trims items and drops empty ones',
    query: { attributes: ' userName , ,displayName,' },
    expected: core({ userName: 'ada@example.com', displayName: 'Ada Lovelace' }),
  },
  {
    name: 'a repeated parameter (array) is one list',
    query: { attributes: ['userName', 'title,active'] },
    expected: core({ userName: 'ada@example.com', title: 'Principal Engineer', active: true }),
  },
  {
    name: 'core-URN-qualified name equals the unqualified one',
    query: { attributes: 'urn:ietf:params:scim:schemas:core:2.0:User:userName' },
    expected: core({ userName: 'ada@example.com' }),
  },
  {
    name: 'core URN qualification is case-insensitive',
    query: { attributes: 'URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:username' },
    expected: core({ userName: 'ada@example.com' }),
  },
  { name: 'attributes=id', query: { attributes: 'id' }, expected: core({}) },
  {
    name: 'attributes=schemas is valid (always returned anyway)',
    query: { attributes: 'schemas' },
    expected: core({}),
  },
  {
    name: 'password is never returned, even when asked',
    query: { attributes: 'password,userName' },
    expected: core({ userName: 'ada@example.com' }),
  },
  { name: 'meta only when asked', query: { attributes: 'meta' }, expected: core({ meta: userMeta }) },
  {
    name: 'meta.lastModified',
    query: { attributes: 'meta.lastModified' },
    expected: core({ meta: { lastModified: userMeta.lastModified } }),
  },
  {
    name: 'externalId (common attribute)',
    query: { attributes: 'externalId' },
    expected: core({ externalId: 'entra-8f3a' }),
  },
  {
    name: 'complex sub-attribute',
    query: { attributes: 'name.givenName' },
    expected: core({ name: { givenName: 'Ada' } }),
  },
  {
    name: 'multi-valued sub-attribute: every element keeps only it',
    query: { attributes: 'emails.value' },
    expected: core({ emails: [{ value: 'ada@example.com' }, { value: 'ada@home.example' }] }),
  },
  {
    name: 'multi-valued sub-attribute, any case',
    query: { attributes: 'Emails.Value' },
    expected: core({ emails: [{ value: 'ada@example.com' }, { value: 'ada@home.example' }] }),
  },
  {
    name: 'two sub-attributes of one attribute',
    query: { attributes: 'emails.value,emails.primary' },
    expected: core({ emails: [{ value: 'ada@example.com', primary: true }, { value: 'ada@home.example' }] }),
  },
  {
    name: 'whole attribute and one of its sub-attributes: the whole wins',
    query: { attributes: 'name.givenName,name' },
    expected: core({ name: user.name }),
  },
  {
    name: 'a sub-attribute no element has: the attribute is left out, not emptied',
    query: { attributes: 'emails.display,userName' },
    expected: core({ userName: 'ada@example.com' }),
  },
  { name: 'whole multi-valued attribute', query: { attributes: 'emails' }, expected: core({ emails }) },
  {
    name: 'URN-qualified extension attribute',
    query: { attributes: `${ENTERPRISE_USER}:department` },
    expected: { schemas: [CORE_USER, ENTERPRISE_USER], id: 'u-1', [ENTERPRISE_USER]: { department: 'Engineering' } },
  },
  {
    name: 'URN-qualified extension sub-attribute',
    query: { attributes: `${ENTERPRISE_USER}:manager.value` },
    expected: { schemas: [CORE_USER, ENTERPRISE_USER], id: 'u-1', [ENTERPRISE_USER]: { manager: { value: 'u-2' } } },
  },
  {
    name: 'URN-qualified extension names, any case',
    query: { attributes: `${ENTERPRISE_USER.toLowerCase()}:Manager.$REF,${ENTERPRISE_USER}:DEPARTMENT` },
    expected: {
      schemas: [CORE_USER, ENTERPRISE_USER],
      id: 'u-1',
      [ENTERPRISE_USER]: { department: 'Engineering', manager: { $ref: `${BASE}/Users/u-2` } },
    },
  },
  {
    name: 'bare extension URN: the whole extension',
    query: { attributes: ENTERPRISE_USER },
    expected: { schemas: [CORE_USER, ENTERPRISE_USER], id: 'u-1', [ENTERPRISE_USER]: enterprise },
  },
  {
    name: 'bare extension URN, any case',
    query: { attributes: ENTERPRISE_USER.toUpperCase() },
    expected: { schemas: [CORE_USER, ENTERPRISE_USER], id: 'u-1', [ENTERPRISE_USER]: enterprise },
  },
  {
    name: 'unqualified extension attribute resolves like PATCH does (Entra)',
    query: { attributes: 'department' },
    expected: { schemas: [CORE_USER, ENTERPRISE_USER], id: 'u-1', [ENTERPRISE_USER]: { department: 'Engineering' } },
  },
  {
    name: 'custom extension attribute',
    query: { attributes: `${ACME}:skills,userName` },
    expected: { schemas: [CORE_USER, ACME], id: 'u-1', userName: 'ada@example.com', [ACME]: { skills: acme.skills } },
  },
  {
    name: 'custom extension, bare URN',
    query: { attributes: ACME },
    expected: { schemas: [CORE_USER, ACME], id: 'u-1', [ACME]: acme },
  },
  {
    name: 'bare core URN: every top-level attribute, no extensions',
    query: { attributes: CORE_USER },
    expected: { ...omit(userDefault, ENTERPRISE_USER, ACME), schemas: [CORE_USER] },
  },
  {
    name: 'group: attributes=displayName',
    query: { attributes: 'displayName' },
    resource: group,
    schemas: GROUP,
    expected: { schemas: [CORE_GROUP], id: 'g-1', displayName: 'Admins' },
  },
  {
    name: 'group: members.value',
    query: { attributes: 'members.value' },
    resource: group,
    schemas: GROUP,
    expected: { schemas: [CORE_GROUP], id: 'g-1', members: [{ value: 'u-1' }, { value: 'u-2' }] },
  },

  // ------------------------------------------------------------------------------------------- excludedAttributes
  {
    name: 'group: excludedAttributes=members (Entra) drops members entirely',
    query: { excludedAttributes: 'members' },
    resource: group,
    schemas: GROUP,
    expected: omit(group, 'members'),
  },
  {
    name: 'group: excludedAttributes=MEMBERS, any case',
    query: { excludedAttributes: 'MEMBERS' },
    resource: group,
    schemas: GROUP,
    expected: omit(group, 'members'),
  },
  {
    name: 'returned "always" (id) and schemas are never excluded',
    query: { excludedAttributes: 'id,schemas,members' },
    resource: group,
    schemas: GROUP,
    expected: omit(group, 'members'),
  },
  { name: 'excluding meta', query: { excludedAttributes: 'meta' }, expected: omit(userDefault, 'meta') },
  { name: 'excluding password is a no-op', query: { excludedAttributes: 'password' }, expected: userDefault },
  {
    name: 'excluding a sub-attribute removes only it',
    query: { excludedAttributes: 'name.givenName' },
    expected: { ...userDefault, name: { formatted: 'Ada Lovelace', familyName: 'Lovelace' } },
  },
  {
    name: 'excluding a multi-valued sub-attribute removes it from every element',
    query: { excludedAttributes: 'emails.type' },
    expected: { ...userDefault, emails: [{ value: 'ada@example.com', primary: true }, { value: 'ada@home.example' }] },
  },
  {
    name: 'excluding a whole attribute and one of its sub-attributes: the attribute goes',
    query: { excludedAttributes: 'name.givenName,name' },
    expected: omit(userDefault, 'name'),
  },
  {
    name: 'excluding several, core-qualified and any case',
    query: { excludedAttributes: 'Emails, urn:ietf:params:scim:schemas:core:2.0:User:phoneNumbers ,GROUPS' },
    expected: omit(userDefault, 'emails', 'phoneNumbers', 'groups'),
  },
  {
    name: 'excluding an extension attribute',
    query: { excludedAttributes: `${ENTERPRISE_USER}:manager` },
    expected: { ...userDefault, [ENTERPRISE_USER]: omit(enterprise, 'manager') },
  },
  {
    name: 'excluding an extension sub-attribute',
    query: { excludedAttributes: `${ENTERPRISE_USER}:manager.displayName` },
    expected: {
      ...userDefault,
      [ENTERPRISE_USER]: { ...enterprise, manager: { value: 'u-2', $ref: `${BASE}/Users/u-2` } },
    },
  },
  {
    name: 'an extension emptied by exclusion is removed, and its URN from schemas',
    query: { excludedAttributes: `${ACME}:badgeNumber,${ACME}:skills,${ACME}:remote` },
    expected: { ...omit(userDefault, ACME), schemas: [CORE_USER, ENTERPRISE_USER] },
  },
  {
    name: 'excluding a bare extension URN removes the extension',
    query: { excludedAttributes: ENTERPRISE_USER },
    expected: { ...omit(userDefault, ENTERPRISE_USER), schemas: [CORE_USER, ACME] },
  },

  // ------------------------------------------------------------------------------------------- both
  {
    name: 'both given: attributes wins, excludedAttributes is ignored',
    query: { attributes: 'displayName', excludedAttributes: 'displayName' },
    expected: core({ displayName: 'Ada Lovelace' }),
  },
  {
    name: 'both given, group: attributes wins',
    query: { attributes: 'members', excludedAttributes: 'members' },
    resource: group,
    schemas: GROUP,
    expected: { schemas: [CORE_GROUP], id: 'g-1', members },
  },
];

describe('projectResource', () => {
  it.each(cases)('$name', ({ query, expected, resource = user, schemas = USER }) => {
    const req = parseProjection(query, schemas);
    expect(projectResource(resource, req, schemas)).toEqual(expected);
  });

  it('keeps the resource key order (schemas stays first)', () => {
    const out = projectResource(user, parseProjection({ attributes: 'displayName,userName' }, USER), USER);
    expect(Object.keys(out)).toEqual(['schemas', 'id', 'userName', 'displayName']);
  });

  it('removes an extension that is empty in the input, and its URN', () => {
    const resource = { ...user, [ACME]: {} };
    expect(projectResource(resource, {}, USER)).toEqual({
      ...omit(userDefault, ACME),
      schemas: [CORE_USER, ENTERPRISE_USER],
    });
  });

  it('keeps keys no schema describes by default, drops them under attributes', () => {
    const resource = { ...user, legacyFlag: 'x', 'urn:example:other:2.0:User': { a: 1 } };
    expect(projectResource(resource, {}, USER)).toMatchObject({
      legacyFlag: 'x',
      'urn:example:other:2.0:User': { a: 1 },
    });
    expect(projectResource(resource, { attributes: ['userName'] }, USER)).toEqual(core({ userName: 'ada@example.com' }));
  });

  it('leaves schema URNs it does not know in schemas', () => {
    const resource = { ...group, schemas: [CORE_GROUP, 'urn:example:other:2.0:Group'] };
    expect(projectResource(resource, { attributes: ['displayName'] }, GROUP).schemas).toEqual([CORE_GROUP, 'urn:example:other:2.0:Group']);
  });
});

describe('returned characteristics', () => {
  const withReturned = (def: ScimAttributeDef, returned: ScimAttributeDef['returned']): ScimAttributeDef => ({
    ...def,
    returned,
  });
  // A test-only extension: `badgeNumber` only on request, `remote` always, `manager`-like complex with a secret sub.
  const EXT: ScimSchemaDef = {
    ...ACME_SCHEMA,
    attributes: [
      withReturned(ACME_SCHEMA.attributes[0], 'request'), // badgeNumber
      ACME_SCHEMA.attributes[1], // skills
      withReturned(ACME_SCHEMA.attributes[2], 'always'), // remote
      {
        ...ACME_SCHEMA.attributes[0],
        name: 'sponsor',
        type: 'complex',
        subAttributes: [
          { ...ACME_SCHEMA.attributes[0], name: 'value' },
          { ...ACME_SCHEMA.attributes[0], name: 'token', returned: 'never' },
          { ...ACME_SCHEMA.attributes[0], name: 'note', returned: 'request' },
          { ...ACME_SCHEMA.attributes[0], name: 'kind', returned: 'always' },
        ],
      },
    ],
  };
  const SCHEMAS = [...USER_SCHEMAS, EXT];
  const sponsor = { value: 'u-9', token: 't0ps3cret', note: 'n', kind: 'internal' };
  const resource = deepFreeze({ ...user, [ACME]: { ...acme, sponsor } });
  const ext = (out: Json) => out[ACME];

  it.each<{ name: string; query: Query; expected: unknown }>([
    {
      name: 'default: no request attributes, no never sub-attributes',
      query: {},
      expected: { skills: acme.skills, remote: false, sponsor: { value: 'u-9', kind: 'internal' } },
    },
    {
      name: 'request attribute when named',
      query: { attributes: `${ACME}:badgeNumber` },
      expected: { badgeNumber: 'B-7', remote: false },
    },
    {
      name: 'request attribute, unqualified',
      query: { attributes: 'BADGENUMBER' },
      expected: { badgeNumber: 'B-7', remote: false },
    },
    {
      name: 'bare URN does not name request attributes',
      query: { attributes: ACME },
      expected: { skills: acme.skills, remote: false, sponsor: { value: 'u-9', kind: 'internal' } },
    },
    {
      name: 'always attribute comes with any selection',
      query: { attributes: 'userName' },
      expected: { remote: false },
    },
    {
      name: 'always attribute cannot be excluded',
      query: { excludedAttributes: `${ACME}:remote,${ACME}:skills,${ACME}:sponsor` },
      expected: { remote: false },
    },
    {
      name: 'excluding the bare URN leaves always attributes',
      query: { excludedAttributes: ACME },
      expected: { remote: false },
    },
    {
      name: 'request sub-attribute when named, always sub-attribute comes along, never never',
      query: { attributes: `${ACME}:sponsor.note,${ACME}:sponsor.token` },
      expected: { remote: false, sponsor: { note: 'n', kind: 'internal' } },
    },
    {
      name: 'always sub-attribute cannot be excluded',
      query: { excludedAttributes: `${ACME}:sponsor.kind,${ACME}:sponsor.value` },
      expected: { skills: acme.skills, remote: false, sponsor: { kind: 'internal' } },
    },
  ])('$name', ({ query, expected }) => {
    const out = projectResource(resource, parseProjection(query, SCHEMAS), SCHEMAS);
    expect(ext(out)).toEqual(expected);
    expect(out.schemas).toEqual([CORE_USER, ...[ENTERPRISE_USER, ACME].filter((u) => u in out)]);
  });
});

describe('parseProjection', () => {
  it('returns the trimmed, non-empty items of each parameter', () => {
    expect(parseProjection({ attributes: ' userName, ,emails.value ', excludedAttributes: ['groups', 'roles,'] }, USER)).toEqual({
      attributes: ['userName', 'emails.value'],
      excludedAttributes: ['groups', 'roles'],
    });
    expect(parseProjection({}, USER)).toEqual({});
    expect(parseProjection({ attributes: '', excludedAttributes: [' ', ','] }, USER)).toEqual({});
  });

  it.each<{ name: string; query: Query; schemas?: readonly ScimSchemaDef[]; mentions: string }>([
    { name: 'unknown attribute', query: { attributes: 'userName,nickname2' }, mentions: "'nickname2'" },
    {
      name: 'unknown attribute in excludedAttributes',
      query: { excludedAttributes: 'members' },
      mentions: "'members'",
    },
    { name: 'user attribute on a group', query: { attributes: 'userName' }, schemas: GROUP, mentions: "'userName'" },
    { name: 'unknown sub-attribute', query: { attributes: 'name.nickname' }, mentions: "'nickname'" },
    { name: 'sub-attribute of a simple attribute', query: { attributes: 'userName.value' }, mentions: "'value'" },
    { name: 'two levels of sub-attributes', query: { attributes: 'name.givenName.x' }, mentions: 'name.givenName.x' },
    { name: 'value filter', query: { attributes: 'emails[type eq "work"].value' }, mentions: 'emails[' },
    {
      name: 'unknown schema URN',
      query: { attributes: 'urn:example:unknown:2.0:User:department' },
      mentions: 'urn:example:unknown:2.0:User',
    },
    {
      name: 'extension not in the schema list',
      query: { attributes: `${ACME}:skills` },
      schemas: USER_SCHEMAS,
      mentions: ACME,
    },
    {
      name: 'common attribute under an extension URN',
      query: { attributes: `${ENTERPRISE_USER}:id` },
      mentions: "'id'",
    },
    {
      name: 'core attribute under an extension URN',
      query: { attributes: `${ENTERPRISE_USER}:userName` },
      mentions: "'userName'",
    },
    { name: 'bare core URN in excludedAttributes', query: { excludedAttributes: CORE_USER }, mentions: 'core schema' },
    { name: 'sub-attribute of schemas', query: { attributes: 'schemas.value' }, mentions: "'schemas'" },
    {
      name: 'invalid even when attributes wins',
      query: { attributes: 'userName', excludedAttributes: 'bogus' },
      mentions: "'bogus'",
    },
    { name: 'non-string item', query: { attributes: [42 as unknown as string] }, mentions: 'attributes' },
  ])('400 invalidValue: $name', ({ query, schemas = USER, mentions }) => {
    let error: unknown;
    try {
      parseProjection(query, schemas);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ScimProjectionError);
    const e = error as ScimProjectionError;
    expect(e.status).toBe(400);
    expect(e.scimType).toBe('invalidValue');
    expect(e.name).toBe('ScimProjectionError');
    expect(e.message).toContain(mentions);
  });

  it('names the parameter in the message', () => {
    expect(() => parseProjection({ excludedAttributes: 'bogus' }, USER)).toThrow(/excludedAttributes/);
  });
});

describe('compileProjection', () => {
  it('compiles once and projects many resources the same as projectResource', () => {
    const req: ProjectionRequest = { attributes: ['userName', 'emails.value', `${ENTERPRISE_USER}:manager.value`] };
    const project = compileProjection(req, USER);
    const resources = Array.from({ length: 1000 }, (_, i) => ({
      ...user,
      id: `u-${i}`,
      userName: `user${i}@example.com`,
    }));
    const out = resources.map(project);
    expect(out[999]).toEqual({
      schemas: [CORE_USER, ENTERPRISE_USER],
      id: 'u-999',
      userName: 'user999@example.com',
      emails: [{ value: 'ada@example.com' }, { value: 'ada@home.example' }],
      [ENTERPRISE_USER]: { manager: { value: 'u-2' } },
    });
    out.forEach((o, i) => expect(o).toEqual(projectResource(resources[i], req, USER)));
  });

  it('validates hand-built requests too', () => {
    expect(() => compileProjection({ attributes: ['nope'] }, USER)).toThrow(ScimProjectionError);
    expect(() => projectResource(user, { excludedAttributes: ['name.nope'] }, USER)).toThrow(ScimProjectionError);
  });

  it('reuses the default projector for the empty request', () => {
    expect(compileProjection({}, USER)).toBe(compileProjection({ attributes: [], excludedAttributes: [] }, USER));
  });

  it('refuses an empty schema list', () => {
    expect(() => compileProjection({}, [])).toThrow(TypeError);
  });
});

describe('immutability', () => {
  const requests: ProjectionRequest[] = [
    {},
    { attributes: ['name.givenName', 'emails', `${ENTERPRISE_USER}:manager`, ACME, 'meta'] },
    { excludedAttributes: ['emails.type', `${ENTERPRISE_USER}:department`] },
  ];

  it.each(requests)('does not mutate the (frozen) input and shares no objects with it: %j', (req) => {
    const snapshot = structuredClone(user);
    const out = projectResource(user, req, USER); // `user` is deep-frozen: a write would throw
    expect(user).toEqual(snapshot);

    const inputObjects = new Set<unknown>();
    const walk = (v: unknown, into: Set<unknown>) => {
      if (typeof v === 'object' && v !== null) {
        into.add(v);
        Object.values(v).forEach((c) => walk(c, into));
      }
    };
    walk(user, inputObjects);
    const outputObjects = new Set<unknown>();
    walk(out, outputObjects);
    for (const o of outputObjects) expect(inputObjects.has(o)).toBe(false);
  });
});
