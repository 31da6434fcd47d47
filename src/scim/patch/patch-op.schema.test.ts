import { PATCH_OP } from '../schemas/urns.js';
import { ScimPatchError } from './errors.js';
import { parsePatchRequest, type NormalisedOp } from './patch-op.schema.js';

const body = (Operations: unknown) => ({ schemas: [PATCH_OP], Operations });

function scimTypeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ScimPatchError);
    return (err as ScimPatchError).scimType;
  }
  throw new Error('expected a ScimPatchError');
}

describe('parsePatchRequest', () => {
  const accepted: Array<[string, unknown, NormalisedOp[]]> = [
    ['Okta OIN deactivate (path-less)', body([{ op: 'replace', value: { active: false } }]), [{ op: 'replace', value: { active: false } }]],
    [
      'Entra capitalised ops',
      body([
        { op: 'Replace', path: 'active', value: 'False' },
        { op: 'Add', path: 'nickName', value: 'Babs' },
        { op: 'Remove', path: 'members', value: [{ $ref: null, value: 'u1' }] },
      ]),
      [
        { op: 'replace', path: 'active', value: 'False' },
        { op: 'add', path: 'nickName', value: 'Babs' },
        { op: 'remove', path: 'members', value: [{ $ref: null, value: 'u1' }] },
      ],
    ],
    ['upper-case op with blanks', body([{ op: ' REMOVE ', path: 'title' }]), [{ op: 'remove', path: 'title' }]],
    [
      'lower-case "operations" and mixed-case member names',
      { SCHEMAS: [PATCH_OP.toUpperCase()], operations: [{ OP: 'add', Path: 'title', VALUE: 'x' }] },
      [{ op: 'add', path: 'title', value: 'x' }],
    ],
    [
      'empty or null path is absent',
      body([
        { op: 'replace', path: '', value: { a: 1 } },
        { op: 'replace', path: null, value: {} },
      ]),
      [
        { op: 'replace', value: { a: 1 } },
        { op: 'replace', value: {} },
      ],
    ],
    ['null value is kept (clears)', body([{ op: 'replace', path: 'title', value: null }]), [{ op: 'replace', path: 'title', value: null }]],
    ['unknown members are dropped', body([{ op: 'add', path: 'title', value: 'x', extra: 1 }]), [{ op: 'add', path: 'title', value: 'x' }]],
  ];

  it.each(accepted)('%s', (_name, input, expected) => {
    expect(parsePatchRequest(input)).toEqual(expected);
  });

  const rejected: Array<[string, unknown, string]> = [
    ['missing Operations', { schemas: [PATCH_OP] }, 'invalidSyntax'],
    ['empty Operations', body([]), 'invalidSyntax'],
    ['Operations not an array', body({ op: 'add' }), 'invalidSyntax'],
    ['missing schemas', { Operations: [{ op: 'remove', path: 'x' }] }, 'invalidSyntax'],
    [
      'schemas without PatchOp',
      { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], Operations: [{ op: 'remove', path: 'x' }] },
      'invalidSyntax',
    ],
    ['unknown op', body([{ op: 'copy', path: 'x', value: 1 }]), 'invalidSyntax'],
    ['op missing', body([{ path: 'x', value: 1 }]), 'invalidSyntax'],
    ['op not a string', body([{ op: 1, path: 'x' }]), 'invalidSyntax'],
    ['operation not an object', body(['add']), 'invalidSyntax'],
    ['path not a string', body([{ op: 'remove', path: 3 }]), 'invalidSyntax'],
    ['body null', null, 'invalidSyntax'],
    ['body an array', [], 'invalidSyntax'],
    ['body a string', 'add', 'invalidSyntax'],
    ['add without value', body([{ op: 'add', path: 'title' }]), 'invalidValue'],
    ['Replace without value', body([{ op: 'Replace', path: 'title' }]), 'invalidValue'],
  ];

  it.each(rejected)('rejects %s', (_name, input, scimType) => {
    expect(scimTypeOf(() => parsePatchRequest(input))).toBe(scimType);
  });

  it('names the offending operation in the message', () => {
    expect(() => parsePatchRequest(body([{ op: 'add', path: 'a', value: 1 }, { op: 'move' }]))).toThrow(/Operations\.1\.op/);
  });
});
