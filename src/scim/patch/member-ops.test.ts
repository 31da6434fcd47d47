import { CORE_GROUP_SCHEMA } from '../schemas/definitions.js';
import { CORE_GROUP, PATCH_OP } from '../schemas/urns.js';
import { applyPatch, extractMemberOps, type ExtractedMemberOps } from './apply-patch.js';
import { ScimPatchError } from './errors.js';
import { parsePatchRequest } from './patch-op.schema.js';

const extract = (operations: unknown[]) => extractMemberOps(parsePatchRequest({ schemas: [PATCH_OP], Operations: operations }));

describe('extractMemberOps', () => {
  const cases: Array<[string, unknown[], ExtractedMemberOps]> = [
    [
      'Okta OIN add',
      [{ op: 'add', path: 'members', value: [{ value: 'u1', display: 'test.user@okta.local' }] }],
      { memberChanges: [{ kind: 'add', userIds: ['u1'] }], otherOps: [] },
    ],
    [
      'Entra add with $ref null, several members',
      [
        {
          op: 'Add',
          path: 'members',
          value: [{ $ref: null, value: 'u1' }, { $ref: null, value: 'u2' }, { value: 'u1' }],
        },
      ],
      { memberChanges: [{ kind: 'add', userIds: ['u1', 'u2'] }], otherOps: [] },
    ],
    [
      'Okta remove by filter, in the same PATCH as an add, with the Okta rename re-sent',
      [
        { op: 'remove', path: 'members[value eq "u1"]' },
        { op: 'add', path: 'members', value: [{ value: 'u2', display: 'u2@x' }] },
        { op: 'replace', value: { id: 'g1', displayName: 'Test SCIMv2' } },
      ],
      {
        memberChanges: [
          { kind: 'remove', userIds: ['u1'] },
          { kind: 'add', userIds: ['u2'] },
        ],
        otherOps: [{ op: 'replace', value: { id: 'g1', displayName: 'Test SCIMv2' } }],
      },
    ],
    [
      'Entra default remove: path members + value array',
      [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: 'u1' }] }],
      { memberChanges: [{ kind: 'remove', userIds: ['u1'] }], otherOps: [] },
    ],
    [
      'filter with or',
      [{ op: 'remove', path: 'members[value eq "u1" or value eq "u2"]' }],
      { memberChanges: [{ kind: 'remove', userIds: ['u1', 'u2'] }], otherOps: [] },
    ],
    [
      'Okta full push: replace of members',
      [{ op: 'replace', path: 'members', value: [{ value: 'u1' }, { value: 'u2' }] }],
      { memberChanges: [{ kind: 'replaceAll', userIds: ['u1', 'u2'] }], otherOps: [] },
    ],
    [
      'replace with an empty list removes all',
      [{ op: 'replace', path: 'members', value: [] }],
      { memberChanges: [{ kind: 'removeAll', userIds: [] }], otherOps: [] },
    ],
    [
      'remove without value removes all',
      [{ op: 'remove', path: 'members' }],
      { memberChanges: [{ kind: 'removeAll', userIds: [] }], otherOps: [] },
    ],
    [
      'remove with an empty value array changes nothing',
      [{ op: 'Remove', path: 'members', value: [] }],
      { memberChanges: [], otherOps: [] },
    ],
    ['add of an empty list changes nothing', [{ op: 'add', path: 'members', value: [] }], { memberChanges: [], otherOps: [] }],
    [
      'path-less replace with members and a rename',
      [{ op: 'replace', value: { displayName: 'New', members: [{ value: 'u3' }] } }],
      {
        memberChanges: [{ kind: 'replaceAll', userIds: ['u3'] }],
        otherOps: [{ op: 'replace', value: { displayName: 'New' } }],
      },
    ],
    [
      'path-less add of members only',
      [{ op: 'add', value: { Members: [{ value: 'u3' }] } }],
      { memberChanges: [{ kind: 'add', userIds: ['u3'] }], otherOps: [] },
    ],
    [
      'URN-qualified members path and Group-URN block',
      [
        { op: 'add', path: `${CORE_GROUP}:members`, value: [{ value: 'u4' }] },
        { op: 'replace', value: { [CORE_GROUP]: { members: [{ value: 'u5' }], displayName: 'X' } } },
      ],
      {
        memberChanges: [
          { kind: 'add', userIds: ['u4'] },
          { kind: 'replaceAll', userIds: ['u5'] },
        ],
        otherOps: [{ op: 'replace', value: { [CORE_GROUP]: { displayName: 'X' } } }],
      },
    ],
    [
      'filtered add ensures membership',
      [{ op: 'add', path: 'members[value eq "u6"]', value: { display: 'x' } }],
      { memberChanges: [{ kind: 'add', userIds: ['u6'] }], otherOps: [] },
    ],
    [
      'case-insensitive names, bare id strings',
      [{ op: 'ADD', path: 'MEMBERS', value: ['u7'] }],
      { memberChanges: [{ kind: 'add', userIds: ['u7'] }], otherOps: [] },
    ],
    [
      'Entra rename and externalId stay for applyPatch',
      [
        { op: 'Replace', path: 'displayName', value: 'New name' },
        { op: 'Replace', path: 'externalId', value: 'e1' },
      ],
      {
        memberChanges: [],
        otherOps: [
          { op: 'replace', path: 'displayName', value: 'New name' },
          { op: 'replace', path: 'externalId', value: 'e1' },
        ],
      },
    ],
  ];

  it.each(cases)('%s', (_name, operations, expected) => {
    expect(extract(operations)).toEqual(expected);
  });

  const errors: Array<[string, unknown[], string]> = [
    ['non-string member value', [{ op: 'add', path: 'members', value: [{ value: 42 }] }], 'invalidValue'],
    ['member without value', [{ op: 'add', path: 'members', value: [{ display: 'x' }] }], 'invalidValue'],
    ['empty member value', [{ op: 'Remove', path: 'members', value: [{ value: '' }] }], 'invalidValue'],
    ['filter on something other than value', [{ op: 'remove', path: 'members[display eq "x"]' }], 'invalidPath'],
    ['filter with and', [{ op: 'remove', path: 'members[value eq "x" and type eq "User"]' }], 'invalidPath'],
    ['member sub-attribute path', [{ op: 'replace', path: 'members.display', value: 'x' }], 'invalidPath'],
    ['changing a member value through a filter', [{ op: 'replace', path: 'members[value eq "u1"]', value: { value: 'u2' } }], 'mutability'],
    ['bad path syntax', [{ op: 'remove', path: 'members[value eq "u1"' }], 'invalidPath'],
  ];

  it.each(errors)('rejects %s', (_name, operations, scimType) => {
    let caught: unknown;
    try {
      extract(operations);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ScimPatchError);
    expect((caught as ScimPatchError).scimType).toBe(scimType);
  });

  it('leaves operations applyPatch can run on the group without members', () => {
    const group = { id: 'g1', displayName: 'Old', schemas: [CORE_GROUP] };
    const { otherOps } = extract([
      { op: 'add', path: 'members', value: [{ value: 'u1' }] },
      { op: 'replace', value: { id: 'g1', displayName: 'New', members: [{ value: 'u2' }] } },
    ]);
    expect(applyPatch(group, otherOps, { schemas: [CORE_GROUP_SCHEMA] })).toEqual({ ...group, displayName: 'New' });
  });

  it('does not mutate the operations it was given', () => {
    const ops = parsePatchRequest({
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', value: { displayName: 'New', members: [{ value: 'u2' }] } }],
    });
    const before = structuredClone(ops);
    extractMemberOps(ops);
    expect(ops).toEqual(before);
  });
});
