import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { toGlobalId } from '../src/graphql/ids.js';
import { CORE_GROUP, DEPARTMENTS, ENTERPRISE_USER, PATCH_OP, managerIndex, person, scimUserBody } from './lib/data.js';
import { Client } from './lib/http.js';
import { PgProxy, type Statement } from './lib/pgproxy.js';
import { log, NO_BACKGROUND_WORKERS, startRoster } from './lib/proc.js';
import type { Env } from './lib/setup.js';
import { median, round } from './lib/stats.js';

export interface KindProfile {
  kind: string;
  samples: number;
  statements: number;
  roundTrips: number;
  dbMs: number;
  httpMs: number;
  /** The statements of the last sample, in order, with the time of their round trip. */
  trace: Array<{ sql: string; ms: number }>;
}

export interface ProfileResult {
  kinds: KindProfile[];
  explains: Array<{ kind: string; sql: string; params: Array<string | null>; plan: string }>;
}

const SAMPLES = 8;
const oneLine = (sql: string) => sql.replace(/\s+/g, ' ').trim();
/** A statement without its literals: one EXPLAIN per shape. */
const shape = (sql: string) =>
  oneLine(sql)
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/\b\d+\b/g, '?');

/**
 * Statement and round-trip counts per request, from the wire: a second Roster process (same database,
 * same data) connects through a counting proxy (lib/pgproxy.ts); each request kind is sent one at a
 * time, SAMPLES times after a warm-up, and the proxy's capture is taken after each. Then the slowest
 * statements of each kind are EXPLAINed (ANALYZE, BUFFERS) with the parameters they were sent with,
 * inside a transaction that is rolled back.
 */
export async function profileRequests(ctx: {
  env: Env;
  N: number;
  ids: string[];
  groupId: string | null;
  logDir: string;
}): Promise<ProfileResult> {
  const { env, N, ids } = ctx;
  const target = new URL(env.dbUrl);
  const proxy = new PgProxy(Number(target.port || 5432));
  const proxyPort = await proxy.start();
  const viaProxy = new URL(env.dbUrl);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxyPort);
  const server = await startRoster('profile-roster', { kind: 'url', url: viaProxy.toString() }, ctx.logDir, NO_BACKGROUND_WORKERS);
  const scim = new Client(server.port, env.tenant.scimToken);
  const gql = new Client(server.port, env.tenant.apiKey);
  const slug = env.tenant.tenant.slug;
  const result: ProfileResult = { kinds: [], explains: [] };
  try {
    const group = await scim.scim('POST', '/Groups', { schemas: [CORE_GROUP], displayName: 'Profile group (bench)' });
    const groupId = (JSON.parse(group.body) as { id: string }).id;
    const added: string[] = [];
    const ok = (status: number, ...expected: number[]) => expected.includes(status);
    const kinds: Array<{ kind: string; run: (k: number) => Promise<boolean> }> = [
      {
        kind: 'SCIM POST /Users (department, manager, custom attributes)',
        run: async (k) => {
          const i = N + 10 + k;
          const m = managerIndex(i);
          return ok(
            (await scim.scim('POST', '/Users', scimUserBody(person(i), { id: ids[m], externalId: person(m).externalId }, slug))).status,
            201,
          );
        },
      },
      {
        kind: 'SCIM GET /Users?filter=userName eq (hit)',
        run: async (k) =>
          ok(
            (await scim.scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${person((k * 7919) % N).userName}"`)}`)).status,
            200,
          ),
      },
      {
        kind: 'SCIM GET /Users?filter=userName eq (miss)',
        run: async (k) =>
          ok((await scim.scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "nobody.p${k}@bench-corp.example"`)}`)).status, 200),
      },
      {
        kind: 'SCIM GET /Users?startIndex=1&count=100',
        run: async () => ok((await scim.scim('GET', '/Users?startIndex=1&count=100')).status, 200),
      },
      {
        kind: `SCIM GET /Users?startIndex=${N - 99}&count=100 (last page)`,
        run: async () => ok((await scim.scim('GET', `/Users?startIndex=${N - 99}&count=100`)).status, 200),
      },
      {
        kind: 'SCIM PATCH /Users/{id} replace title + department',
        run: async (k) =>
          ok(
            (
              await scim.scim('PATCH', `/Users/${ids[N - 1 - k]}`, {
                schemas: [PATCH_OP],
                Operations: [
                  { op: 'Replace', path: 'title', value: `Profiled ${k}` },
                  { op: 'Replace', path: `${ENTERPRISE_USER}:department`, value: DEPARTMENTS[(k * 3) % DEPARTMENTS.length] },
                ],
              })
            ).status,
            204,
            200,
          ),
      },
      {
        kind: 'SCIM PATCH /Users/{id} active "False"',
        run: async (k) =>
          ok(
            (
              await scim.scim('PATCH', `/Users/${ids[9 + k]}`, {
                schemas: [PATCH_OP],
                Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
              })
            ).status,
            204,
            200,
          ),
      },
      {
        kind: 'SCIM PATCH /Groups/{id} Add 100 members',
        run: async (k) => {
          const batch = ids.slice(100 + k * 100, 200 + k * 100);
          added.push(...batch);
          const r = await scim.scim('PATCH', `/Groups/${groupId}`, {
            schemas: [PATCH_OP],
            Operations: [{ op: 'Add', path: 'members', value: batch.map((value) => ({ value })) }],
          });
          return ok(r.status, 204, 200);
        },
      },
      {
        kind: 'SCIM PATCH /Groups/{id} remove members[value eq …]',
        run: async (k) =>
          ok(
            (
              await scim.scim('PATCH', `/Groups/${groupId}`, {
                schemas: [PATCH_OP],
                Operations: [{ op: 'remove', path: `members[value eq "${added[k]}"]` }],
              })
            ).status,
            204,
            200,
          ),
      },
      {
        kind: 'GraphQL subtree(maxDepth: 8, first: 100) of a VP',
        run: async () => {
          const r = await gql.graphql(
            `query($id: ID!) { user(id: $id) { subtree(maxDepth: 8, first: 100) { totalCount edges { depth node { id userName } } } } }`,
            { id: toGlobalId('User', ids[1]) },
          );
          return r.status === 200 && !r.body.includes('"errors"');
        },
      },
      {
        kind: 'GraphQL users(first: 100) { userName manager team }',
        run: async () => {
          const r = await gql.graphql(`{ users(first: 100) { nodes { userName manager { userName } team { name } } } }`);
          return r.status === 200 && !r.body.includes('"errors"');
        },
      },
    ];
    for (const { kind, run } of kinds) {
      let sample = 0;
      await run(sample++); // warm-up: connections, plans
      proxy.take();
      const stmts: number[] = [];
      const rts: number[] = [];
      const db: number[] = [];
      const http: number[] = [];
      let last: Statement[] = [];
      for (let s = 0; s < SAMPLES; s++) {
        const t = performance.now();
        const good = await run(sample++);
        const ms = performance.now() - t;
        const cap = proxy.take();
        if (!good) log(`profile: ${kind}: unexpected answer`);
        stmts.push(cap.statements.length);
        rts.push(cap.roundTrips);
        db.push(cap.dbMs);
        http.push(ms);
        last = cap.statements;
      }
      const kp: KindProfile = {
        kind,
        samples: SAMPLES,
        statements: median(stmts),
        roundTrips: median(rts),
        dbMs: round(median(db)),
        httpMs: round(median(http)),
        trace: last.map((s) => ({ sql: oneLine(s.sql).slice(0, 400), ms: round(s.ms, 3) })),
      };
      result.kinds.push(kp);
      process.stdout.write(
        `${JSON.stringify({ profile: kind, N, statements: kp.statements, roundTrips: kp.roundTrips, dbMs: kp.dbMs, httpMs: kp.httpMs })}\n`,
      );
      // The directory's own statements (users, teams, roles, memberships), each shape once: literals
      // differ from request to request, the plan shape is what matters. Not the door, set_config, audit rows.
      const seen = new Set(result.explains.map((e) => shape(e.sql)));
      const hot = last.filter(
        (s) =>
          /^\s*(select|with|insert|update|delete)\b/i.test(s.sql) &&
          /\b(users|teams|roles|role_members)\b/.test(s.sql) &&
          !/roster_(door|authenticate)|set_config|audit_events|webhook_events/.test(s.sql) &&
          s.params.every((p) => p === null || !p.startsWith('<binary')),
      );
      for (const s of hot) {
        if (seen.has(shape(s.sql))) continue;
        seen.add(shape(s.sql));
        result.explains.push({
          kind,
          sql: oneLine(s.sql),
          params: s.params.map((p) => (p && p.length > 200 ? `${p.slice(0, 200)}…` : p)),
          plan: await explain(env.dbUrl, env.tenant.tenant.id, s),
        });
      }
    }
  } finally {
    await server.stop();
    await proxy.close();
  }
  return result;
}

const literal = (v: string | null) => (v === null ? 'NULL' : `'${v.replace(/'/g, "''")}'`);

async function explain(url: string, tenantId: string, s: Statement): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('begin');
    await client.query(`select set_config('roster.tenant_id', $1, true)`, [tenantId]);
    let rows: Array<Record<string, string>>;
    if (s.params.length === 0) rows = (await client.query(`explain (analyze, buffers) ${s.sql}`)).rows;
    else {
      await client.query(`prepare bench_explain as ${s.sql}`);
      rows = (await client.query(`explain (analyze, buffers) execute bench_explain(${s.params.map(literal).join(', ')})`)).rows;
    }
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  } catch (err) {
    return `EXPLAIN failed: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    await client.query('rollback').catch(() => {});
    await client.end();
  }
}
