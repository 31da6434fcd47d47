import { parseFilter, ScimFilterError } from './parse-filter.js';
import { compileFilter, compileSortBy, type FilterSchema, type Relation } from './to-sql.js';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const ACME = 'urn:roster:params:scim:schemas:extension:acme:2.0:User';
const OTHER = 'urn:roster:params:scim:schemas:extension:other:2.0:User';
const ent = (name: string) => `${ENTERPRISE}:${name}`.toLowerCase();
const acme = (name: string) => `${ACME}:${name}`.toLowerCase();

const users: FilterSchema = {
  coreUrn: CORE,
  extensionUrns: [ENTERPRISE, ACME, OTHER],
  attributes: {
    id: { kind: 'column', sql: 'u.id', type: 'uuid', caseExact: true, notNull: true },
    username: { kind: 'column', sql: 'u.user_name', type: 'string', caseExact: false, notNull: true },
    externalid: { kind: 'column', sql: 'u.external_id', type: 'string', caseExact: true },
    displayname: { kind: 'column', sql: 'u.display_name', type: 'string', caseExact: false },
    'name.givenname': { kind: 'column', sql: 'u.given_name', type: 'string', caseExact: false },
    'name.familyname': { kind: 'column', sql: 'u.family_name', type: 'string', caseExact: false },
    title: { kind: 'column', sql: 'u.title', type: 'string', caseExact: false },
    usertype: { kind: 'column', sql: 'u.user_type', type: 'string', caseExact: false },
    locale: { kind: 'column', sql: 'u.locale', type: 'string', caseExact: false, storedLower: true },
    active: { kind: 'column', sql: 'u.active', type: 'boolean', caseExact: false, notNull: true },
    logincount: { kind: 'column', sql: 'u.login_count', type: 'integer', caseExact: false },
    score: { kind: 'column', sql: 'u.score', type: 'decimal', caseExact: false },
    profileurl: { kind: 'column', sql: 'u.profile_url', type: 'reference', caseExact: true },
    emails: {
      kind: 'jsonArray',
      column: 'u.emails',
      subAttributes: {
        value: { type: 'string', caseExact: false, storedLower: true },
        type: { type: 'string', caseExact: false, storedLower: true },
        primary: { type: 'boolean', caseExact: false },
        display: { type: 'string', caseExact: false },
      },
    },
    ims: {
      kind: 'jsonArray',
      column: 'u.ims',
      subAttributes: { value: { type: 'string', caseExact: false }, type: { type: 'string', caseExact: false } },
    },
    addresses: {
      kind: 'jsonArray',
      column: 'u.addresses',
      subAttributes: { streetaddress: { type: 'string', caseExact: false, key: 'streetAddress' } },
    },
    'meta.created': { kind: 'column', sql: 'u.created_at', type: 'dateTime', caseExact: false, notNull: true },
    'meta.lastmodified': { kind: 'column', sql: 'u.updated_at', type: 'dateTime', caseExact: false, notNull: true },
    [ent('department')]: { kind: 'column', sql: 'u.department', type: 'string', caseExact: false },
    [ent('employeeNumber')]: { kind: 'column', sql: 'u.employee_number', type: 'string', caseExact: true },
    [ent('manager.value')]: { kind: 'column', sql: 'u.manager_id', type: 'uuid', caseExact: true },
    [acme('jobRole')]: { kind: 'json', column: 'u.custom', key: 'jobRole', type: 'string', caseExact: false },
    [acme('securityChampion')]: {
      kind: 'json',
      column: 'u.custom',
      key: 'securityChampion',
      type: 'boolean',
      caseExact: false,
    },
    [acme('level')]: { kind: 'json', column: 'u.custom', key: 'level', type: 'integer', caseExact: false },
    [acme('hireDate')]: { kind: 'json', column: 'u.custom', key: 'hireDate', type: 'dateTime', caseExact: false },
    [acme('badgeId')]: { kind: 'json', column: 'u.custom', key: 'badgeId', type: 'uuid', caseExact: false },
    [acme('skills')]: {
      kind: 'json',
      column: 'u.custom',
      key: 'skills',
      type: 'string',
      caseExact: false,
      multiValued: true,
    },
    // Present in two extensions: only a qualified name can reach it.
    [acme('costCenter')]: { kind: 'json', column: 'u.custom', key: 'costCenter', type: 'string', caseExact: false },
    [`${OTHER}:costcenter`.toLowerCase()]: {
      kind: 'json',
      column: 'u.other',
      key: 'costCenter',
      type: 'string',
      caseExact: false,
    },
  },
};

const MEMBERS_EXISTS = 'EXISTS (SELECT 1 FROM role_members m WHERE m.role_id = r.id AND m.tenant_id = r.tenant_id AND ';
const groups: FilterSchema = {
  coreUrn: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  extensionUrns: [],
  attributes: {
    id: { kind: 'column', sql: 'r.id', type: 'uuid', caseExact: true, notNull: true },
    displayname: { kind: 'column', sql: 'r.name', type: 'string', caseExact: false, notNull: true },
    members: {
      kind: 'relation',
      exists: (c) => `${MEMBERS_EXISTS}${c})`,
      subAttributes: {
        value: { kind: 'column', sql: 'm.user_id', type: 'uuid', caseExact: true, notNull: true },
        display: { kind: 'column', sql: 'm.display', type: 'string', caseExact: false },
      },
    },
  },
};

const compile = (filter: string, schema: FilterSchema = users) => compileFilter(parseFilter(filter), schema);
const UUID = '2819c223-7f76-453a-919d-413861904646';
const ELEMENTS = (col: string) => `jsonb_array_elements(CASE WHEN jsonb_typeof(${col}) = 'array' THEN ${col} ELSE '[]'::jsonb END)`;

describe('compileFilter: scalar columns', () => {
  it.each<[string, string, unknown[]]>([
    // userName: case-insensitive, matches the functional index lower(user_name); NOT NULL, so no guard.
    ['userName eq "BJensen"', '(lower(u.user_name) = lower(?))', ['BJensen']],
    ['urn:ietf:params:scim:schemas:core:2.0:User:UserName EQ "x"', '(lower(u.user_name) = lower(?))', ['x']],
    ['displayName eq "Test SCIMv2"', '(u.display_name IS NOT NULL AND lower(u.display_name) = lower(?))', ['Test SCIMv2']],
    ['displayName ne "x"', 'NOT (u.display_name IS NOT NULL AND lower(u.display_name) = lower(?))', ['x']],
    // caseExact
    ['externalId eq jyoung', '(u.external_id IS NOT NULL AND u.external_id = ?)', ['jyoung']],
    ['profileUrl sw "https://"', '(u.profile_url IS NOT NULL AND u.profile_url LIKE ?)', ['https://%']],
    // stored lower case: only the parameter is lowered
    ['locale eq "en-US"', '(u.locale IS NOT NULL AND u.locale = lower(?))', ['en-US']],
    ['locale sw "EN"', '(u.locale IS NOT NULL AND u.locale LIKE lower(?))', ['EN%']],
    // substring operators escape LIKE metacharacters
    ['title co "50%_\\\\"', '(u.title IS NOT NULL AND lower(u.title) LIKE lower(?))', ['%50\\%\\_\\\\%']],
    ['title sw "a"', '(u.title IS NOT NULL AND lower(u.title) LIKE lower(?))', ['a%']],
    ['title ew "a"', '(u.title IS NOT NULL AND lower(u.title) LIKE lower(?))', ['%a']],
    ['title gt "m"', '(u.title IS NOT NULL AND lower(u.title) > lower(?))', ['m']],
    ['title le "m"', '(u.title IS NOT NULL AND lower(u.title) <= lower(?))', ['m']],
    // pr: strings must be non-empty
    ['title pr', "(u.title IS NOT NULL AND u.title <> '')", []],
    ['userName pr', "(u.user_name <> '')", []],
    ['loginCount pr', '(u.login_count IS NOT NULL)', []],
    ['active pr', 'TRUE', []],
    // null
    ['title eq null', "NOT (u.title IS NOT NULL AND u.title <> '')", []],
    ['title ne null', "(u.title IS NOT NULL AND u.title <> '')", []],
    // dateTime
    ['meta.lastModified gt "2011-05-13T04:42:34Z"', '(u.updated_at > ?::timestamptz)', ['2011-05-13T04:42:34Z']],
    ['meta.lastModified ge "2011-05-13T04:42:34.5+0200"', '(u.updated_at >= ?::timestamptz)', ['2011-05-13T04:42:34.5+02:00']],
    ['meta.created lt "2011-05-13"', '(u.created_at < ?::timestamptz)', ['2011-05-13T00:00:00Z']],
    ['meta.created eq "2011-05-13T04:42"', '(u.created_at = ?::timestamptz)', ['2011-05-13T04:42:00Z']],
    // booleans, with Entra's strings
    ['active eq true', '(u.active = ?)', [true]],
    ['active eq "False"', '(u.active = ?)', [false]],
    ['active ne true', 'NOT (u.active = ?)', [true]],
    // numbers: bigint keeps an integer index usable, numeric for the rest
    ['loginCount gt 5', '(u.login_count IS NOT NULL AND u.login_count > ?::bigint)', [5]],
    ['loginCount gt 5.5', '(u.login_count IS NOT NULL AND u.login_count > ?::numeric)', [5.5]],
    ['score le 1e3', '(u.score IS NOT NULL AND u.score <= ?::numeric)', [1000]],
    // uuid: a non-uuid can never be equal, and never reaches ::uuid
    [`id eq "${UUID.toUpperCase()}"`, '(u.id = ?::uuid)', [UUID]],
    ['id eq "not-a-uuid"', 'FALSE', []],
    ['id ne "not-a-uuid"', 'TRUE', []],
    ['id eq "12345678-1234-1234-1234-1234567890123"', 'FALSE', []],
    ['id sw "2819C223"', '(u.id::text LIKE ?)', ['2819c223%']],
    ['id gt "2"', '(u.id::text COLLATE "C" > ?)', ['2']],
    [`manager.value eq "${UUID}"`, '(u.manager_id IS NOT NULL AND u.manager_id = ?::uuid)', [UUID]],
  ])('%s', (filter, sql, params) => {
    expect(compile(filter)).toEqual({ sql, params });
  });
});

describe('compileFilter: logic keeps every leaf two-valued', () => {
  it.each<[string, string, unknown[]]>([
    [
      'title pr and userType eq "Employee"',
      "((u.title IS NOT NULL AND u.title <> '') AND (u.user_type IS NOT NULL AND lower(u.user_type) = lower(?)))",
      ['Employee'],
    ],
    [
      'title pr or userType eq "Intern"',
      "((u.title IS NOT NULL AND u.title <> '') OR (u.user_type IS NOT NULL AND lower(u.user_type) = lower(?)))",
      ['Intern'],
    ],
    [
      'not (title eq "a" or title eq "b") and displayName eq "c"',
      '(NOT ((u.title IS NOT NULL AND lower(u.title) = lower(?)) OR (u.title IS NOT NULL AND lower(u.title) = lower(?))) AND (u.display_name IS NOT NULL AND lower(u.display_name) = lower(?)))',
      ['a', 'b', 'c'],
    ],
    // chains are flattened; parameters stay in textual order
    [
      'title eq "1" and (title eq "2" and title eq "3")',
      '((u.title IS NOT NULL AND lower(u.title) = lower(?)) AND (u.title IS NOT NULL AND lower(u.title) = lower(?)) AND (u.title IS NOT NULL AND lower(u.title) = lower(?)))',
      ['1', '2', '3'],
    ],
    // constant folding drops a branch together with its parameters
    ['id eq "nope" or userName eq "x"', '(lower(u.user_name) = lower(?))', ['x']],
    ['id eq "nope" and userName eq "x"', 'FALSE', []],
    ['not (id eq "nope")', 'TRUE', []],
    ['active pr and userName eq "x"', '(lower(u.user_name) = lower(?))', ['x']],
  ])('%s', (filter, sql, params) => {
    expect(compile(filter)).toEqual({ sql, params });
  });
});

describe('compileFilter: multi-valued JSONB arrays of objects', () => {
  const emailsExists = (cond: string, alias = 'scim_e1') => `EXISTS (SELECT 1 FROM ${ELEMENTS('u.emails')} AS ${alias}(v) WHERE ${cond})`;

  it.each<[string, string, unknown[]]>([
    // equality on stored-lower strings uses containment, which a GIN index answers
    ['emails eq "BJensen@Example.com"', '(u.emails IS NOT NULL AND u.emails @> ?::jsonb)', ['[{"value":"bjensen@example.com"}]']],
    ['emails.value eq "a@b.c"', '(u.emails IS NOT NULL AND u.emails @> ?::jsonb)', ['[{"value":"a@b.c"}]']],
    [
      'emails[type eq "work" and value eq "A@b.c"]',
      '(u.emails IS NOT NULL AND u.emails @> ?::jsonb)',
      ['[{"type":"work","value":"a@b.c"}]'],
    ],
    // Entra's matching filter
    [
      'emails[type eq "work"].value eq "x@y.com"',
      '(u.emails IS NOT NULL AND u.emails @> ?::jsonb)',
      ['[{"type":"work","value":"x@y.com"}]'],
    ],
    ['emails ne "a@b.c"', 'NOT (u.emails IS NOT NULL AND u.emails @> ?::jsonb)', ['[{"value":"a@b.c"}]']],
    // everything else: EXISTS over the elements, all conditions on the same element
    [
      'emails co "example.com"',
      emailsExists("((scim_e1.v->>'value') IS NOT NULL AND (scim_e1.v->>'value') LIKE lower(?))"),
      ['%example.com%'],
    ],
    [
      'emails[type eq "work" and value co "@example.com"]',
      emailsExists(
        "(((scim_e1.v->>'type') IS NOT NULL AND (scim_e1.v->>'type') = lower(?)) AND ((scim_e1.v->>'value') IS NOT NULL AND (scim_e1.v->>'value') LIKE lower(?)))",
      ),
      ['work', '%@example.com%'],
    ],
    [
      'emails[type eq "work" or type eq "home"]',
      emailsExists(
        "(((scim_e1.v->>'type') IS NOT NULL AND (scim_e1.v->>'type') = lower(?)) OR ((scim_e1.v->>'type') IS NOT NULL AND (scim_e1.v->>'type') = lower(?)))",
      ),
      ['work', 'home'],
    ],
    ['emails[not (type eq "work")]', emailsExists("NOT ((scim_e1.v->>'type') IS NOT NULL AND (scim_e1.v->>'type') = lower(?))"), ['work']],
    [
      'emails[type eq "a" and type eq "b"]',
      emailsExists(
        "(((scim_e1.v->>'type') IS NOT NULL AND (scim_e1.v->>'type') = lower(?)) AND ((scim_e1.v->>'type') IS NOT NULL AND (scim_e1.v->>'type') = lower(?)))",
      ),
      ['a', 'b'],
    ],
    ['emails[primary eq true]', emailsExists("((scim_e1.v->>'primary') IS NOT NULL AND lower((scim_e1.v->>'primary')) = ?)"), ['true']],
    ['emails.value gt "m"', emailsExists("((scim_e1.v->>'value') IS NOT NULL AND (scim_e1.v->>'value') > lower(?))"), ['m']],
    // case-insensitive, not stored lower: lower() on both sides, no containment
    [
      'ims eq "A@b.c"',
      `EXISTS (SELECT 1 FROM ${ELEMENTS('u.ims')} AS scim_e1(v) WHERE ((scim_e1.v->>'value') IS NOT NULL AND lower((scim_e1.v->>'value')) = lower(?)))`,
      ['A@b.c'],
    ],
    // the JSON key may differ from the canonical name
    [
      'addresses.streetAddress co "Main"',
      `EXISTS (SELECT 1 FROM ${ELEMENTS('u.addresses')} AS scim_e1(v) WHERE ((scim_e1.v->>'streetAddress') IS NOT NULL AND lower((scim_e1.v->>'streetAddress')) LIKE lower(?)))`,
      ['%Main%'],
    ],
    // pr: a non-empty array; with a sub-attribute, some element has it
    ['emails pr', "(CASE WHEN jsonb_typeof(u.emails) = 'array' THEN jsonb_array_length(u.emails) > 0 ELSE FALSE END)", []],
    ['emails.type pr', emailsExists("((scim_e1.v->>'type') IS NOT NULL AND (scim_e1.v->>'type') <> '')"), []],
    ['emails eq null', "NOT (CASE WHEN jsonb_typeof(u.emails) = 'array' THEN jsonb_array_length(u.emails) > 0 ELSE FALSE END)", []],
  ])('%s', (filter, sql, params) => {
    expect(compile(filter)).toEqual({ sql, params });
  });

  it('gives every EXISTS its own alias', () => {
    const { sql } = compile('emails co "a" or emails.display pr or ims co "b"');
    expect(sql).toContain('AS scim_e1(v)');
    expect(sql).toContain('AS scim_e2(v)');
    expect(sql).toContain('AS scim_e3(v)');
  });

  it('compiles the RFC examples that mix the forms', () => {
    expect(compile('userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")')).toEqual({
      sql:
        '(NOT (u.user_type IS NOT NULL AND lower(u.user_type) = lower(?)) AND NOT (' +
        emailsExists("((scim_e1.v->>'value') IS NOT NULL AND (scim_e1.v->>'value') LIKE lower(?))") +
        ' OR ' +
        emailsExists("((scim_e2.v->>'value') IS NOT NULL AND (scim_e2.v->>'value') LIKE lower(?))", 'scim_e2') +
        '))',
      params: ['Employee', '%example.com%', '%example.org%'],
    });
    const mixed = compile('emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]');
    expect(mixed.params).toEqual(['work', '%@example.com%', 'xmpp', '%@foo.com%']);
    expect(mixed.sql).toMatch(/^\(EXISTS \(.*u\.emails.*\) OR EXISTS \(.*u\.ims.*\)\)$/);
  });
});

describe('compileFilter: JSONB scalars (tenant custom attributes)', () => {
  it.each<[string, string, unknown[]]>([
    [`${ACME}:jobRole eq "Dev"`, "((u.custom->>'jobRole') IS NOT NULL AND lower((u.custom->>'jobRole')) = lower(?))", ['Dev']],
    ['jobRole pr', "((u.custom->>'jobRole') IS NOT NULL AND (u.custom->>'jobRole') <> '')", []],
    [
      'securityChampion eq "True"',
      "((u.custom->>'securityChampion') IS NOT NULL AND lower((u.custom->>'securityChampion')) = ?)",
      ['true'],
    ],
    [
      'level ge 3',
      "(CASE WHEN jsonb_typeof(u.custom->'level') = 'number' THEN (u.custom->'level')::numeric >= ?::numeric ELSE FALSE END)",
      [3],
    ],
    [
      'hireDate lt "2024-01-01T00:00:00Z"',
      "(CASE WHEN jsonb_typeof(u.custom->'hireDate') = 'string' AND pg_input_is_valid((u.custom->>'hireDate'), 'timestamptz') THEN (u.custom->>'hireDate')::timestamptz < ?::timestamptz ELSE FALSE END)",
      ['2024-01-01T00:00:00Z'],
    ],
    [`badgeId eq "${UUID.toUpperCase()}"`, "((u.custom->>'badgeId') IS NOT NULL AND lower((u.custom->>'badgeId')) = ?)", [UUID]],
    // multi-valued: a JSON array of scalars
    [
      'skills eq "SQL"',
      `EXISTS (SELECT 1 FROM ${ELEMENTS("u.custom->'skills'")} AS scim_e1(v) WHERE ((scim_e1.v #>> '{}') IS NOT NULL AND lower((scim_e1.v #>> '{}')) = lower(?)))`,
      ['SQL'],
    ],
    [
      'skills pr',
      "(CASE WHEN jsonb_typeof(u.custom->'skills') = 'array' THEN jsonb_array_length(u.custom->'skills') > 0 ELSE FALSE END)",
      [],
    ],
  ])('%s', (filter, sql, params) => {
    expect(compile(filter)).toEqual({ sql, params });
  });
});

describe('compileFilter: relations (group members)', () => {
  it.each<[string, string, unknown[]]>([
    [`members[value eq "${UUID}"]`, `(${MEMBERS_EXISTS}(m.user_id = ?::uuid)))`, [UUID]],
    [`members eq "${UUID}"`, `(${MEMBERS_EXISTS}(m.user_id = ?::uuid)))`, [UUID]],
    [`members.value eq "${UUID}"`, `(${MEMBERS_EXISTS}(m.user_id = ?::uuid)))`, [UUID]],
    [`members ne "${UUID}"`, `NOT (${MEMBERS_EXISTS}(m.user_id = ?::uuid)))`, [UUID]],
    ['members pr', `(${MEMBERS_EXISTS}TRUE))`, []],
    ['not (members pr)', `NOT (${MEMBERS_EXISTS}TRUE))`, []],
    ['members[value eq "junk"]', 'FALSE', []],
    [
      `members[value eq "${UUID}" or display co "bab"]`,
      `(${MEMBERS_EXISTS}((m.user_id = ?::uuid) OR (m.display IS NOT NULL AND lower(m.display) LIKE lower(?)))))`,
      [UUID, '%bab%'],
    ],
    ['displayName eq "Test SCIMv2" and members pr', `((lower(r.name) = lower(?)) AND (${MEMBERS_EXISTS}TRUE)))`, ['Test SCIMv2']],
  ])('%s', (filter, sql, params) => {
    expect(compile(filter, groups)).toEqual({ sql, params });
  });
});

describe('compileFilter: attribute resolution', () => {
  it('treats core-qualified names as unqualified, case-insensitively', () => {
    expect(compile(`${CORE.toUpperCase()}:USERNAME eq "x"`)).toEqual(compile('userName eq "x"'));
  });

  it('resolves extension attributes qualified, or unqualified when only one extension has them', () => {
    const qualified = compile(`${ENTERPRISE}:department eq "Sales"`);
    expect(qualified).toEqual({
      sql: '(u.department IS NOT NULL AND lower(u.department) = lower(?))',
      params: ['Sales'],
    });
    expect(compile('Department eq "Sales"')).toEqual(qualified);
    expect(compile(`${ENTERPRISE.toLowerCase()}:DEPARTMENT eq "Sales"`)).toEqual(qualified);
    expect(compile(`${ENTERPRISE}:manager.value pr`)).toEqual({ sql: '(u.manager_id IS NOT NULL)', params: [] });
    expect(compile(`${ACME}:costCenter eq "1"`).sql).toContain("u.custom->>'costCenter'");
    expect(compile(`${OTHER}:costCenter eq "1"`).sql).toContain("u.other->>'costCenter'");
  });

  it('treats a complex attribute through its sub-attributes', () => {
    expect(compile('name pr')).toEqual({
      sql: "((u.given_name IS NOT NULL AND u.given_name <> '') OR (u.family_name IS NOT NULL AND u.family_name <> ''))",
      params: [],
    });
    expect(compile('name[givenName eq "Babs" and familyName sw "J"]')).toEqual({
      sql: '((u.given_name IS NOT NULL AND lower(u.given_name) = lower(?)) AND (u.family_name IS NOT NULL AND lower(u.family_name) LIKE lower(?)))',
      params: ['Babs', 'J%'],
    });
    expect(compile(`${ENTERPRISE}:manager pr`)).toEqual({ sql: '(u.manager_id IS NOT NULL)', params: [] });
  });
});

describe('compileFilter: invalidFilter', () => {
  it.each<[string, RegExp, FilterSchema?]>([
    ['nickName eq "x"', /Unknown attribute 'nickName'/],
    ['name.middleName eq "x"', /Unknown attribute 'name.middleName'/],
    ['emails.label eq "x"', /Unknown attribute 'emails.label'/],
    ['emails[label eq "x"]', /Unknown attribute 'emails.label'/],
    [`${ENTERPRISE}:userName eq "x"`, /Unknown attribute/],
    ['urn:example:unknown:2.0:User:title pr', /Unknown schema 'urn:example:unknown:2.0:User'/],
    ['costCenter eq "1"', /'costCenter' is ambiguous/],
    ['name eq "x"', /'name' is a complex attribute/],
    ['name gt "x"', /complex attribute/],
    ['emails gt "x"', /multi-valued complex attribute; 'gt' needs a sub-attribute/],
    ['members lt "x"', /multi-valued complex attribute/, groups],
    ['members.nickName eq "x"', /Unknown attribute 'members.nickName'/, groups],
    ['members[nickName eq "x"]', /Unknown attribute 'members.nickName'/, groups],
    ['title[value eq "x"]', /'title' is not a multi-valued or complex attribute/],
    ['emails[urn:x:y:type eq "x"]', /plain sub-attribute names/],
    ['emails[type.x eq "x"]', /plain sub-attribute names/],
    // operator / type combinations (RFC 7644 §3.4.2.2)
    ['active gt true', /'gt' cannot be used with the boolean attribute 'active'/],
    ['active co "t"', /'co' cannot be used with the boolean attribute/],
    ['active eq "yes"', /boolean attribute; compare it with true or false/],
    ['active eq 1', /boolean attribute/],
    ['emails[primary lt true]', /'lt' cannot be used with the boolean attribute 'emails.primary'/],
    ['title eq 5', /'title' is a string attribute; compare it with a quoted string/],
    ['title eq true', /string attribute/],
    ['loginCount eq "5"', /number attribute; compare it with a number/],
    ['loginCount co 5', /'co' cannot be used with the number attribute/],
    ['meta.lastModified gt "yesterday"', /'yesterday' is not a valid dateTime/],
    ['meta.lastModified gt "2024-02-30T00:00:00Z"', /not a valid dateTime/],
    ['meta.lastModified gt "2024-01-01T24:00:00Z"', /not a valid dateTime/],
    ['meta.lastModified gt 1715000000', /dateTime attribute; compare it with a quoted date/],
    ['meta.lastModified sw "2024"', /'sw' cannot be used with the dateTime attribute/],
    ['id eq 5', /is an id; compare it with a quoted string/],
    ['title gt null', /'gt' cannot be used with null/],
    ['emails[type[value eq "x"] pr]', /nested/],
  ])('%s', (filter, message, schema = users) => {
    let error: unknown;
    try {
      compileFilter(parseFilter(filter), schema);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ScimFilterError);
    expect((error as ScimFilterError).scimType).toBe('invalidFilter');
    expect((error as ScimFilterError).message).toMatch(message);
  });

  it('rejects a nested value path in a hand-built AST', () => {
    const inner = { kind: 'valuePath', path: { attr: 'x' }, filter: { kind: 'present', path: { attr: 'y' } } } as const;
    expect(() => compileFilter({ kind: 'valuePath', path: { attr: 'emails' }, filter: inner }, users)).toThrow(/nested/);
  });

  it('shortens attribute names echoed in messages', () => {
    expect(() => compile(`a${'b'.repeat(500)} pr`)).toThrow(/Unknown attribute 'ab{59}…'$/);
  });
});

describe('compileFilter: injection safety', () => {
  const hostile = `x'); DROP TABLE users; -- ? ?? \\? $1 :name`;
  const filters = [
    `userName eq "${hostile.replace(/\\/g, '\\\\')}"`,
    `title co "${hostile.replace(/\\/g, '\\\\')}"`,
    `emails[type eq "work"].value eq "${hostile.replace(/\\/g, '\\\\')}"`,
    `emails[value co "${hostile.replace(/\\/g, '\\\\')}"]`,
    `jobRole sw "${hostile.replace(/\\/g, '\\\\')}"`,
    `skills ew "${hostile.replace(/\\/g, '\\\\')}"`,
    `id gt "${hostile.replace(/\\/g, '\\\\')}"`,
    'externalId eq DROP',
  ];
  it.each(filters)('%s keeps the value out of the SQL text', (filter) => {
    const { sql, params } = compile(filter);
    expect(sql).not.toMatch(/drop/i);
    expect(sql).not.toContain('??');
    expect(sql).not.toContain('\\?');
    expect(sql).not.toContain('$');
    expect(sql.split('?').length - 1).toBe(params.length);
    expect(JSON.stringify(params)).toMatch(/drop/i);
  });

  it('never puts the attribute name as written into SQL', () => {
    const { sql } = compile('USERNAME eq "x" and Emails.Value co "y" and JOBROLE pr');
    expect(sql).not.toMatch(/USERNAME|Emails|Value|JOBROLE/);
  });

  it('never emits a literal ? (the jsonb ? operator) and matches placeholders to params', () => {
    for (const filter of [
      'emails pr',
      'skills pr',
      'jobRole pr',
      'emails.type pr',
      'not (emails[type eq "work"] and emails co "x")',
      'level gt 1 and hireDate lt "2024-01-01" and securityChampion eq false and badgeId sw "a"',
    ]) {
      const { sql, params } = compile(filter);
      expect(sql.split('?').length - 1).toBe(params.length);
    }
  });

  it('refuses mapping SQL that contains ? and relations that add placeholders', () => {
    const bad: FilterSchema = {
      ...users,
      attributes: { title: { kind: 'column', sql: "u.data ? 'x'", type: 'string', caseExact: false } },
    };
    expect(() => compile('title pr', bad)).toThrow(/must not contain '\?'/);
    const badKey: FilterSchema = {
      ...users,
      attributes: { title: { kind: 'json', column: 'u.custom', key: "x'; --", type: 'string', caseExact: false } },
    };
    expect(() => compile('title pr', badKey)).toThrow(/Unsupported JSON key/);
    const badMembers: Relation = {
      kind: 'relation',
      exists: (c) => `EXISTS (SELECT 1 FROM role_members m WHERE m.x = ? AND ${c})`,
      subAttributes: { value: { kind: 'column', sql: 'm.user_id', type: 'uuid', caseExact: true } },
    };
    const badRelation: FilterSchema = { ...groups, attributes: { members: badMembers } };
    expect(() => compile(`members eq "${UUID}"`, badRelation)).toThrow(/add no '\?'/);
  });
});

describe('compileFilter: hostile size', () => {
  it('compiles a 100k-term or-chain without recursion', () => {
    const input = Array.from({ length: 100_000 }, (_, i) => `title eq "${i}"`).join(' or ');
    const { sql, params } = compileFilter(parseFilter(input, { maxLength: input.length }), users);
    expect(params).toHaveLength(100_000);
    expect(sql.startsWith('((u.title IS NOT NULL')).toBe(true);
  });
});

describe('compileSortBy', () => {
  it.each([
    ['userName', 'lower(u.user_name)'],
    ['urn:ietf:params:scim:schemas:core:2.0:User:userName', 'lower(u.user_name)'],
    ['externalId', 'u.external_id'],
    ['locale', 'u.locale'],
    ['name.givenName', 'lower(u.given_name)'],
    ['meta.lastModified', 'u.updated_at'],
    ['loginCount', 'u.login_count'],
    ['id', 'u.id'],
    [`${ENTERPRISE}:department`, 'lower(u.department)'],
    ['jobRole', "lower((u.custom->>'jobRole'))"],
    ['level', "(CASE WHEN jsonb_typeof(u.custom->'level') = 'number' THEN (u.custom->'level')::numeric END)"],
    [
      'hireDate',
      "(CASE WHEN jsonb_typeof(u.custom->'hireDate') = 'string' AND pg_input_is_valid((u.custom->>'hireDate'), 'timestamptz') THEN (u.custom->>'hireDate')::timestamptz END)",
    ],
    ['skills', "lower(((CASE WHEN jsonb_typeof(u.custom->'skills') = 'array' THEN u.custom->'skills'->0 END) #>> '{}'))"],
    // RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its primary value, else the first
    [
      'emails',
      `(SELECT (scim_s.v->>'value') FROM ${ELEMENTS('u.emails')} WITH ORDINALITY AS scim_s(v, n) ORDER BY CASE WHEN lower(scim_s.v->>'primary') = 'true' THEN 0 ELSE 1 END, scim_s.n LIMIT 1)`,
    ],
    [
      'ims.type',
      `(SELECT lower((scim_s.v->>'type')) FROM ${ELEMENTS('u.ims')} WITH ORDINALITY AS scim_s(v, n) ORDER BY CASE WHEN lower(scim_s.v->>'primary') = 'true' THEN 0 ELSE 1 END, scim_s.n LIMIT 1)`,
    ],
  ])('%s', (sortBy, expected) => {
    expect(compileSortBy(sortBy, users)).toBe(expected);
  });

  it.each<[string, RegExp, FilterSchema?]>([
    ['nickName', /Unknown attribute 'nickName'/],
    ['name', /complex attribute 'name'; name a sub-attribute/],
    ['', /Invalid attribute path/],
    ['userName desc', /Invalid attribute path/],
    ['emails[type eq "work"]', /Invalid attribute path/],
    ['members', /Cannot sort by 'members'/, groups],
    ['costCenter', /ambiguous/],
  ])('%s is invalidValue', (sortBy, message, schema = users) => {
    let error: unknown;
    try {
      compileSortBy(sortBy, schema);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ScimFilterError);
    expect((error as ScimFilterError).scimType).toBe('invalidValue');
    expect((error as ScimFilterError).message).toMatch(message);
  });
});
