// Bulk jobs survive the death of the process running them, resume, and never apply a line twice, also
// with several workers (in other processes, or on other ORM instances) running at once.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RosterClient, type BulkLine, toJsonLines } from '../../../client/src/index.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { clientFor, drainOtherJobs, eventually, jobUuid, startWorker, tenantSql } from './support.js';

(import.meta as unknown as { jest: { setTimeout(ms: number): void } }).jest.setTimeout(600_000);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

/** A whole Roster process (src/main.ts: HTTP and its bulk worker) on the test database. */
function rosterProcess(name: string, env: Record<string, string> = {}): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['--import', './scripts/register.js', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: process.env.ROSTER_TEST_DATABASE_URL as string,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ROSTER_MIGRATE_ON_START: 'false',
      ROSTER_BULK_BATCH_SIZE: '50',
      ROSTER_BULK_POLL_INTERVAL_MS: '50',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  child.on('exit', (code, signal) => (output += `\n[${name} exited: ${code ?? signal}]`));
  return { child, output: () => output };
}

async function progress(c: RosterClient, jobId: string) {
  const job = await c.bulkJob(jobId);
  if (!job) throw new Error('job not found');
  return job;
}

/** Per-line evidence that nothing ran twice: one creation audit entry per line, no line without one. */
async function auditPerLine(t: TestTenant, jobId: string) {
  const rows = await tenantSql<{ request_id: string; n: string }>(
    t.id,
    `select request_id, count(*) as n from audit_events where action = 'user.created' and request_id like $1 group by request_id`,
    [`bulk:${jobUuid(jobId)}:%`],
  );
  return { lines: rows.length, duplicated: rows.filter((r) => Number(r.n) !== 1).map((r) => r.request_id) };
}

describe('a 10,000-line job', () => {
  it('killed mid-way, stopped mid-way, and resumed: every line applied exactly once', async () => {
    const t = await app.createTenant();
    const c = clientFor(app, t);
    const N = 10_000;
    // Reports first, managers later (every 100th user manages the next 99): manager links rely on backfill.
    const lines = toJsonLines(
      Array.from({ length: N }, (_, i): BulkLine => ({
        op: 'upsertUser',
        user: {
          userName: `u${i}@resume.test`,
          externalId: `R${i}`,
          department: `Dept ${i % 20}`,
          manager: i % 100 === 99 ? null : `R${i - (i % 100) + 99}`,
        },
      })),
    );
    const { job } = await c.uploadBulkJob(lines, { clientKey: 'resume-10k' });
    expect(job).toMatchObject({ status: 'QUEUED', totalLines: N });

    // 1. A Roster process picks the job up and is killed (SIGKILL: no chance to finish its batch).
    const first = rosterProcess('first');
    await eventually(async () => (await progress(c, job.id)).processed >= 1500, 300_000, 200);
    first.child.kill('SIGKILL');
    await once(first.child, 'exit');
    const afterKill = await progress(c, job.id);
    expect(afterKill.status).toBe('RUNNING');
    expect(afterKill.processed).toBeLessThan(N);
    // Whatever it had not committed is gone with it: marks, users and audit entries agree.
    const users1 = Number((await tenantSql<{ n: string }>(t.id, `select count(*) as n from users`))[0].n);
    expect(users1).toBe(afterKill.processed);
    expect((await auditPerLine(t, job.id)).lines).toBe(afterKill.processed);

    // 2. A second process resumes it and is stopped gracefully (SIGTERM): it finishes its batch and exits 0.
    const second = rosterProcess('second');
    await eventually(async () => (await progress(c, job.id)).processed >= afterKill.processed + 1500, 300_000, 200);
    second.child.kill('SIGTERM');
    const [code] = await once(second.child, 'exit');
    expect({ code, output: code === 0 ? '' : second.output() }).toEqual({ code: 0, output: '' });
    const afterStop = await progress(c, job.id);
    expect(afterStop.processed).toBeGreaterThan(afterKill.processed);
    expect(afterStop.processed % 50).toBe(0); // whole batches only

    // 3. Two workers on their own connection pools finish it.
    const [w1, w2] = await Promise.all([
      startWorker({ name: 'resume-a', batchSize: 50 }),
      startWorker({ name: 'resume-b', batchSize: 50 }),
    ]);
    const done = await c.waitForBulkJob(job.id, { intervalMs: 200 });
    await Promise.all([w1.close(), w2.close()]);

    expect(done).toMatchObject({ status: 'COMPLETED', totalLines: N, processed: N, succeeded: N, failed: 0, pending: 0 });
    expect(Number((await tenantSql<{ n: string }>(t.id, `select count(*) as n from users`))[0].n)).toBe(N);
    expect(await auditPerLine(t, job.id)).toEqual({ lines: N, duplicated: [] });
    const linked = await tenantSql<{ n: string }>(t.id, `select count(*) as n from users where manager_id is not null`);
    expect(Number(linked[0].n)).toBe(N - N / 100);
    expect(await tenantSql(t.id, `select 1 from users where manager_ref is not null`)).toEqual([]);
    // Lines were applied by the killed process, the stopped one and the workers: each line by exactly one.
    const by = await tenantSql<{ processed_by: string; n: string }>(
      t.id,
      `select processed_by, count(*) as n from bulk_job_lines group by processed_by`,
    );
    expect(by.reduce((sum, r) => sum + Number(r.n), 0)).toBe(N);
    expect(by.length).toBeGreaterThanOrEqual(3);

    // Re-running the same import (same key) reuses the finished job instead of starting over.
    const again = await c.uploadBulkJob(lines, { clientKey: 'resume-10k' });
    expect(again).toMatchObject({ reused: true, job: { id: job.id, status: 'COMPLETED' } });
  });
});

describe('several workers at once', () => {
  it('run jobs of several tenants concurrently; no line is applied twice', async () => {
    await drainOtherJobs(app);
    const tenants = await Promise.all([0, 1, 2, 3].map(() => app.createTenant()));
    const perJob = 600;
    const jobs: Array<{ t: TestTenant; id: string }> = [];
    for (const [k, t] of tenants.entries()) {
      // Two jobs in the first tenant: they take turns, one batch at a time.
      for (let j = 0; j < (k === 0 ? 2 : 1); j++) {
        const lines = toJsonLines(
          Array.from({ length: perJob }, (_, i): BulkLine => ({
            op: 'upsertUser',
            user: { userName: `w${j}-${i}@conc.test`, externalId: `W${j}-${i}`, manager: i % 10 ? `W${j}-${i - (i % 10)}` : null },
          })),
        );
        jobs.push({ t, id: (await clientFor(app, t).uploadBulkJob(lines)).job.id });
      }
    }
    const workers = await Promise.all(['conc-a', 'conc-b', 'conc-c'].map((name) => startWorker({ name, batchSize: 25 })));
    for (const { t, id } of jobs) {
      const done = await clientFor(app, t).waitForBulkJob(id, { intervalMs: 100 });
      expect(done).toMatchObject({ status: 'COMPLETED', succeeded: perJob, failed: 0 });
    }
    await Promise.all(workers.map((w) => w.close()));

    // Every worker did part of the work, and together exactly the number of lines there are.
    const applied = workers.map((w) => w.worker.applied);
    expect(applied.every((n) => n > 0)).toBe(true);
    expect(applied.reduce((a, b) => a + b, 0)).toBe(jobs.length * perJob);
    for (const { t, id } of jobs) {
      expect(await auditPerLine(t, id)).toEqual({ lines: perJob, duplicated: [] });
      const by = await tenantSql<{ n: string }>(
        t.id,
        `select count(*) as n from bulk_job_lines where job_id = $1 and processed_by like 'conc-%'`,
        [jobUuid(id)],
      );
      expect(Number(by[0].n)).toBe(perJob);
    }
    for (const t of tenants) {
      const pending = await tenantSql(t.id, `select 1 from users where manager_ref is not null`);
      expect(pending).toEqual([]);
    }
  });

  it('two workers on one job share it line by line, each line once', async () => {
    await drainOtherJobs(app);
    const t = await app.createTenant();
    const c = clientFor(app, t);
    const n = 400;
    const { job } = await c.uploadBulkJob(
      toJsonLines(
        Array.from({ length: n }, (_, i): BulkLine => ({ op: 'upsertUser', user: { userName: `s${i}@share.test`, externalId: `S${i}` } })),
      ),
    );
    const [a, b] = await Promise.all([
      startWorker({ name: 'share-a', batchSize: 10, start: false }),
      startWorker({ name: 'share-b', batchSize: 10, start: false }),
    ]);
    // Alternate rounds by hand, concurrently: whichever holds the tenant's turn applies a batch, the other
    // finds it busy; never both the same lines.
    let total = 0;
    while ((await progress(c, job.id)).status !== 'COMPLETED') {
      const [x, y] = await Promise.all([a.worker.tick(), b.worker.tick()]);
      total += x + y;
    }
    await Promise.all([a.close(), b.close()]);
    expect(total).toBe(n);
    expect(a.worker.applied + b.worker.applied).toBe(n);
    expect(await auditPerLine(t, job.id)).toEqual({ lines: n, duplicated: [] });
  });
});
