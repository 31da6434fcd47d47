import { UserSchema } from './user.entity.js';
import { UserView, userView } from './user.view.js';

describe('userView', () => {
  it('maps every persisted property from its snake_case column, timestamps from PostgreSQL text', () => {
    const row: Record<string, unknown> = {
      ...Object.fromEntries(Object.keys(UserSchema.meta.properties).map((p) => [p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), null])),
      id: 'u1',
      tenant_id: 't1',
      user_name: 'ada@x.test',
      given_name: 'Ada',
      phone_numbers: [{ value: '+1' }],
      custom: { badge: 7 },
      version: 3,
      created_at: '2026-11-22 10:00:00.123456+00',
      deactivated_at: null,
      sort_name: 'ignored: not a property',
    };
    const v = userView(row) as unknown as Record<string, unknown>;
    expect(v).toBeInstanceOf(UserView);
    expect(Object.keys(v).sort()).toEqual(Object.keys(UserSchema.meta.properties).sort());
    expect(v).toMatchObject({ id: 'u1', tenantId: 't1', userName: 'ada@x.test', givenName: 'Ada', version: 3, familyName: null });
    expect(v.phoneNumbers).toEqual([{ value: '+1' }]);
    expect(v.custom).toEqual({ badge: 7 });
    expect((v.createdAt as Date).toISOString()).toBe('2026-11-22T10:00:00.123Z');
    expect(v.deactivatedAt).toBeNull();
  });

  it('makes a view of the columns a projection read, and only those: the others are absent, not null', () => {
    const v = userView({ id: 'u1', user_name: 'ada@x.test', manager_id: null, updated_at: '2026-11-22 10:00:00+00' }) as unknown as Record<
      string,
      unknown
    >;
    expect(v).toBeInstanceOf(UserView);
    expect(Object.keys(v).sort()).toEqual(['id', 'managerId', 'updatedAt', 'userName']);
    expect(v.managerId).toBeNull();
    expect((v.updatedAt as Date).toISOString()).toBe('2026-11-22T10:00:00.000Z');
  });
});
