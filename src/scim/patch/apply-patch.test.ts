import {
  CORE_GROUP_SCHEMA,
  CORE_USER_SCHEMA,
  ENTERPRISE_USER_SCHEMA,
  customUserExtension,
  type ScimSchemaDef,
} from '../schemas/definitions.js';
import { CORE_GROUP, CORE_USER, ENTERPRISE_USER, PATCH_OP } from '../schemas/urns.js';
import { applyPatch } from './apply-patch.js';
import { ScimPatchError } from './errors.js';
import { parsePatchRequest } from './patch-op.schema.js';

type Json = Record<string, unknown>;

const ACME = 'urn:roster:params:scim:schemas:extension:acme:2.0:User';
const USER_CTX = {
  schemas: [
    CORE_USER_SCHEMA,
    ENTERPRISE_USER_SCHEMA,
    customUserExtension('acme', [
      { name: 'level', type: 'integer', multiValued: false },
      { name: 'securityChampion', type: 'boolean', multiValued: false },
      { name: 'salary', type: 'decimal', multiValued: false },
      { name: 'startDate', type: 'dateTime', multiValued: false },
      { name: 'skills', type: 'string', multiValued: true },
    ]),
  ] as ScimSchemaDef[],
};
const GROUP_CTX = { schemas: [CORE_GROUP_SCHEMA] };

/** The user as our GET would return it (Okta's create body, after the server added id and meta). */
const USER: Json = {
  schemas: [CORE_USER, ENTERPRISE_USER],
  id: 'u1',
  externalId: '00ujl29u0le5T6Aj10h7',
  userName: 'test.user@okta.local',
  name: { givenName: 'Test', familyName: 'User' },
  displayName: 'Test User',
  title: 'Engineer',
  locale: 'en-US',
  active: true,
  emails: [{ value: 'test.user@okta.local', type: 'work', primary: true }],
  groups: [{ value: 'g1', display: 'Admins' }],
  meta: { resourceType: 'User', created: '2024-01-01T00:00:00Z', lastModified: '2024-01-01T00:00:00Z' },
  [ENTERPRISE_USER]: { department: 'Sales', manager: { value: 'm1', displayName: 'Boss' } },
};

const GROUP: Json = {
  schemas: [CORE_GROUP],
  id: 'g1',
  displayName: 'Test SCIMv2',
  members: [{ value: 'u1', display: 'test.user@okta.local' }, { value: 'u2' }],
  meta: { resourceType: 'Group' },
};

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
deepFreeze(USER);
deepFreeze(GROUP);

/** Runs a full PATCH body through the wire schema and the engine. The input is frozen: any mutation throws. */
function patch(resource: Json, operations: unknown[], ctx = USER_CTX): Json {
  return applyPatch(resource, parsePatchRequest({ schemas: [PATCH_OP], Operations: operations }), ctx);
}

/** The expected result: a copy of `base` changed by `fn`. */
function edit(base: Json, fn: (r: any) => void): Json {
  const copy = structuredClone(base);
  fn(copy);
  return copy;
}

const ent = (r: any) => r[ENTERPRISE_USER];

describe('applyPatch on a User', () => {
  const cases: Array<[string, unknown[], Json]> = [
    // ---- Okta
    ['Okta OIN deactivate: path-less replace', [{ op: 'replace', value: { active: false } }], edit(USER, (r) => (r.active = false))],
    ['Okta reactivate', [{ op: 'replace', value: { active: true } }], USER],
    [
      'Okta path-less replace of a complex attribute keeps unspecified sub-attributes',
      [
        {
          op: 'replace',
          value: { name: { givenName: 'Another', middleName: 'Excited' }, displayName: 'Another User' },
        },
      ],
      edit(USER, (r) => {
        r.name = { givenName: 'Another', familyName: 'User', middleName: 'Excited' };
        r.displayName = 'Another User';
      }),
    ],
    [
      'read-only echoes are ignored: same id, client meta, schemas, groups: []',
      [
        {
          op: 'replace',
          value: { id: 'u1', schemas: [CORE_USER], meta: { resourceType: 'User' }, groups: [], active: false },
        },
      ],
      edit(USER, (r) => (r.active = false)),
    ],
    ['re-sending the current groups is an echo', [{ op: 'add', path: 'groups', value: [{ value: 'g1' }] }], USER],
    // ---- Entra default
    [
      'Entra update: filtered email, dotted name, URN-qualified employeeNumber',
      [
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
        { op: 'Replace', path: `${ENTERPRISE_USER}:employeeNumber`, value: '701984' },
      ],
      edit(USER, (r) => {
        r.emails[0].value = 'updatedEmail@microsoft.com';
        r.name.familyName = 'updatedFamilyName';
        ent(r).employeeNumber = '701984';
      }),
    ],
    ['Entra deactivate with "False"', [{ op: 'Replace', path: 'active', value: 'False' }], edit(USER, (r) => (r.active = false))],
    [
      'Entra reactivate with "True" (any case)',
      [
        { op: 'Replace', path: 'active', value: 'False' },
        { op: 'Replace', path: 'active', value: 'TRUE' },
      ],
      USER,
    ],
    ['boolean false with the flag', [{ op: 'replace', path: 'active', value: false }], edit(USER, (r) => (r.active = false))],
    ['Entra single-value add', [{ op: 'Add', path: 'nickName', value: 'Babs' }], edit(USER, (r) => (r.nickName = 'Babs'))],
    [
      'Entra aadOptscim062020: path-less replace with dotted and URN-qualified keys',
      [
        {
          op: 'replace',
          value: {
            displayName: 'Bjfe',
            'name.givenName': 'Kkom',
            'name.familyName': 'Unua',
            [`${ENTERPRISE_USER}:employeeNumber`]: 'Aklq',
          },
        },
      ],
      edit(USER, (r) => {
        r.displayName = 'Bjfe';
        r.name = { givenName: 'Kkom', familyName: 'Unua' };
        ent(r).employeeNumber = 'Aklq';
      }),
    ],
    [
      'path-less extension block',
      [{ op: 'add', value: { [ENTERPRISE_USER]: { department: 'Finance', costCenter: '42' } } }],
      edit(USER, (r) => Object.assign(ent(r), { department: 'Finance', costCenter: '42' })),
    ],
    [
      'path naming the extension URN',
      [{ op: 'replace', path: ENTERPRISE_USER, value: { division: 'EMEA' } }],
      edit(USER, (r) => (ent(r).division = 'EMEA')),
    ],
    ['remove of the whole extension', [{ op: 'remove', path: ENTERPRISE_USER }], edit(USER, (r) => delete r[ENTERPRISE_USER])],
    // ---- Manager, every shape
    [
      'manager as [{$ref, value}] with an unqualified path (M1)',
      [{ op: 'Add', path: 'manager', value: [{ $ref: 'https://x/scim/v2/Users/m2', value: 'm2' }] }],
      edit(USER, (r) => (ent(r).manager = { value: 'm2', $ref: 'https://x/scim/v2/Users/m2' })),
    ],
    [
      'manager as a plain string (I1)',
      [{ op: 'add', path: `${ENTERPRISE_USER}:manager`, value: 'm2' }],
      edit(USER, (r) => (ent(r).manager = { value: 'm2' })),
    ],
    [
      'manager as {value}; stale displayName of the old manager is dropped',
      [{ op: 'Replace', path: `${ENTERPRISE_USER}:manager`, value: { value: 'm3' } }],
      edit(USER, (r) => (ent(r).manager = { value: 'm3' })),
    ],
    [
      'manager as a number',
      [{ op: 'replace', path: `${ENTERPRISE_USER}:manager`, value: 123456 }],
      edit(USER, (r) => (ent(r).manager = { value: '123456' })),
    ],
    [
      'manager.value path',
      [{ op: 'replace', path: `${ENTERPRISE_USER}:manager.value`, value: 'm4' }],
      edit(USER, (r) => (ent(r).manager = { value: 'm4' })),
    ],
    [
      'manager with $ref null (Entra)',
      [{ op: 'Add', path: 'manager', value: [{ $ref: null, value: 'm5' }] }],
      edit(USER, (r) => (ent(r).manager = { value: 'm5' })),
    ],
    [
      'manager in a path-less extension block as a string (Entra POST shape)',
      [{ op: 'replace', value: { [ENTERPRISE_USER]: { manager: '123456' } } }],
      edit(USER, (r) => (ent(r).manager = { value: '123456' })),
    ],
    [
      'remove manager: Replace with an empty string (Microsoft validator)',
      [{ op: 'Replace', path: `${ENTERPRISE_USER}:manager`, value: '' }],
      edit(USER, (r) => delete ent(r).manager),
    ],
    [
      'remove manager: replace with {value: ""}',
      [{ op: 'replace', path: 'manager', value: { value: '' } }],
      edit(USER, (r) => delete ent(r).manager),
    ],
    ['remove manager: replace with null', [{ op: 'replace', path: 'manager', value: null }], edit(USER, (r) => delete ent(r).manager)],
    ['remove manager: replace with []', [{ op: 'replace', path: 'manager', value: [] }], edit(USER, (r) => delete ent(r).manager)],
    ['remove manager: remove op', [{ op: 'remove', path: `${ENTERPRISE_USER}:manager` }], edit(USER, (r) => delete ent(r).manager)],
    [
      'the extension object disappears when its last attribute goes',
      [
        { op: 'remove', path: `${ENTERPRISE_USER}:manager` },
        { op: 'remove', path: `${ENTERPRISE_USER}:department` },
      ],
      edit(USER, (r) => delete r[ENTERPRISE_USER]),
    ],
    [
      'remove of an absent attribute is a no-op',
      [
        { op: 'remove', path: `${ENTERPRISE_USER}:costCenter` },
        { op: 'remove', path: 'nickName' },
      ],
      USER,
    ],
    // ---- Entra "null update"
    [
      'null update: empty strings clear optional attributes',
      [
        { op: 'Replace', path: 'title', value: '' },
        { op: 'Replace', path: 'name.givenName', value: '' },
        { op: 'Add', path: 'locale', value: '' },
        { op: 'replace', value: { displayName: '', [`${ENTERPRISE_USER}:department`]: '' } },
      ],
      edit(USER, (r) => {
        delete r.title;
        delete r.name.givenName;
        delete r.locale;
        delete r.displayName;
        delete ent(r).department;
      }),
    ],
    [
      'null update on a filtered value drops the element',
      [{ op: 'Replace', path: 'emails[type eq "work"].value', value: '' }],
      edit(USER, (r) => delete r.emails),
    ],
    [
      'null update on a filtered value that does not exist is a no-op',
      [{ op: 'Replace', path: 'phoneNumbers[type eq "mobile"].value', value: '' }],
      USER,
    ],
    // ---- Roles
    [
      'roles as JSON-encoded strings (Entra PATCH, M5)',
      [
        {
          op: 'Add',
          path: 'roles',
          value: [{ value: '{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"25","displayName":"Role1234"}' }],
        },
      ],
      edit(USER, (r) => (r.roles = [{ value: '25', display: 'Role1234' }])),
    ],
    [
      'AppRoleAssignmentsComplex: several adds, no duplicate on re-send',
      [
        {
          op: 'Add',
          path: 'roles',
          value: [{ primary: false, type: 'WindowsAzureActiveDirectoryRole', value: 'Admin' }],
        },
        {
          op: 'Add',
          path: 'roles',
          value: [
            { primary: 'False', type: 'WindowsAzureActiveDirectoryRole', value: 'Reader' },
            { primary: false, type: 'WindowsAzureActiveDirectoryRole', value: 'admin' },
          ],
        },
      ],
      edit(USER, (r) => {
        r.roles = [
          { primary: false, type: 'WindowsAzureActiveDirectoryRole', value: 'Admin' },
          { primary: false, type: 'WindowsAzureActiveDirectoryRole', value: 'Reader' },
        ];
      }),
    ],
    [
      'AssertiveAppRoleAssignmentsComplex: replace of the whole list',
      [
        { op: 'Add', path: 'roles', value: [{ value: 'Admin' }, { value: 'Reader' }] },
        {
          op: 'replace',
          path: 'roles',
          value: [{ value: '{"id":"x","value":"Writer","displayName":"Writers"}' }, { value: 'Reader' }],
        },
      ],
      edit(USER, (r) => (r.roles = [{ value: 'Writer', display: 'Writers' }, { value: 'Reader' }])),
    ],
    [
      'a role value that is not JSON stays as sent',
      [{ op: 'add', path: 'roles', value: '{not json' }],
      edit(USER, (r) => (r.roles = [{ value: '{not json' }])),
    ],
    // ---- Multi-valued attributes
    [
      'filtered replace adds an element when nothing matches (Entra)',
      [
        { op: 'Replace', path: 'emails[type eq "home"].value', value: 'home@example.com' },
        { op: 'Add', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 0100' },
        { op: 'replace', path: 'addresses[type eq "work"].country', value: 'DE' },
      ],
      edit(USER, (r) => {
        r.emails.push({ type: 'home', value: 'home@example.com' });
        r.phoneNumbers = [{ type: 'mobile', value: '+1 555 0100' }];
        r.addresses = [{ type: 'work', country: 'DE' }];
      }),
    ],
    [
      'filtered replace with an and-filter seeds every equality',
      [{ op: 'replace', path: 'phoneNumbers[type eq "work" and primary eq true].value', value: '1' }],
      edit(USER, (r) => (r.phoneNumbers = [{ type: 'work', primary: true, value: '1' }])),
    ],
    [
      'filtered replace without sub-attribute merges into the matching element',
      [{ op: 'replace', path: 'emails[type eq "work"]', value: { value: 'new@x.com', display: 'New' } }],
      edit(USER, (r) => (r.emails = [{ value: 'new@x.com', type: 'work', primary: true, display: 'New' }])),
    ],
    [
      'filter values and attribute names are case-insensitive',
      [{ op: 'replace', path: 'EMAILS[TYPE eq "WORK"].VALUE', value: 'w@x.com' }],
      edit(USER, (r) => (r.emails[0].value = 'w@x.com')),
    ],
    [
      'primary: true on a new element clears the others (RFC 7643 §2.4)',
      [{ op: 'add', path: 'emails', value: { value: 'b@x.com', type: 'home', primary: true } }],
      edit(USER, (r) => {
        r.emails[0].primary = false;
        r.emails.push({ value: 'b@x.com', type: 'home', primary: true });
      }),
    ],
    [
      'primary set through a filtered path, as the string "True"',
      [
        { op: 'add', path: 'emails', value: [{ value: 'b@x.com', type: 'home' }] },
        { op: 'Replace', path: 'emails[type eq "home"].primary', value: 'True' },
      ],
      edit(USER, (r) => {
        r.emails[0].primary = false;
        r.emails.push({ value: 'b@x.com', type: 'home', primary: true });
      }),
    ],
    [
      'replace of a whole list with two primaries keeps the last',
      [
        {
          op: 'replace',
          path: 'emails',
          value: [
            { value: 'a@x.com', type: 'work', primary: true },
            { value: 'b@x.com', type: 'home', primary: true },
          ],
        },
      ],
      edit(USER, (r) => {
        r.emails = [
          { value: 'a@x.com', type: 'work', primary: false },
          { value: 'b@x.com', type: 'home', primary: true },
        ];
      }),
    ],
    [
      'adding an existing value does not duplicate it (case-insensitive value, missing type)',
      [{ op: 'add', path: 'emails', value: [{ value: 'TEST.USER@okta.local' }] }],
      USER,
    ],
    [
      'adding an existing value merges its writable sub-attributes',
      [{ op: 'add', path: 'emails', value: [{ value: 'test.user@okta.local', type: 'work', display: 'Work' }] }],
      edit(USER, (r) => (r.emails[0].display = 'Work')),
    ],
    [
      'path-less add of a list appends',
      [{ op: 'add', value: { emails: [{ value: 'c@x.com', type: 'other' }] } }],
      edit(USER, (r) => r.emails.push({ value: 'c@x.com', type: 'other' })),
    ],
    [
      'path-less replace of a list replaces it',
      [{ op: 'replace', value: { emails: [{ value: 'c@x.com', type: 'other' }] } }],
      edit(USER, (r) => (r.emails = [{ value: 'c@x.com', type: 'other' }])),
    ],
    [
      'remove with a filter removes the matching elements',
      [{ op: 'remove', path: 'emails[type eq "work"]' }],
      edit(USER, (r) => delete r.emails),
    ],
    ['remove with a filter matching nothing is a no-op', [{ op: 'remove', path: 'emails[type eq "home"]' }], USER],
    [
      'remove of a sub-attribute of matching elements',
      [{ op: 'remove', path: 'emails[type eq "work"].primary' }],
      edit(USER, (r) => delete r.emails[0].primary),
    ],
    [
      'remove with a value array removes those values',
      [
        { op: 'add', path: 'emails', value: [{ value: 'b@x.com', type: 'home' }] },
        { op: 'Remove', path: 'emails', value: [{ value: 'test.user@okta.local' }] },
      ],
      edit(USER, (r) => (r.emails = [{ value: 'b@x.com', type: 'home' }])),
    ],
    ['remove of a whole list', [{ op: 'remove', path: 'emails' }], edit(USER, (r) => delete r.emails)],
    [
      'a single object and bare strings are accepted for lists',
      [
        { op: 'add', path: 'phoneNumbers', value: { value: '1', type: 'work' } },
        { op: 'add', path: 'emails', value: 'd@x.com' },
      ],
      edit(USER, (r) => {
        r.phoneNumbers = [{ value: '1', type: 'work' }];
        r.emails.push({ value: 'd@x.com' });
      }),
    ],
    // ---- Names, casing, coercion, other attributes
    [
      'attribute names are case-insensitive and written back canonically',
      [
        { op: 'replace', path: 'DISPLAYNAME', value: 'X' },
        { op: 'replace', path: 'Name.GivenName', value: 'G' },
        { op: 'replace', path: `${ENTERPRISE_USER.toUpperCase()}:DEPARTMENT`, value: 'D' },
        {
          op: 'replace',
          value: { NICKNAME: 'N', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:user': { COSTCENTER: 'C' } },
        },
      ],
      edit(USER, (r) => {
        r.displayName = 'X';
        r.name.givenName = 'G';
        r.nickName = 'N';
        Object.assign(ent(r), { department: 'D', costCenter: 'C' });
      }),
    ],
    ['externalId', [{ op: 'Replace', path: 'externalId', value: 'abc' }], edit(USER, (r) => (r.externalId = 'abc'))],
    ['password is writeOnly, not readOnly', [{ op: 'replace', value: { password: 's3cret' } }], edit(USER, (r) => (r.password = 's3cret'))],
    [
      'numbers become strings for string attributes',
      [{ op: 'replace', path: `${ENTERPRISE_USER}:employeeNumber`, value: 701984 }],
      edit(USER, (r) => (ent(r).employeeNumber = '701984')),
    ],
    [
      'custom extension: integer, boolean, decimal, dateTime coercion',
      [
        {
          op: 'add',
          value: {
            [`${ACME}:level`]: '3',
            [`${ACME}:securityChampion`]: 'True',
            [`${ACME}:salary`]: '1234.5',
            [`${ACME}:startDate`]: '2024-05-01T00:00:00Z',
          },
        },
      ],
      edit(USER, (r) => (r[ACME] = { level: 3, securityChampion: true, salary: 1234.5, startDate: '2024-05-01T00:00:00Z' })),
    ],
    [
      'custom extension: simple multi-valued attribute add, dedupe, filtered remove',
      [
        { op: 'add', path: `${ACME}:skills`, value: ['go', 'ts'] },
        { op: 'add', path: `${ACME}:skills`, value: 'TS' },
        { op: 'remove', path: `${ACME}:skills[value eq "go"]` },
      ],
      edit(USER, (r) => (r[ACME] = { skills: ['ts'] })),
    ],
    [
      'custom extension: filtered replace of simple values, "" drops the value',
      [
        { op: 'add', path: `${ACME}:skills`, value: ['go', 'ts'] },
        { op: 'replace', path: `${ACME}:skills[value eq "go"]`, value: 'rust' },
        { op: 'replace', path: `${ACME}:skills[value eq "ts"]`, value: '' },
      ],
      edit(USER, (r) => (r[ACME] = { skills: ['rust'] })),
    ],
    [
      'filtered roles replace decodes a JSON-encoded value',
      [
        { op: 'add', path: 'roles', value: [{ value: 'Admin', type: 'app' }] },
        {
          op: 'replace',
          path: 'roles[type eq "app"]',
          value: { value: '{"id":"1","value":"7","displayName":"Seven"}' },
        },
      ],
      edit(USER, (r) => (r.roles = [{ value: '7', type: 'app', display: 'Seven' }])),
    ],
    [
      'an array of one for a single-valued attribute is unwrapped',
      [{ op: 'replace', path: 'title', value: ['Boss'] }],
      edit(USER, (r) => (r.title = 'Boss')),
    ],
  ];

  it.each(cases)('%s', (_name, operations, expected) => {
    expect(patch(USER, operations)).toEqual(expected);
  });

  it('returns a new object and never mutates the input', () => {
    const input = structuredClone(USER);
    const before = structuredClone(input);
    const out = patch(input, [
      { op: 'replace', path: 'emails[type eq "work"].value', value: 'n@x.com' },
      { op: 'replace', path: `${ENTERPRISE_USER}:manager`, value: 'm9' },
      { op: 'replace', path: 'name.givenName', value: 'Z' },
    ]);
    expect(input).toEqual(before);
    expect(out).not.toBe(input);
    expect(out.emails).not.toBe(input.emails);
  });
});

describe('applyPatch on a Group (in-memory members)', () => {
  const cases: Array<[string, unknown[], Json]> = [
    [
      'Okta rename: path-less replace echoing the id',
      [{ op: 'replace', value: { id: 'g1', displayName: 'New name' } }],
      edit(GROUP, (g) => (g.displayName = 'New name')),
    ],
    ['Entra rename', [{ op: 'Replace', path: 'displayName', value: 'New name' }], edit(GROUP, (g) => (g.displayName = 'New name'))],
    [
      'Okta add member; re-adding an existing member does not duplicate it',
      [
        {
          op: 'add',
          path: 'members',
          value: [
            { value: 'u3', display: 'u3@x' },
            { value: 'u1', display: 'other display' },
          ],
        },
      ],
      edit(GROUP, (g) => g.members.push({ value: 'u3' })),
    ],
    [
      'Entra add member with $ref null',
      [{ op: 'Add', path: 'members', value: [{ $ref: null, value: 'u3' }] }],
      edit(GROUP, (g) => g.members.push({ value: 'u3' })),
    ],
    ['Okta remove member by filter', [{ op: 'remove', path: 'members[value eq "u1"]' }], edit(GROUP, (g) => g.members.shift())],
    [
      'Entra remove member with a value array',
      [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: 'u2' }] }],
      edit(GROUP, (g) => g.members.pop()),
    ],
    ['removing a member that is not there is a no-op', [{ op: 'remove', path: 'members[value eq "nobody"]' }], GROUP],
    ['remove with an empty value array is a no-op', [{ op: 'Remove', path: 'members', value: [] }], GROUP],
    ['remove of all members', [{ op: 'remove', path: 'members' }], edit(GROUP, (g) => delete g.members)],
    [
      'replace of the member list',
      [{ op: 'replace', path: 'members', value: [{ value: 'u9' }] }],
      edit(GROUP, (g) => (g.members = [{ value: 'u9' }])),
    ],
  ];

  it.each(cases)('%s', (_name, operations, expected) => {
    expect(patch(GROUP, operations, GROUP_CTX)).toEqual(expected);
  });
});

describe('applyPatch errors', () => {
  const errors: Array<[string, Json, unknown[], string]> = [
    ['unknown attribute path', USER, [{ op: 'replace', path: 'favouriteColour', value: 'red' }], 'invalidPath'],
    ['unknown attribute in a path-less value', USER, [{ op: 'replace', value: { active: false, favouriteColour: 'red' } }], 'invalidPath'],
    ['unknown sub-attribute path', USER, [{ op: 'replace', path: 'name.nick', value: 'x' }], 'invalidPath'],
    ['unknown sub-attribute in a value', USER, [{ op: 'replace', path: 'name', value: { nick: 'x' } }], 'invalidPath'],
    ['sub-attribute of a simple attribute', USER, [{ op: 'replace', path: 'title.x', value: 'x' }], 'invalidPath'],
    ['unknown extension URN in a path', USER, [{ op: 'replace', path: 'urn:example:ext:2.0:User:foo', value: 'x' }], 'invalidPath'],
    [
      'unknown extension block in a path-less value',
      USER,
      [{ op: 'add', value: { 'urn:example:ext:2.0:User': { foo: 'x' } } }],
      'invalidPath',
    ],
    ['enterprise attribute on a Group', GROUP, [{ op: 'replace', path: `${ENTERPRISE_USER}:department`, value: 'x' }], 'invalidPath'],
    [
      'value filter on a single-valued attribute',
      USER,
      [{ op: 'replace', path: 'name[givenName eq "x"].familyName', value: 'y' }],
      'invalidPath',
    ],
    ['value filter naming an unknown sub-attribute', USER, [{ op: 'remove', path: 'emails[kind eq "work"]' }], 'invalidPath'],
    ['bad path syntax', USER, [{ op: 'replace', path: 'emails[type eq "work"', value: 'x' }], 'invalidPath'],
    ['bad filter syntax in a path', USER, [{ op: 'replace', path: 'emails[type eq].value', value: 'x' }], 'invalidPath'],
    ['write to id', USER, [{ op: 'replace', path: 'id', value: 'other' }], 'mutability'],
    ['path-less write of a different id', GROUP, [{ op: 'replace', value: { id: 'other', displayName: 'x' } }], 'mutability'],
    ['remove of id', USER, [{ op: 'remove', path: 'id' }], 'mutability'],
    ['write to meta.lastModified', USER, [{ op: 'replace', path: 'meta.lastModified', value: '2030-01-01T00:00:00Z' }], 'mutability'],
    ['write to schemas', USER, [{ op: 'add', path: 'schemas', value: ['urn:x'] }], 'mutability'],
    ['add to the read-only groups of a User', USER, [{ op: 'add', path: 'groups', value: [{ value: 'g2' }] }], 'mutability'],
    ['remove of the read-only groups', USER, [{ op: 'remove', path: 'groups[value eq "g1"]' }], 'mutability'],
    ['changing a member value (immutable)', GROUP, [{ op: 'replace', path: 'members[value eq "u1"].value', value: 'u5' }], 'mutability'],
    ['writing a member display (readOnly)', GROUP, [{ op: 'replace', path: 'members[value eq "u1"].display', value: 'x' }], 'mutability'],
    ['writing manager.displayName (readOnly)', USER, [{ op: 'replace', path: 'manager.displayName', value: 'x' }], 'mutability'],
    ['remove without path', USER, [{ op: 'remove', value: { title: 'x' } }], 'noTarget'],
    [
      'filtered replace with no match and no equality to seed from',
      USER,
      [{ op: 'replace', path: 'emails[value co "zzz"].type', value: 'home' }],
      'noTarget',
    ],
    ['remove of the required userName', USER, [{ op: 'remove', path: 'userName' }], 'invalidValue'],
    ['clearing the required userName', USER, [{ op: 'replace', path: 'userName', value: '' }], 'invalidValue'],
    ['clearing the required Group displayName', GROUP, [{ op: 'replace', value: { displayName: '' } }], 'invalidValue'],
    ['a boolean that is not one', USER, [{ op: 'replace', path: 'active', value: 'yes' }], 'invalidValue'],
    ['an object for a string', USER, [{ op: 'replace', path: 'title', value: { a: 1 } }], 'invalidValue'],
    ['a bad integer', USER, [{ op: 'replace', path: `${ACME}:level`, value: '3.5' }], 'invalidValue'],
    ['a bad dateTime', USER, [{ op: 'replace', path: `${ACME}:startDate`, value: 'soon' }], 'invalidValue'],
    [
      'several values for a single-valued attribute',
      USER,
      [{ op: 'replace', path: 'manager', value: [{ value: 'a' }, { value: 'b' }] }],
      'invalidValue',
    ],
    ['path-less value that is not an object', USER, [{ op: 'replace', value: 'x' }], 'invalidValue'],
    ['a boolean where a complex value is expected', USER, [{ op: 'replace', path: 'name', value: true }], 'invalidValue'],
  ];

  it.each(errors)('%s', (_name, resource, operations, scimType) => {
    let caught: unknown;
    try {
      patch(resource, operations, resource === GROUP ? GROUP_CTX : USER_CTX);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ScimPatchError);
    expect((caught as ScimPatchError).scimType).toBe(scimType);
  });

  it('is atomic: a later failing operation leaves the input untouched', () => {
    const input = structuredClone(USER);
    const before = structuredClone(input);
    expect(() =>
      patch(input, [
        { op: 'replace', path: 'displayName', value: 'changed' },
        { op: 'replace', path: 'id', value: 'other' },
      ]),
    ).toThrow(/Operations\[1\]/);
    expect(input).toEqual(before);
  });
});
