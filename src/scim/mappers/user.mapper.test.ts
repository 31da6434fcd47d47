import type { CustomAttribute } from '../../modules/custom-attributes/custom-attribute.entity.js';
import { UserSchema, type User } from '../../modules/users/user.entity.js';
import { userSchemasOf } from '../handlers/common.js';
import { compileProjection } from '../projection.js';
import { relationsOfRows, toScimUser } from './user.mapper.js';

/** A user with every property the entity has set (strings to their name, timestamps to a date). */
function everyPropertySet(): User {
  const u: Record<string, unknown> = {};
  for (const prop of Object.keys(UserSchema.meta.properties)) u[prop] = `${prop}-value`;
  return {
    ...u,
    id: '0196a000-0000-7000-8000-000000000001',
    active: true,
    version: 4,
    teamId: '0196a000-0000-7000-8000-0000000000aa',
    managerId: '0196a000-0000-7000-8000-000000000002',
    emails: [{ value: 'ada@x.test', type: 'work', primary: true, display: 'Ada' }],
    phoneNumbers: [{ value: '+1 555', type: 'mobile', primary: false }],
    addresses: [{ streetAddress: '1 Main St', locality: 'Springfield', country: 'US', type: 'work', primary: true }],
    custom: { badge: 'B-7', skills: ['sql'], remote: false, notDeclared: 'x' },
    createdAt: new Date('2026-11-22T10:00:00.123Z'),
    updatedAt: new Date('2026-11-22T11:00:00.456Z'),
    deactivatedAt: new Date('2026-11-22T12:00:00.000Z'),
    deletedAt: null,
    erasedAt: null,
  } as unknown as User;
}

const declarations = [
  { name: 'badge', type: 'string', multiValued: false, description: 'Badge number' },
  { name: 'skills', type: 'string', multiValued: true, description: null },
  { name: 'remote', type: 'boolean', multiValued: false, description: null },
] as unknown as CustomAttribute[];

describe('toScimUser and the default projection', () => {
  // users.ts sends a representation for the default request as toScimUser wrote it, without the projector's
  // copy: it must write nothing that projector would drop.
  it('writes nothing the default projection drops, for a user with every attribute set', () => {
    const us = userSchemasOf('acme', declarations);
    const u = everyPropertySet();
    const rel = relationsOfRows([
      {
        id: u.id,
        team_id: u.teamId,
        _team_name: 'Engineering',
        manager_id: u.managerId,
        _manager_name: 'Grace Hopper',
        _roles: [['0196a000-0000-7000-8000-0000000000r1', 'Admins']],
      },
    ]);
    const rep = toScimUser(u, rel, {
      baseUrl: 'https://acme.roster.example/scim/v2',
      customUrn: us.customUrn,
      customDecls: us.customDecls,
    });
    // every part of the representation is there, so that the comparison covers it
    expect(Object.keys(rep)).toEqual(
      expect.arrayContaining(['name', 'emails', 'phoneNumbers', 'addresses', 'groups', 'roles', 'meta', us.customUrn]),
    );
    const project = compileProjection({}, us.schemas);
    expect(JSON.stringify(project(rep))).toBe(JSON.stringify(rep));
    // … and the projection compared with is one that drops what the default leaves out
    expect(project({ ...rep, password: 'secret' })).not.toHaveProperty('password');
  });
});
