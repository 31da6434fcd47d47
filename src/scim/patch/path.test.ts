import { ENTERPRISE_USER } from '../schemas/urns.js';
import { ScimPatchError, parsePatchPath, type PatchPath } from './path.js';

const workType = { kind: 'compare', path: { attr: 'type' }, op: 'eq', value: 'work' } as const;

describe('parsePatchPath', () => {
  const valid: Array<[string, PatchPath]> = [
    ['active', { attr: 'active' }],
    ['  displayName ', { attr: 'displayName' }],
    ['name.givenName', { attr: 'name', subAttr: 'givenName' }],
    ['members.$ref', { attr: 'members', subAttr: '$ref' }],
    [`${ENTERPRISE_USER}:manager`, { urn: ENTERPRISE_USER, attr: 'manager' }],
    [`${ENTERPRISE_USER}:employeeNumber`, { urn: ENTERPRISE_USER, attr: 'employeeNumber' }],
    [`${ENTERPRISE_USER}:manager.value`, { urn: ENTERPRISE_USER, attr: 'manager', subAttr: 'value' }],
    ['urn:ietf:params:scim:schemas:core:2.0:User:userName', { urn: 'urn:ietf:params:scim:schemas:core:2.0:User', attr: 'userName' }],
    ['emails[type eq "work"]', { attr: 'emails', filter: workType }],
    ['emails[type eq "work"].value', { attr: 'emails', filter: workType, subAttr: 'value' }],
    [
      'members[value eq "2819c223"]',
      { attr: 'members', filter: { kind: 'compare', path: { attr: 'value' }, op: 'eq', value: '2819c223' } },
    ],
    // a ']' or ':' inside the quoted filter value does not end the filter or start a URN
    ['members[value eq "a]b:c"]', { attr: 'members', filter: { kind: 'compare', path: { attr: 'value' }, op: 'eq', value: 'a]b:c' } }],
    [
      `${ENTERPRISE_USER}:skills[value eq "x"]`,
      {
        urn: ENTERPRISE_USER,
        attr: 'skills',
        filter: { kind: 'compare', path: { attr: 'value' }, op: 'eq', value: 'x' },
      },
    ],
  ];

  it.each(valid)('parses %s', (input, expected) => {
    expect(parsePatchPath(input)).toEqual(expected);
  });

  it('parses a compound value filter', () => {
    const path = parsePatchPath('addresses[type eq "work" and primary eq true].locality');
    expect(path.attr).toBe('addresses');
    expect(path.subAttr).toBe('locality');
    expect(path.filter?.kind).toBe('and');
  });

  const invalid = [
    '',
    '   ',
    'name..givenName',
    'name.givenName.x',
    '.name',
    'na me',
    '1abc',
    'emails[type eq "work"',
    'emails[]',
    'emails[type eq]',
    'emails[type eq "work"]value',
    'emails[type eq "work"].',
    'emails[type eq "work"].value.x',
    'emails.value[type eq "work"]',
    'emails[type eq "work"][value eq "x"]',
    'emails[type[value eq "x"]]',
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:',
    'urn::manager',
    'foo:bar',
    'schemas eq "urn:x"',
  ];

  it.each(invalid)('rejects %j with invalidPath', (input) => {
    expect(() => parsePatchPath(input)).toThrow(ScimPatchError);
    try {
      parsePatchPath(input);
    } catch (err) {
      expect((err as ScimPatchError).scimType).toBe('invalidPath');
    }
  });
});
