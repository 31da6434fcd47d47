import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { toGlobalId } from '../src/graphql/ids.js';
import { CORE_GROUP, DEPARTMENTS, ENTERPRISE_USER, PATCH_OP, managerIndex, person, scimUserBody } from './lib/data.js';
import { bulkLoadUsers, dropB1Schema, prepareB1Table, tenantPool, vacuumAnalyze } from './lib/db.js';
import { expectStatus, request } from './lib/http.js';
import { line, postgresCpuMs, runLoad, RssMonitor, type LoadResult, type ScenarioLine } from './lib/load.js';
import type { Options } from './lib/options.js';
import { log, startBaseline, type ServerProcess } from './lib/proc.js';
import { setUp, type Env } from './lib/setup.js';
import { median, percentile, rng, round, shuffle } from './lib/stats.js';
import { profileRequests, type ProfileResult } from './profile.js';

export interface SizeResult {
  N: number;
  lines: ScenarioLine[];
  metrics: Record<string, number>;
  peakRssMb: number;
  notes: string[];
  /** Per-request latencies of the sequential scenarios (ms), for docs/performance.md. */
  series: Record<string, unknown[]>;
  profile?: ProfileResult;
}

const json = <T>(body: string): T => JSON.parse(body) as T;

/**
 * The raw SQL of the users connection page the GraphQL scenario asks for (same rows, same order: by name,
 * then id), written as one would by hand on the same schema: the stored name key `sort_name` and its index.
 */
const RAW_USERS_PAGE = `
  select u.id, u.user_name, m.user_name as manager_user_name, t.name as team_name
    from users u
    left join users m on m.tenant_id = u.tenant_id and m.id = u.manager_id and m.deleted_at is null
    left join teams t on t.tenant_id = u.tenant_id and t.id = u.team_id
   where u.tenant_id = $1 and u.deleted_at is null
   order by u.sort_name, u.id
   limit 101`;

/** B4: the raw recursive CTE for a subtree: first page of 100 by (depth, id), with the total and each person's userName. */
const RAW_SUBTREE = `
  with recursive sub(id, depth) as (
      select u.id, 1 from users u where u.tenant_id = $1 and u.manager_id = $2 and u.deleted_at is null
    union all
      select u.id, s.depth + 1 from users u join sub s on u.manager_id = s.id
       where u.tenant_id = $1 and u.deleted_at is null and s.depth < $3),
  counted as (select id, depth, count(*) over () as total from sub),
  page as (select * from counted order by depth, id limit 101)
  select page.id, page.depth, page.total, u.user_name from page join users u on u.tenant_id = $1 and u.id = page.id order by page.depth, page.id`;

const B3_PAGE = `select * from users where tenant_id = $1 and deleted_at is null and id > $2 order by id limit 100`;

/** Runs every scenario at one size on a fresh database; prints one JSON line per scenario through `emit`. */
export async function runSize(
  opts: Options,
  N: number,
  withProfile: boolean,
  logDir: string,
  emit: (l: ScenarioLine) => void,
): Promise<SizeResult> {
  const C = opts.concurrency;
  const want = (s: string) => opts.scenarios.has(s);
  const result: SizeResult = { N, lines: [], metrics: {}, peakRssMb: 0, notes: [], series: {} };
  const out = (l: ScenarioLine) => {
    result.lines.push(l);
    emit(l);
  };
  const env: Env = await setUp(`N=${N}`, logDir, opts.keep);
  const tenantId = env.tenant.tenant.id;
  const slug = env.tenant.tenant.slug;
  const rss = new RssMonitor(env.server.pid, 200, env.server.port);
  // The embedded PostgreSQL's postmaster, whose CPU (and its backends') is read around each scenario.
  const postmaster =
    env.db.kind === 'embedded' ? Number(readFileSync(path.join(env.db.dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]) : null;
  let baseline: ServerProcess | null = null;
  let baseRss: RssMonitor | null = null;
  let rawPool: pg.Pool | null = null;
  try {
    result.metrics.rss_idle_mb = round(rss.readMb(), 1);
    const M = Math.min(opts.createCount, Math.floor(N / 4));
    const W = Math.min(100, Math.floor(N / 20));
    const bulkTo = N - M - W;
    const ids: string[] = new Array<string>(N);

    log(`N=${N}: loading ${bulkTo} users with SQL (data loading, not measured)`);
    const t0 = performance.now();
    await bulkLoadUsers(env.pool, tenantId, 0, bulkTo, env.teams, ids, (done) => {
      if (done % 25_000 === 0 || done === bulkTo) log(`N=${N}:   ${done}/${bulkTo} loaded`);
    });
    await vacuumAnalyze(env.pool, ['users', 'teams']);
    log(`N=${N}: loaded in ${round((performance.now() - t0) / 1000, 1)} s; starting the baseline server`);
    result.notes.push(
      `Roster RSS ${result.metrics.rss_idle_mb} MB idle after start; ${bulkTo} users bulk-loaded by SQL in ${round((performance.now() - t0) / 1000, 1)} s (not measured)`,
    );
    baseline = await startBaseline(env.dbUrl, tenantId, logDir);
    baseRss = new RssMonitor(baseline.pid);
    await prepareB1Table(env.pool, tenantId);
    rawPool = tenantPool(env.dbUrl, tenantId, C);

    // ----- the unit tasks -----
    const managerOf = (i: number) => {
      const m = managerIndex(i);
      if (m < 0) return null;
      const mp = person(m);
      return { id: ids[m] ?? mp.externalId, externalId: mp.externalId };
    };
    const createTask = async (i: number) => {
      const res = expectStatus(await env.scim.scim('POST', '/Users', scimUserBody(person(i), managerOf(i), slug)), 201);
      ids[i] = json<{ id: string }>(res.body).id;
      return true;
    };
    const b1Task = async (i: number, prefix: string) => {
      const p = person(i);
      const m = managerIndex(i);
      const body = {
        userName: `${prefix}${p.userName}`,
        externalId: `${prefix}${p.externalId}`,
        name: { givenName: p.givenName, familyName: p.familyName, formatted: p.displayName },
        displayName: p.displayName,
        title: p.title,
        locale: 'en-US',
        active: true,
        emails: [{ primary: true, type: 'work', value: p.userName }],
        phoneNumbers: [{ type: 'work', value: p.phone }],
        employeeNumber: p.employeeNumber,
        costCenter: p.costCenter,
        teamId: env.teams.get(p.department.toLowerCase()) ?? null,
        managerId: m >= 0 ? (ids[m] ?? null) : null,
        custom: p.custom,
      };
      const res = expectStatus(
        await request(baseline!.port, 'POST', '/b1/users', { 'content-type': 'application/json' }, JSON.stringify(body)),
        201,
      );
      return typeof json<{ id: string }>(res.body).id === 'string';
    };
    const random = rng(N);
    const lookupKeys = Array.from({ length: opts.requests }, (_, k) => {
      const hit = random() < 0.75;
      return hit ? { userName: person(Math.floor(random() * N)).userName, hit } : { userName: `nobody.${k}@bench-corp.example`, hit };
    });
    const lookupTask = async (k: number) => {
      const { userName, hit } = lookupKeys[k % lookupKeys.length];
      const filter = encodeURIComponent(`userName eq "${userName}"`);
      // Okta adds startIndex/count to its lookup; Entra does not.
      const res = expectStatus(
        await env.scim.scim('GET', k % 2 === 0 ? `/Users?filter=${filter}&startIndex=1&count=100` : `/Users?filter=${filter}`),
        200,
      );
      return json<{ totalResults: number }>(res.body).totalResults === (hit ? 1 : 0);
    };
    const b2Task = async (k: number) => {
      const { userName, hit } = lookupKeys[k % lookupKeys.length];
      const res = expectStatus(await request(baseline!.port, 'GET', `/b2/users?userName=${encodeURIComponent(userName)}`), 200);
      return json<{ totalResults: number }>(res.body).totalResults === (hit ? 1 : 0);
    };
    const load = (
      count: number,
      task: (i: number) => Promise<boolean>,
      concurrency = C,
      maxMs = opts.maxSeconds * 1000,
      after?: (i: number) => Promise<void>,
    ) => {
      // CPU time the server processes spent during the load (utime + stime from /proc), per request below.
      const before = [rss.cpuMs(), baseRss?.cpuMs() ?? NaN, postgresCpuMs(postmaster)];
      return runLoad({ concurrency, count, maxMs, task, after }).then((r) => {
        cpuSpent.set(r, [rss.cpuMs() - before[0], (baseRss?.cpuMs() ?? NaN) - before[1], postgresCpuMs(postmaster) - before[2]]);
        return r;
      });
    };
    const cpuSpent = new WeakMap<LoadResult, number[]>();
    const record = (name: string, r: LoadResult, monitor: RssMonitor | null, extra: Record<string, unknown> = {}) => {
      const heap = monitor === rss ? rss.heapWindow() : NaN;
      const cpu = cpuSpent.get(r)?.[monitor === rss ? 0 : 1];
      const more: Record<string, unknown> = Number.isFinite(heap) ? { ...extra, heapUsedMb: heap } : { ...extra };
      if (monitor && cpu !== undefined && Number.isFinite(cpu) && r.requests > 0) more.serverCpuMsPerRequest = round(cpu / r.requests, 2);
      const pgCpu = cpuSpent.get(r)?.[2];
      if (pgCpu !== undefined && Number.isFinite(pgCpu) && r.requests > 0) more.postgresCpuMsPerRequest = round(pgCpu / r.requests, 2);
      const l = line(
        name,
        N,
        extra.concurrency !== undefined ? (extra.concurrency as number) : C,
        r,
        monitor ? monitor.window() : NaN,
        more,
      );
      out(l);
      return l;
    };

    // ----- warm-up (JIT, pools, plan caches); not measured -----
    log(`N=${N}: warm-up`);
    await load(W, (k) => createTask(bulkTo + k));
    await load(Math.min(100, opts.requests), (k) => b1Task(bulkTo + k, 'b1w.'));
    await load(200, lookupTask);
    await load(200, b2Task);
    // Import pages as many as the lookups' warm-up has requests, in order through the users loaded so far (an
    // import of its own, started over at the end). Five pages left the JIT cold: the measured import's first
    // pages then cost about twice the later ones, and at 10,000 users (100 pages) that was most of the import.
    for (let p = 0, start = 1; p < 200; p++) {
      const res = await env.scim.scim('GET', `/Users?startIndex=${start}&count=100`);
      expectStatus(res, 200);
      const page = json<{ totalResults: number; itemsPerPage: number }>(res.body);
      start = start + page.itemsPerPage > page.totalResults ? 1 : start + page.itemsPerPage;
    }
    rss.window();
    rss.heapWindow();
    baseRss.window();

    // ----- 1. creates (and B1) -----
    const createFrom = bulkTo + W;
    if (want('1')) {
      log(`N=${N}: B1 and scenario 1 (creates), ${M} requests each`);
      const b1 = await load(M, (k) => b1Task(createFrom + k, 'b1.'));
      record('B1-bare-insert', b1, baseRss);
      result.metrics.b1_tput = b1.throughput;
      const s1 = await load(M, (k) => createTask(createFrom + k));
      record('1-scim-create-user', s1, rss, { withManager: true, departments: DEPARTMENTS.length, customAttributes: 3 });
      result.metrics.s1_tput = s1.throughput;
    }
    // Anyone not created yet (a scenario skipped, or a bounded run stopped early) is bulk-loaded, so the
    // other scenarios always see N users.
    let missing = 0;
    for (let i = 0; i < N; i++) if (!ids[i]) missing++;
    if (missing > 0) {
      for (let i = createFrom; i < N; i++) {
        if (ids[i]) continue;
        let j = i;
        while (j < N && !ids[j]) j++;
        await bulkLoadUsers(env.pool, tenantId, i, j, env.teams, ids, () => {});
        i = j;
      }
      result.notes.push(`${missing} users not created by scenario 1 were bulk-loaded so that N = ${N}`);
    }
    const count = await env.pool.query<{ n: string }>(`select count(*) as n from users where tenant_id = $1 and deleted_at is null`, [
      tenantId,
    ]);
    if (Number(count.rows[0].n) !== N) result.notes.push(`expected ${N} users, found ${count.rows[0].n}`);

    // ----- 2. lookups (and B2) -----
    if (want('2')) {
      log(`N=${N}: B2 and scenario 2 (userName lookups, 75 % hits), ${opts.requests} requests each`);
      const b2 = await load(opts.requests, b2Task);
      record('B2-bare-lookup', b2, baseRss);
      result.metrics.b2_tput = b2.throughput;
      const s2 = await load(opts.requests, lookupTask);
      record('2-scim-lookup-userName', s2, rss, { hitRatio: 0.75 });
      result.metrics.s2_tput = s2.throughput;
    }

    // ----- 3. full import (and B3) -----
    if (want('3')) {
      log(`N=${N}: B3 (raw keyset pages) and scenario 3 (full import, startIndex/count=100)`);
      const maxPages = Math.ceil(N / 100) + 5;
      const pool = rawPool;
      /** B3 once: every page of the tenant by raw keyset pages on one connection. */
      const rawPages = async () => {
        const lat: number[] = [];
        let rows = 0;
        const client = await pool.connect();
        const start = performance.now();
        try {
          let after = '00000000-0000-0000-0000-000000000000';
          for (let p = 0; p < maxPages && performance.now() - start < opts.longMaxSeconds * 1000; p++) {
            const t = performance.now();
            const q = await client.query<{ id: string }>({ name: 'b3_page', text: B3_PAGE, values: [tenantId, after] });
            lat.push(performance.now() - t);
            rows += q.rows.length;
            if (q.rows.length < 100) break;
            after = q.rows[q.rows.length - 1].id;
          }
        } finally {
          client.release();
        }
        return { lat, rows, totalMs: performance.now() - start };
      };
      // B3 before and after the import, which is measured between them: their mean cancels the machine's speed
      // drifting while the import runs (at 100,000 users, round 9's run A: 1.38 s before, 2.01 s after).
      const b3before = await rawPages();
      const lat: number[] = [];
      let rows = 0;
      let errors = 0;
      let total = Infinity;
      const s3start = performance.now();
      const s3cpu = [rss.cpuMs(), postgresCpuMs(postmaster)];
      for (let start = 1, p = 0; start <= total && p < maxPages; p++) {
        if (performance.now() - s3start > opts.longMaxSeconds * 1000) {
          errors++;
          result.notes.push(`import stopped by its time bound after ${p} pages`);
          break;
        }
        const t = performance.now();
        const res = await env.scim.scim('GET', `/Users?startIndex=${start}&count=100`);
        lat.push(performance.now() - t);
        if (res.status !== 200) {
          errors++;
          break;
        }
        const body = json<{ totalResults: number; itemsPerPage: number; Resources: unknown[] }>(res.body);
        total = body.totalResults;
        rows += body.Resources.length;
        if (body.itemsPerPage === 0) break;
        start += body.itemsPerPage;
        if (p % 100 === 99) log(`N=${N}:   import page ${p + 1}, ${rows}/${total} rows`);
      }
      const s3total = performance.now() - s3start;
      if (rows !== N) errors++;
      const s3 = pagesResult(lat, s3total, errors);
      cpuSpent.set(s3, [rss.cpuMs() - s3cpu[0], NaN, postgresCpuMs(postmaster) - s3cpu[1]]);
      const first = median(lat.slice(0, 10));
      const last = median(lat.slice(-10));
      result.series.importPageMs = lat.map((v) => round(v, 1));
      record('3-scim-full-import', s3, rss, {
        concurrency: 1,
        pages: lat.length,
        rows,
        totalMs: round(s3total),
        first10PagesP50: round(first),
        last10PagesP50: round(last),
      });
      Object.assign(result.metrics, { s3_total_ms: s3total, s3_first_p50: first, s3_last_p50: last, s3_pages_per_s: s3.throughput });

      const b3after = await rawPages();
      const b3total = (b3before.totalMs + b3after.totalMs) / 2;
      const b3errors = b3before.rows === N && b3after.rows === N ? 0 : 1;
      const b3 = pagesResult([...b3before.lat, ...b3after.lat], b3before.totalMs + b3after.totalMs, b3errors);
      record('B3-raw-keyset-pages', b3, null, {
        concurrency: 1,
        rows: b3before.rows,
        totalMs: round(b3total),
        totalMsBefore: round(b3before.totalMs),
        totalMsAfter: round(b3after.totalMs),
      });
      result.metrics.b3_total_ms = b3total;
      result.metrics.b3_pages_per_s = b3.throughput;
    }

    // ----- 4. Entra PATCH: replace title + department; deactivation -----
    const candidates = shuffle(ids.slice(1 + 8 + 64), rng(N + 4)); // never the CEO, VPs or directors
    if (want('4')) {
      const replaceIds = candidates.slice(0, opts.requests);
      const deactivateIds = candidates.slice(opts.requests, opts.requests + Math.ceil(opts.requests / 4));
      log(`N=${N}: scenario 4 (Entra PATCH replace ${replaceIds.length}, deactivate ${deactivateIds.length})`);
      const s4a = await load(replaceIds.length, async (k) => {
        const res = await env.scim.scim('PATCH', `/Users/${replaceIds[k]}`, {
          schemas: [PATCH_OP],
          Operations: [
            { op: 'Replace', path: 'title', value: `Principal Engineer ${k % 7}` },
            { op: 'Replace', path: `${ENTERPRISE_USER}:department`, value: DEPARTMENTS[(k * 7) % DEPARTMENTS.length] },
          ],
        });
        expectStatus(res, 204, 200);
        return true;
      });
      record('4a-scim-patch-replace', s4a, rss);
      const s4b = await load(deactivateIds.length, async (k) => {
        expectStatus(
          await env.scim.scim('PATCH', `/Users/${deactivateIds[k]}`, {
            schemas: [PATCH_OP],
            Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
          }),
          204,
          200,
        );
        return true;
      });
      record('4b-scim-patch-deactivate', s4b, rss);
      Object.assign(result.metrics, { s4_replace_tput: s4a.throughput, s4_deactivate_tput: s4b.throughput });
    }

    // ----- 5. group push -----
    let groupId: string | null = null;
    if (want('5')) {
      const target = Math.min(opts.groupSize, N);
      const members = shuffle(ids, rng(N + 5)).slice(0, target);
      const res = await env.scim.scim('POST', '/Groups', { schemas: [CORE_GROUP], displayName: 'All Hands (bench)', members: [] });
      if (res.status !== 201) throw new Error(`POST /Groups: ${res.status} ${res.body}`);
      groupId = json<{ id: string }>(res.body).id;
      const batches = Math.ceil(target / 100);
      // Machine load drifts over a long sequential run, so besides first-vs-last batches, every 5th batch is
      // paired with a probe sent right after it: 100 members added to a fresh group (0 → 100 members), the
      // "~100 members" case measured at the same moment as the large group's batch.
      const probeEvery = 5;
      const probeGroups: string[] = [];
      for (let p = 0; p < Math.ceil(batches / probeEvery); p++) {
        const g = await env.scim.scim('POST', '/Groups', { schemas: [CORE_GROUP], displayName: `Probe ${p} (bench)` });
        probeGroups.push(json<{ id: string }>(expectStatus(g, 201).body).id);
      }
      log(
        `N=${N}: scenario 5 (group push to ${target} members: ${batches} PATCHes of 100, one after another, with ${probeGroups.length} probes)`,
      );
      const addBatch = async (group: string, value: Array<{ $ref: null; value: string }>) =>
        expectStatus(
          await env.scim.scim('PATCH', `/Groups/${group}`, { schemas: [PATCH_OP], Operations: [{ op: 'Add', path: 'members', value }] }),
          204,
          200,
        );
      const probeLat: Array<{ batch: number; ms: number }> = [];
      let probeErrors = 0;
      const grow = await load(
        batches,
        async (b) => {
          await addBatch(
            groupId as string,
            members.slice(b * 100, b * 100 + 100).map((id) => ({ $ref: null, value: id })),
          );
          if ((b + 1) % 100 === 0) log(`N=${N}:   ${(b + 1) * 100} members`);
          return true;
        },
        1,
        opts.longMaxSeconds * 1000,
        async (b) => {
          if (b % probeEvery !== 0) return;
          const t = performance.now();
          try {
            await addBatch(
              probeGroups[b / probeEvery],
              members
                .slice(((b / probeEvery) * 100) % target, (((b / probeEvery) * 100) % target) + 100)
                .map((id) => ({ $ref: null, value: id })),
            );
            probeLat.push({ batch: b, ms: performance.now() - t });
          } catch {
            probeErrors++;
          }
        },
      );
      grow.errors += probeErrors;
      const lat = Array.from(grow.latencies).filter((v) => !Number.isNaN(v));
      const small = median(lat.slice(0, 10));
      const large = median(lat.slice(-10));
      // The last tenth of the run: the large group's batches vs the probes sent in between them.
      const window = Math.max(10, Math.floor(lat.length / 10));
      const lateBatches = median(lat.slice(-window));
      const lateProbes = median(probeLat.filter((p) => p.batch >= lat.length - window).map((p) => p.ms));
      const check = await env.pool.query<{ n: string }>(`select count(*) as n from role_members where tenant_id = $1 and role_id = $2`, [
        tenantId,
        groupId,
      ]);
      const memberCount = Number(check.rows[0].n);
      if (memberCount !== Math.min(target, grow.requests * 100)) grow.errors++;
      record('5a-scim-group-push-add100', grow, rss, {
        concurrency: 1,
        members: memberCount,
        p50AtFirst10Batches: round(small),
        p50AtLast10Batches: round(large),
        p50LastTenthBatches: round(lateBatches),
        p50ProbesAt100InLastTenth: round(lateProbes),
        probes: probeLat.length,
      });
      result.series.groupBatchMs = lat.map((v) => round(v, 1));
      result.series.groupProbeMs = probeLat.map((p) => [p.batch, round(p.ms, 1)]);
      const removeIds = members.slice(0, Math.min(opts.removals, memberCount));
      log(`N=${N}: scenario 5 (${removeIds.length} removals by members[value eq "…"])`);
      const rm = await load(removeIds.length, async (k) => {
        const r = await env.scim.scim('PATCH', `/Groups/${groupId}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'remove', path: `members[value eq "${removeIds[k]}"]` }],
        });
        expectStatus(r, 204, 200);
        return true;
      });
      record('5b-scim-group-remove-member', rm, rss, { membersBefore: memberCount });
      Object.assign(result.metrics, {
        s5_p50_small: small,
        s5_p50_large: large,
        s5_p50_late_batches: lateBatches,
        s5_p50_late_probes: lateProbes,
        s5_members: memberCount,
        s5_add_tput: grow.throughput,
        s5_remove_tput: rm.throughput,
      });
    }

    // ----- 6. GraphQL: subtree (and B4), users page (and its raw SQL) -----
    if (want('6')) {
      const vp = ids[1];
      const subtreeSize = await env.pool.query<{ n: string }>(
        `with recursive sub(id, depth) as (select id, 1 from users where tenant_id = $1 and manager_id = $2 and deleted_at is null
           union all select u.id, s.depth + 1 from users u join sub s on u.manager_id = s.id where u.tenant_id = $1 and u.deleted_at is null and s.depth < 8)
         select count(*) as n from sub`,
        [tenantId, vp],
      );
      const size = Number(subtreeSize.rows[0].n);
      log(`N=${N}: B4 and scenario 6a (subtree of a VP: ${size} people), ${opts.graphqlRequests} requests each`);
      const b4 = await load(opts.graphqlRequests, async () => {
        const q = await rawPool!.query<{ total: string }>({ name: 'b4_subtree', text: RAW_SUBTREE, values: [tenantId, vp, 8] });
        return q.rows.length === Math.min(101, size) && Number(q.rows[0]?.total ?? 0) === size;
      });
      record('B4-raw-subtree-cte', b4, null, { subtreeSize: size });
      const subtreeQuery = `query($id: ID!) { user(id: $id) { subtree(maxDepth: 8, first: 100) { totalCount edges { depth node { id userName } } } } }`;
      const vpGlobal = toGlobalId('User', vp);
      const s6a = await load(opts.graphqlRequests, async () => {
        const r = expectStatus(await env.gql.graphql(subtreeQuery, { id: vpGlobal }), 200);
        const body = json<{ data?: { user: { subtree: { totalCount: number; edges: unknown[] } } }; errors?: unknown }>(r.body);
        return !body.errors && body.data?.user.subtree.totalCount === size && body.data.user.subtree.edges.length === Math.min(100, size);
      });
      record('6a-graphql-subtree', s6a, rss, { subtreeSize: size, maxDepth: 8, first: 100 });

      log(`N=${N}: raw SQL and scenario 6b (users(first: 100) with manager and team), ${opts.graphqlRequests} requests each`);
      const raw = await load(opts.graphqlRequests, async () => {
        const q = await rawPool!.query({ name: 'raw_users_page', text: RAW_USERS_PAGE, values: [tenantId] });
        return q.rows.length === 101;
      });
      record('B-raw-users-page-sql', raw, null);
      const pageQuery = `{ users(first: 100) { nodes { userName manager { userName } team { name } } } }`;
      const s6b = await load(opts.graphqlRequests, async () => {
        const r = expectStatus(await env.gql.graphql(pageQuery), 200);
        const body = json<{ data?: { users: { nodes: unknown[] } }; errors?: unknown }>(r.body);
        return !body.errors && body.data?.users.nodes.length === 100;
      });
      record('6b-graphql-users-page', s6b, rss, { first: 100 });
      Object.assign(result.metrics, {
        b4_p50: b4.p50,
        s6_subtree_p50: s6a.p50,
        raw_page_p50: raw.p50,
        raw_page_tput: raw.throughput,
        s6_page_p50: s6b.p50,
        s6_page_tput: s6b.throughput,
        s6_subtree_tput: s6a.throughput,
      });
    }

    // ----- 7. bulk -----
    if (want('7')) {
      const spc = await env.scim.scim('GET', '/ServiceProviderConfig');
      const bulk = json<{ bulk?: { supported?: boolean; maxOperations?: number; maxPayloadSize?: number } }>(spc.body).bulk;
      if (!bulk?.supported) {
        out({
          scenario: '7-scim-bulk',
          N,
          concurrency: C,
          requests: 0,
          throughput: NaN,
          p50: NaN,
          p95: NaN,
          p99: NaN,
          errors: 0,
          rssMb: rss.window(),
          skipped: true,
          note: 'skipped: /ServiceProviderConfig says bulk.supported = false (the bulk issue has not landed)',
        });
      } else {
        // New people after the profile's range; in each request a small org: operation j reports to
        // operation floor((j - 1) / 8) by "bulkId:" reference, the first to an existing manager by externalId.
        const perRequest = Math.max(1, Math.min(bulk.maxOperations ?? 100, 100));
        const first = N + 100;
        const requests = Math.ceil(opts.bulkUsers / perRequest);
        log(`N=${N}: scenario 7 (bulk: ${opts.bulkUsers} users in ${requests} POST /Bulk of ${perRequest} operations)`);
        let created = 0;
        const r7 = await load(
          requests,
          async (b) => {
            const ops = [];
            for (let j = 0; j < perRequest && b * perRequest + j < opts.bulkUsers; j++) {
              const i = first + b * perRequest + j;
              const body = scimUserBody(person(i), null, slug);
              const mgr = j === 0 ? person(managerIndex(i) % N).externalId : `bulkId:u${i - j + Math.floor((j - 1) / 8)}`;
              (body[ENTERPRISE_USER] as Record<string, unknown>).manager = mgr;
              ops.push({ method: 'POST', bulkId: `u${i}`, path: '/Users', data: body });
            }
            const res = expectStatus(
              await env.scim.scim('POST', '/Bulk', { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations: ops }),
              200,
            );
            const results = json<{ Operations: Array<{ status: string; response?: { detail?: string } }> }>(res.body).Operations;
            const okOps = results.filter((o) => o.status === '201').length;
            created += okOps;
            const bad = results.find((o) => o.status !== '201');
            if (bad)
              throw new Error(
                `${ops.length - okOps} of ${ops.length} operations failed, e.g. ${bad.status}: ${bad.response?.detail ?? ''}`,
              );
            return true;
          },
          C,
          opts.longMaxSeconds * 1000,
        );
        record('7-scim-bulk-create', r7, rss, {
          usersPerRequest: perRequest,
          usersCreated: created,
          usersPerSecond: round(created / (r7.elapsedMs / 1000), 1),
        });
        result.metrics.s7_users_per_s = created / (r7.elapsedMs / 1000);
      }
    }

    if (withProfile && opts.profile) {
      log(`N=${N}: profile (statements and round trips per request, EXPLAIN of the hot statements)`);
      result.profile = await profileRequests({ env, N, ids, groupId, logDir });
    }
    result.metrics.errors = result.lines.reduce((n, l) => n + (l.errors || 0), 0);
    result.peakRssMb = rss.peakMb;
    return result;
  } finally {
    rss.stop();
    baseRss?.stop();
    await rawPool?.end().catch(() => {});
    await baseline?.stop();
    await dropB1Schema(env.pool).catch(() => {});
    await env.cleanup();
  }
}

/** A sequential run of pages as a LoadResult (throughput in pages per second). */
function pagesResult(lat: number[], totalMs: number, errors: number): LoadResult {
  return {
    requests: lat.length,
    errors,
    elapsedMs: totalMs,
    throughput: lat.length / (totalMs / 1000),
    p50: percentile(lat, 50),
    p95: percentile(lat, 95),
    p99: percentile(lat, 99),
    latencies: Float64Array.from(lat),
    timedOut: false,
    errorSamples: [],
  };
}
