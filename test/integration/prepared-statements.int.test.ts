import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { MAX_PER_CONNECTION, PREPARED_MARK } from '../../src/infra/db/prepared.js';
import { createOrm } from '../../src/infra/orm/orm.js';
import { deferredWrite, numberPlaceholders, prepared } from '../../src/infra/orm/sql.js';
import { scimClient } from '../setup/scim-client.js';
import { measureSql } from '../setup/sql-counter.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { fetchListPage, listParams } from '../../src/scim/handlers/common.js';
import { userFilterSchema } from '../../src/scim/filter-schemas.js';
import { LIVE_USERS } from '../../src/modules/users/user.queries.js';
import { USER_RELATION_JOINS } from '../../src/scim/mappers/user.mapper.js';
import { Permission } from '../../src/kernel/scope.js';
import { tenantSql, tenantUuid } from './scim/helpers.js';

/**
 * Hot statements are planned once per connection, not once per request (infra/db/prepared.ts; issue 4,
 * docs/performance.md): on a real PostgreSQL, through the pool the service uses.
 */
let app: TestApp;
/** One connection, so that successive transactions share it (what a busy pool does for every connection). */
let orm: MikroORM;

beforeAll(async () => {
  app = await startTestApp();
  orm = await createOrm({ url: process.env.ROSTER_TEST_DATABASE_URL!, poolMax: 1 });
});
afterAll(async () => {
  await orm.close();
  await app.close();
});

const inTx = <T>(fn: (em: EntityManager) => Promise<T>) => orm.em.fork().transactional(fn);

interface Kept {
  statement: string;
  generic_plans: string;
  custom_plans: string;
}
const keptOn = (em: EntityManager) =>
  em.execute<Kept[]>(
    `select statement, generic_plans, custom_plans from pg_prepared_statements where statement like '/* roster:prepared */%'`,
  );

describe('prepared statements', () => {
  it('runs a statement once parsed per connection, and PostgreSQL plans it generically after its first runs', async () => {
    // an index lookup (pg_class by oid): the generic plan is the custom one, so PostgreSQL keeps it
    const sql = `select c.relname, c.relkind, ?::text as label from pg_class c where c.oid = ?::oid`;
    const oids = ['pg_class', 'pg_type', 'pg_proc', 'pg_attribute', 'pg_class', 'pg_index', 'pg_type', 'pg_namespace'];
    for (const [i, name] of oids.entries()) {
      const params = [
        `run ${i}`,
        (await inTx((em) => em.execute<Array<{ oid: number }>>(`select ?::regclass::oid as oid`, [name])))[0].oid,
      ];
      const rows = await inTx((em) => prepared<{ relname: string; label: string }>(em, sql, params));
      expect(rows).toEqual([{ relname: name, relkind: 'r', label: `run ${i}` }]);
      // the same rows the ORM's own execute answers
      expect(rows).toEqual(await inTx((em) => em.execute(sql, params)));
    }
    const kept = (await inTx(keptOn)).filter((k) => k.statement.includes('pg_class c'));
    expect(kept).toHaveLength(1);
    expect(kept[0].statement).toBe(`${PREPARED_MARK} ${numberPlaceholders(sql)}`);
    expect(Number(kept[0].custom_plans) + Number(kept[0].generic_plans)).toBe(8);
    // PostgreSQL's plan cache: custom plans for the first five runs, then the kept generic plan
    expect(Number(kept[0].generic_plans)).toBeGreaterThanOrEqual(3);
  });

  it('keeps the plan of an Okta import’s pages: the page size is in the text, so PostgreSQL’s generic plan is a page', async () => {
    const t = await app.createTenant();
    await tenantSql(
      t.id,
      `insert into users (id, tenant_id, user_name, created_at, updated_at)
       select uuidv7(), $1, 'import-' || lpad(g::text, 5, '0') || '@x.test', now(), now() from generate_series(1, 20000) g`,
      [tenantUuid(t.id)],
    );
    // a tenant the planner knows is large (the generic plan of `limit $n` then costs a tenth of it)
    await app.sql('analyze users');
    const tenantId = tenantUuid(t.id);
    const source = {
      table: 'users' as const,
      alias: 'u' as const,
      where: 'u.tenant_id = ? and u.deleted_at is null',
      filterSchema: userFilterSchema('urn:x', []),
      kept: { sql: LIVE_USERS, versioned: true },
      joined: USER_RELATION_JOINS,
    };
    const actor = { kind: 'system' as const, label: 'test', permissions: new Set([Permission.DIRECTORY_READ]) };
    const names: string[] = [];
    // page after page on one connection, as an import runs (its next page continues after the last id)
    for (let startIndex = 1; startIndex <= 30; startIndex += 3) {
      const page = await inTx(async (em) => {
        await em.execute(`select set_config('roster.tenant_id', ?, true)`, [tenantId]);
        return fetchListPage({ tenantId, actor, door: 'scim', em }, source, listParams({ startIndex, count: 3 }));
      });
      expect(page.totalResults).toBe(20000);
      names.push(...page.rows.map((r) => String(r.user_name)));
    }
    expect(new Set(names).size).toBe(30);
    const continued = (await inTx(keptOn)).filter((k) => /u\.id > \$/.test(k.statement) && k.statement.includes('limit 3'));
    expect(continued).toHaveLength(1);
    // nine continued pages: five custom plans, then PostgreSQL keeps the generic one (with `limit $n` it
    // never did: its generic estimate was a tenth of the table)
    expect(Number(continued[0].generic_plans)).toBeGreaterThanOrEqual(3);
  });

  it('forgets them all at the next checkout once the connection holds more than its bound', async () => {
    await inTx(async (em) => {
      for (let i = 0; i <= MAX_PER_CONNECTION; i++) await prepared(em, `select ?::int + ${i} as n`, [i]);
      expect((await keptOn(em)).length).toBeGreaterThan(MAX_PER_CONNECTION);
    });
    const after = await inTx(async (em) => {
      const [row] = await prepared<{ n: number }>(em, `select ?::int * 2 as n`, [21]);
      expect(row.n).toBe(42);
      return keptOn(em);
    });
    expect(after.map((k) => k.statement)).toEqual([`${PREPARED_MARK} select $1::int * 2 as n`]);
  });

  it('recovers when a kept plan no longer fits its table (a migration by another process)', async () => {
    await inTx((em) => em.execute(`create table if not exists prepared_probe (id int primary key)`));
    await inTx((em) => em.execute(`insert into prepared_probe values (1) on conflict do nothing`));
    const read = () => inTx((em) => prepared<Record<string, unknown>>(em, `select * from prepared_probe where id = ?::int`, [1]));
    try {
      expect(await read()).toEqual([{ id: 1 }]);
      await app.sql(`alter table prepared_probe add column note text default 'x'`);
      // PostgreSQL refuses the kept plan once: its result would have another shape
      await expect(read()).rejects.toMatchObject({ code: '0A000' });
      // the connection forgot its statements: the next checkout prepares it again
      expect(await read()).toEqual([{ id: 1, note: 'x' }]);
    } finally {
      await app.sql(`drop table if exists prepared_probe`);
    }
  });

  it('numbers placeholders outside literals, quoted names and comments', () => {
    expect(numberPlaceholders(`select ? , '?', "a?b", ?::int /* ? */ -- ?\n, ?`)).toBe(
      `select $1 , '?', "a?b", $2::int /* ? */ -- ?\n, $3`,
    );
    expect(numberPlaceholders(`select 'it''s ?', ?`)).toBe(`select 'it''s ?', $1`);
  });
});

describe('the service’s hot statements', () => {
  it('a SCIM lookup’s page and a created user’s relations go as prepared statements', async () => {
    const t = await app.createTenant();
    const scim = scimClient(app.baseUrl, t.scimToken);
    const m = await measureSql(app, async () => {
      const created = await scim.post('/Users', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: 'prepared@x.test',
      });
      expect(created.status).toBe(201);
      const found = await scim.get(`/Users?filter=${encodeURIComponent('userName eq "PREPARED@x.test"')}`);
      expect(found.body.totalResults).toBe(1);
    });
    const kept = m.sql.filter((s) => s.startsWith(PREPARED_MARK));
    expect(kept.some((s) => s.includes('user_name_lower = lower($'))).toBe(true);
    expect(kept.some((s) => s.includes('as _team_name'))).toBe(true);
  });
});

describe('a deferred write (deferredWrite)', () => {
  it('goes with the transaction’s next statement inside one, and at once outside, its values as literals', async () => {
    await app.sql(`create table if not exists deferred_probe (note text, data jsonb)`);
    try {
      const value = `it's a \\ test`;
      await deferredWrite(orm.em.fork(), `insert into deferred_probe (note, data) values (?, ?::jsonb)`, ['outside', { value }]);
      expect(await app.sql(`select note, data from deferred_probe`)).toEqual([{ note: 'outside', data: { value } }]);
      await inTx(async (em) => {
        await deferredWrite(em, `insert into deferred_probe (note, data) values (?, ?::jsonb)`, ['inside', null]);
        // another connection sees nothing before the commit; this transaction sees it, sent ahead of its read
        expect(await app.sql(`select note from deferred_probe where note = 'inside'`)).toEqual([]);
        expect(await em.execute(`select note from deferred_probe where note = 'inside'`)).toEqual([{ note: 'inside' }]);
      });
      expect(await app.sql(`select note from deferred_probe order by note`)).toEqual([{ note: 'inside' }, { note: 'outside' }]);
      await expect(
        inTx(async (em) => {
          await deferredWrite(em, `insert into deferred_probe (note) values (?)`, ['rolled back']);
          throw new Error('the request fails');
        }),
      ).rejects.toThrow('the request fails');
      expect(await app.sql(`select count(*)::int as n from deferred_probe`)).toEqual([{ n: 2 }]);
    } finally {
      await app.sql(`drop table if exists deferred_probe`);
    }
  });
});
