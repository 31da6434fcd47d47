import { performance } from 'node:perf_hooks';
import { managerIndex, person, scimUserBody } from './lib/data.js';
import { bulkLoadUsers, vacuumAnalyze } from './lib/db.js';
import { Client } from './lib/http.js';
import { line, runLoad, RssMonitor, type ScenarioLine } from './lib/load.js';
import type { Options } from './lib/options.js';
import { log, startRoster } from './lib/proc.js';
import { setUp } from './lib/setup.js';
import { rng, round } from './lib/stats.js';

export interface ScaleOutResult {
  N: number;
  pass: boolean;
  lines: ScenarioLine[];
  checks: Record<string, number | boolean>;
  pgVersion: string;
}

/**
 * Scaling out: two Roster processes on one PostgreSQL (the second with DATABASE_URL pointing at the
 * first's embedded database). Every new userName is POSTed to both processes at the same moment
 * (exactly one 201 and one 409 each is the expected answer), while lookups run against both; then the
 * database is checked for duplicate userNames and externalIds.
 */
export async function runTwoProcesses(opts: Options, logDir: string, emit: (l: ScenarioLine) => void): Promise<ScaleOutResult> {
  const N = opts.sizes[0];
  const C = opts.concurrency;
  const env = await setUp('two-processes', logDir, opts.keep);
  const tenantId = env.tenant.tenant.id;
  const slug = env.tenant.tenant.slug;
  const lines: ScenarioLine[] = [];
  const out = (l: ScenarioLine) => {
    lines.push(l);
    emit(l);
  };
  try {
    const ids: string[] = [];
    log(`two-processes: loading ${N} users with SQL (data loading, not measured)`);
    await bulkLoadUsers(env.pool, tenantId, 0, N, env.teams, ids, () => {});
    await vacuumAnalyze(env.pool, ['users', 'teams']);
    log('two-processes: starting the second Roster process with DATABASE_URL = the first one’s embedded PostgreSQL');
    const second = await startRoster('two-processes-roster-b', { kind: 'url', url: env.dbUrl }, logDir);
    const rssA = new RssMonitor(env.server.pid);
    const rssB = new RssMonitor(second.pid);
    try {
      const a = env.scim;
      const b = new Client(second.port, env.tenant.scimToken);
      const K = opts.createCount;
      const random = rng(7);
      const keys = Array.from({ length: opts.requests }, (_, k) =>
        random() < 0.75 ? { u: person(Math.floor(random() * N)).userName, hit: true } : { u: `nobody.${k}@bench-corp.example`, hit: false },
      );
      const lookup = async (k: number) => {
        const { u, hit } = keys[k];
        const res = await (k % 2 === 0 ? a : b).scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${u}"`)}`);
        return res.status === 200 && (JSON.parse(res.body) as { totalResults: number }).totalResults === (hit ? 1 : 0);
      };
      await runLoad({ concurrency: C, count: 200, maxMs: 60_000, task: lookup }); // warm-up
      let byA = 0;
      let byB = 0;
      let conflicts = 0;
      const create = async (k: number) => {
        const i = N + k;
        const m = managerIndex(i);
        const body = scimUserBody(person(i), { id: ids[m], externalId: person(m).externalId }, slug);
        const [ra, rb] = await Promise.all([a.scim('POST', '/Users', body), b.scim('POST', '/Users', body)]);
        if (ra.status === 201 && rb.status === 409) byA++;
        else if (ra.status === 409 && rb.status === 201) byB++;
        else return false;
        conflicts++;
        return true;
      };
      log(`two-processes: ${K} userNames POSTed to both processes at once, with ${opts.requests} lookups alongside, C = ${C} each`);
      rssA.window();
      rssB.window();
      const t0 = performance.now();
      const [creates, lookups] = await Promise.all([
        runLoad({ concurrency: C, count: K, maxMs: opts.maxSeconds * 1000, task: create }),
        runLoad({ concurrency: C, count: opts.requests, maxMs: opts.maxSeconds * 1000, task: lookup }),
      ]);
      const elapsed = performance.now() - t0;
      const rss = Math.max(rssA.window(), rssB.window());
      out(
        line('scaleout-create-same-userName-on-both', N, C, creates, rss, {
          processes: 2,
          createdByA: byA,
          createdByB: byB,
          answered409: conflicts,
          pairsPerSecond: round(creates.throughput, 1),
        }),
      );
      out(line('scaleout-lookups-on-both', N, C, lookups, rss, { processes: 2 }));
      const dupNames = await env.pool.query(
        `select lower(user_name) as k, count(*) from users where tenant_id = $1 and deleted_at is null group by lower(user_name) having count(*) > 1`,
        [tenantId],
      );
      const dupExt = await env.pool.query(
        `select external_id as k, count(*) from users where tenant_id = $1 and deleted_at is null and external_id is not null group by external_id having count(*) > 1`,
        [tenantId],
      );
      const total = Number(
        (await env.pool.query<{ n: string }>(`select count(*) as n from users where tenant_id = $1 and deleted_at is null`, [tenantId]))
          .rows[0].n,
      );
      const checks = {
        errors: creates.errors + lookups.errors,
        duplicateUserNames: dupNames.rowCount ?? 0,
        duplicateExternalIds: dupExt.rowCount ?? 0,
        usersExpected: N + creates.requests,
        usersFound: total,
        createdByA: byA,
        createdByB: byB,
        bothProcessesServed: byA > 0 && byB > 0,
        elapsedMs: round(elapsed),
      };
      const pass =
        checks.errors === 0 && checks.duplicateUserNames === 0 && checks.duplicateExternalIds === 0 && total === N + creates.requests;
      return { N, pass, lines, checks, pgVersion: env.pgVersion };
    } finally {
      rssA.stop();
      rssB.stop();
      await second.stop();
    }
  } finally {
    await env.cleanup();
  }
}
