import type { EntityManager } from '@mikro-orm/postgresql';
import pg from 'pg';
import { findOrCreateByName } from '../../src/infra/orm/find-or-create.js';
import { startTestApp, type TestApp, type TestTenant } from '../setup/test-app.js';
import { tenantUuid } from './scim/helpers.js';

/**
 * A team found or created by name, and what a create reads alongside it in the same statement (its manager):
 * on real PostgreSQL, including the race in which another transaction creates the same name first.
 */
let app: TestApp;
let t: TestTenant;

beforeAll(async () => {
  app = await startTestApp();
  t = await app.createTenant();
});
afterAll(() => app.close());

const alongside = { sql: `select json_build_object('answer', ?::int)`, params: [42] };

const inTenant = <T>(fn: (em: EntityManager) => Promise<T>) =>
  app.orm.em.fork().transactional(async (em) => {
    await em.execute(`select set_config('roster.tenant_id', ?, true)`, [tenantUuid(t.id)]);
    return fn(em);
  });

describe('findOrCreateByName with a sub-select alongside', () => {
  it('creates, then finds the stored name in any case, answering the sub-select both times', async () => {
    const created = await inTenant((em) => findOrCreateByName(em, 'teams', tenantUuid(t.id), 'Field Ops', { alongside }));
    expect(created).toMatchObject({ created: true, name: 'Field Ops', alongside: { answer: 42 } });
    const found = await inTenant((em) => findOrCreateByName(em, 'teams', tenantUuid(t.id), 'FIELD OPS', { alongside }));
    expect(found).toEqual({ id: created.id, created: false, name: 'Field Ops', alongside: { answer: 42 } });
  });

  it('when another transaction creates the name first, reads its row again and still answers the sub-select', async () => {
    const other = new pg.Client({ connectionString: process.env.ROSTER_TEST_DATABASE_URL });
    await other.connect();
    try {
      await other.query('begin');
      await other.query(`select set_config('roster.tenant_id', $1, true)`, [tenantUuid(t.id)]);
      const { rows } = await other.query<{ id: string }>(
        `insert into teams (id, tenant_id, name) values (uuidv7(), $1, 'Night Shift') returning id`,
        [tenantUuid(t.id)],
      );
      // ours waits on the unique index until the other commits, then does nothing and sees no row in its snapshot
      const ours = inTenant((em) => findOrCreateByName(em, 'teams', tenantUuid(t.id), 'night shift', { alongside }));
      await new Promise((r) => setTimeout(r, 200));
      await other.query('commit');
      expect(await ours).toEqual({ id: rows[0].id, created: false, name: 'Night Shift', alongside: { answer: 42 } });
    } finally {
      await other.end();
    }
  });
});
