import {
  COMMON_ATTRIBUTES,
  CORE_GROUP_SCHEMA,
  CORE_USER_SCHEMA,
  ENTERPRISE_USER_SCHEMA,
  customUserExtension,
  type ScimAttributeDef,
  type ScimSchemaDef,
} from './definitions.js';
import { CORE_GROUP, CORE_USER, ENTERPRISE_USER } from './urns.js';

const RFC_KEYS = ['name', 'type', 'multiValued', 'description', 'required', 'caseExact', 'mutability', 'returned', 'uniqueness'];

function walk(attrs: ScimAttributeDef[], visit: (a: ScimAttributeDef, parent?: ScimAttributeDef) => void, parent?: ScimAttributeDef) {
  for (const a of attrs) {
    visit(a, parent);
    if (a.subAttributes) walk(a.subAttributes, visit, a);
  }
}

const byName = (schema: ScimSchemaDef, name: string) => schema.attributes.find((a) => a.name === name)!;
const sub = (a: ScimAttributeDef, name: string) => a.subAttributes!.find((s) => s.name === name)!;

describe('schema definitions', () => {
  const all = [CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, CORE_GROUP_SCHEMA, customUserExtension('acme', [])];

  it.each(all.map((s) => [s.id, s] as const))('%s is in the RFC 7643 §7 shape', (_id, schema) => {
    // JSON round trip: no undefined, functions or cycles; exactly what /Schemas serves.
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
    expect(Object.keys(schema).sort()).toEqual(['attributes', 'description', 'id', 'name']);
    walk(schema.attributes, (a, parent) => {
      for (const key of RFC_KEYS) expect(a).toHaveProperty(key);
      expect(a.subAttributes !== undefined).toBe(a.type === 'complex');
      if (parent) expect(a.type).not.toBe('complex'); // RFC 7643 §2.3.8: no complex sub-attributes
    });
    const names = schema.attributes.map((a) => a.name.toLowerCase());
    expect(new Set(names).size).toBe(names.length);
  });

  it('has the published ids', () => {
    expect([CORE_USER_SCHEMA.id, ENTERPRISE_USER_SCHEMA.id, CORE_GROUP_SCHEMA.id]).toEqual([CORE_USER, ENTERPRISE_USER, CORE_GROUP]);
  });

  it('describes the User attributes Roster relies on', () => {
    expect(byName(CORE_USER_SCHEMA, 'userName')).toMatchObject({
      required: true,
      uniqueness: 'server',
      caseExact: false,
    });
    expect(byName(CORE_USER_SCHEMA, 'password')).toMatchObject({ mutability: 'writeOnly', returned: 'never' });
    expect(byName(CORE_USER_SCHEMA, 'active').type).toBe('boolean');
    expect(byName(CORE_USER_SCHEMA, 'groups')).toMatchObject({ mutability: 'readOnly', multiValued: true });
    expect(sub(byName(CORE_USER_SCHEMA, 'emails'), 'type').canonicalValues).toEqual(['work', 'home', 'other']);
    expect(byName(CORE_USER_SCHEMA, 'name').subAttributes!.map((s) => s.name)).toEqual([
      'formatted',
      'familyName',
      'givenName',
      'middleName',
      'honorificPrefix',
      'honorificSuffix',
    ]);
    expect(byName(CORE_USER_SCHEMA, 'roles').subAttributes!.map((s) => s.name)).toEqual(['value', 'display', 'type', 'primary']);
    expect(byName(ENTERPRISE_USER_SCHEMA, 'manager').subAttributes!.map((s) => s.name)).toEqual(['value', '$ref', 'displayName']);
    expect(byName(CORE_GROUP_SCHEMA, 'members').subAttributes!.map((s) => s.name)).toEqual(['value', '$ref', 'display', 'type']);
  });

  it('keeps the common attributes out of the schemas', () => {
    expect(COMMON_ATTRIBUTES.map((a) => a.name)).toEqual(['id', 'externalId', 'meta']);
    for (const schema of all) {
      for (const common of ['id', 'externalId', 'meta', 'schemas']) {
        expect(schema.attributes.some((a) => a.name === common)).toBe(false);
      }
    }
  });

  describe('customUserExtension', () => {
    it('builds the tenant extension', () => {
      const schema = customUserExtension('acme', [
        { name: 'jobRole', type: 'string', multiValued: false, description: 'Job role' },
        { name: 'securityChampion', type: 'boolean', multiValued: false },
        { name: 'skills', type: 'string', multiValued: true },
      ]);
      expect(schema.id).toBe('urn:roster:params:scim:schemas:extension:acme:2.0:User');
      expect(schema.attributes).toEqual([
        expect.objectContaining({
          name: 'jobRole',
          type: 'string',
          multiValued: false,
          description: 'Job role',
          mutability: 'readWrite',
        }),
        expect.objectContaining({ name: 'securityChampion', type: 'boolean', description: '' }),
        expect.objectContaining({ name: 'skills', multiValued: true }),
      ]);
    });

    it.each([
      ['bad slug', 'ac:me', [{ name: 'x', type: 'string', multiValued: false }]],
      ['bad attribute name', 'acme', [{ name: 'job role', type: 'string', multiValued: false }]],
      ['name starting with a digit', 'acme', [{ name: '1x', type: 'string', multiValued: false }]],
      [
        'duplicate name (case-insensitive)',
        'acme',
        [
          { name: 'x', type: 'string', multiValued: false },
          { name: 'X', type: 'boolean', multiValued: false },
        ],
      ],
    ] as const)('rejects a %s', (_name, slug, attrs) => {
      expect(() => customUserExtension(slug, [...attrs])).toThrow(TypeError);
    });
  });
});
