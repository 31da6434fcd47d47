import pg from 'pg';
import { startTestApp, type TestApp, type TestTenant } from '../setup/test-app.js';
import { scimClient } from '../setup/scim-client.js';
import { tenantSql, tenantUuid } from './scim/helpers.js';

/**
 * The kept count of a tenant's live users (migrations user_counts, user_count_shards): concurrent creates
 * of one tenant on different connections must not queue behind each other's counter row until commit.
 */
let app: TestApp;
let t: TestTenant;

beforeAll(async () => {
  app = await startTestApp();
  t = await app.createTenant();
});
afterAll(() => app.close());

async function connections(n: number): Promise<Array<{ client: pg.Client; pid: number }>> {
  const out: Array<{ client: pg.Client; pid: number }> = [];
  for (let i = 0; i < n; i++) {
    const client = new pg.Client({ connectionString: process.env.ROSTER_TEST_DATABASE_URL });
    await client.connect();
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
    out.push({ client, pid: rows[0].pid });
  }
  return out;
}

const insertUser = async (client: pg.Client, userName: string) => {
  await client.query('begin');
  await client.query(`select set_config('roster.tenant_id', $1, true), set_config('lock_timeout', '3000', true)`, [tenantUuid(t.id)]);
  await client.query(`insert into users (id, tenant_id, user_name, created_at, updated_at) values (uuidv7(), $1, $2, now(), now())`, [
    tenantUuid(t.id),
    userName,
  ]);
};

describe('the kept count of live users', () => {
  it('lets two creates on connections whose pids agree mod 8 proceed at once (they used to share a counter row)', async () => {
    const pool = await connections(24);
    try {
      // two backends that round 3's 8 shards put on one row, and the 64 shards do not
      const a = pool.find((x) => pool.some((y) => y !== x && y.pid % 8 === x.pid % 8 && y.pid % 64 !== x.pid % 64));
      const b = a && pool.find((y) => y !== a && y.pid % 8 === a.pid % 8 && y.pid % 64 !== a.pid % 64);
      if (!a || !b) throw new Error(`no two backends with the residues the test needs among pids ${pool.map((x) => x.pid).join(', ')}`);
      const live = () => tenantSql<{ n: string }>(t.id, `select coalesce(sum(live), 0)::text as n from user_counts`);
      const before = await live();
      await insertUser(a.client, 'count-a@x.test');
      // a holds its counter row until it commits: b must not wait for it (lock_timeout would fail it)
      const started = Date.now();
      await insertUser(b.client, 'count-b@x.test');
      expect(Date.now() - started).toBeLessThan(2000);
      await b.client.query('commit');
      await a.client.query('commit');
      const after = await live();
      expect(Number(after[0].n) - Number(before[0].n)).toBe(2);
      const listed = await scimClient(app.baseUrl, t.scimToken).get('/Users?count=0');
      expect(listed.body.totalResults).toBe(2);
    } finally {
      await Promise.all(pool.map((x) => x.client.end()));
    }
  });
});
