// Asynchronous bulk jobs over GraphQL: the line format, per-line results, upload in chunks, cancel,
// limits, tenant isolation. (Restart/resume and concurrent workers: jobs-resume.int.test.ts.)
import {
  AppendBulkJobLinesDocument,
  BulkJobDocument,
  RosterClient,
  StartBulkJobDocument,
  toJsonLines,
  type BulkLine,
} from '../../../client/src/index.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { rowLockWaiters, tenantTransaction } from '../hardening/support.js';
import { clientFor, jobUuid, startWorker, tenantSql, type StartedWorker } from './support.js';

// Jobs run in a worker loop and are polled: give every test room (ESM jest has no global `jest`).
(import.meta as unknown as { jest: { setTimeout(ms: number): void } }).jest.setTimeout(120_000);
let app: TestApp;
let worker: StartedWorker | null = null;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await worker?.close();
  await app.close();
});
async function withWorker() {
  worker ??= await startWorker({ name: 'jobs-suite' });
}
async function withoutWorker() {
  await worker?.close();
  worker = null;
}

async function runJob(c: RosterClient, lines: string[], clientKey?: string) {
  const { job } = await c.uploadBulkJob(lines, { clientKey });
  await withWorker();
  return c.waitForBulkJob(job.id, { intervalMs: 50 });
}

async function allLines(c: RosterClient, jobId: string) {
  const out = [];
  for await (const l of c.bulkJobLines(jobId)) out.push(l);
  return out;
}

describe('a job with every kind of line', () => {
  let t: TestTenant;
  let c: RosterClient;
  beforeAll(async () => {
    t = await app.createTenant();
    c = clientFor(app, t);
  });

  it('applies each line through the domain and reports per-line results', async () => {
    const lines: string[] = [
      ...toJsonLines([
        {
          op: 'upsertUser',
          user: {
            userName: 'ic@jobs.test',
            externalId: 'IC',
            manager: 'LEAD',
            department: 'Platform',
            emails: [{ value: 'ic@jobs.test', type: 'work', primary: true }],
          },
        },
        { op: 'upsertUser', user: { userName: 'lead@jobs.test', externalId: 'LEAD', manager: 'VP' } },
        { op: 'upsertUser', user: { userName: 'vp@jobs.test', externalId: 'VP', title: 'VP' } },
      ]),
      '', // blank lines keep their number and are not stored
      ...toJsonLines([
        { op: 'setManager', user: { userName: 'vp@jobs.test' }, manager: null },
        { op: 'moveTeam', user: { externalId: 'LEAD' }, team: { name: 'Platform' } },
        { op: 'assignRole', user: { externalId: 'IC' }, role: { displayName: 'On-call' } },
        { op: 'assignRole', user: { externalId: 'IC' }, role: { displayName: 'On-call' } },
        { op: 'unassignRole', user: { externalId: 'IC' }, role: { displayName: 'On-call' } },
        { op: 'deactivateUser', user: { externalId: 'VP' } },
        { op: 'deactivateUser', user: { externalId: 'NOBODY' } },
      ] as BulkLine[]),
      '{"op": "upsertUser", "user": {',
      '{"op": "promote", "user": {"externalId": "IC"}}',
      '{"op": "upsertUser", "user": {"userName": "x@jobs.test", "favouriteColour": "blue"}}',
      '{"op": "setManager", "user": {"externalId": "VP"}, "manager": {"externalId": "IC"}}',
      '{"op": "upsertUser", "user": {"userName": "ic@jobs.test", "externalId": "IC", "manager": "LEAD", "department": "Platform", "emails": [{"value": "ic@jobs.test", "type": "work", "primary": true}]}}',
    ];
    const job = await runJob(c, lines);
    expect(job).toMatchObject({ status: 'COMPLETED', totalLines: 15, receivedThrough: 16, processed: 15, pending: 0, progress: 1 });

    const results = await allLines(c, job.id);
    const summary = results.map((l) => [l.lineNumber, l.op, l.status, l.outcome ?? l.error?.code ?? null]);
    expect(summary).toEqual([
      [1, 'upsertUser', 'SUCCEEDED', 'CREATED'],
      [2, 'upsertUser', 'SUCCEEDED', 'CREATED'],
      [3, 'upsertUser', 'SUCCEEDED', 'CREATED'],
      [5, 'setManager', 'SUCCEEDED', 'UNCHANGED'],
      [6, 'moveTeam', 'SUCCEEDED', 'UPDATED'],
      [7, 'assignRole', 'SUCCEEDED', 'UPDATED'],
      [8, 'assignRole', 'SUCCEEDED', 'UNCHANGED'],
      [9, 'unassignRole', 'SUCCEEDED', 'UPDATED'],
      [10, 'deactivateUser', 'SUCCEEDED', 'UPDATED'],
      [11, 'deactivateUser', 'FAILED', 'NOT_FOUND'],
      [12, null, 'FAILED', 'INVALID_INPUT'],
      [13, 'promote', 'FAILED', 'INVALID_INPUT'],
      [14, 'upsertUser', 'FAILED', 'INVALID_INPUT'],
      [15, 'setManager', 'FAILED', 'MANAGER_CYCLE'],
      [16, 'upsertUser', 'SUCCEEDED', 'UNCHANGED'],
    ]);
    expect(job).toMatchObject({ succeeded: 10, failed: 5 });
    expect(results[0].user?.userName).toBe('ic@jobs.test');
    expect(results[5].role?.displayName).toBe('On-call');
    expect(results[10].error?.reason).toBe('INVALID_JSON');
    expect(results[12].error?.field).toBe('user.favouriteColour');
    expect(results[11].input).toBe('{"op": "promote", "user": {"externalId": "IC"}}');

    // The reporting lines formed regardless of line order (report before manager before VP).
    const rows = await tenantSql<{ user_name: string; manager: string | null; team: string | null; active: boolean }>(
      t.id,
      `select u.user_name, m.user_name as manager, tm.name as team, u.active from users u left join users m on m.id = u.manager_id left join teams tm on tm.id = u.team_id order by u.user_name`,
    );
    expect(rows).toEqual([
      { user_name: 'ic@jobs.test', manager: 'lead@jobs.test', team: 'Platform', active: true },
      { user_name: 'lead@jobs.test', manager: 'vp@jobs.test', team: 'Platform', active: true },
      { user_name: 'vp@jobs.test', manager: null, team: null, active: false },
    ]);
  });

  it('audits each line as the credential that started the job, with the job and line in the request id', async () => {
    const { job } = await c.uploadBulkJob(toJsonLines([{ op: 'upsertUser', user: { userName: 'audited@jobs.test', externalId: 'AUD' } }]));
    await c.waitForBulkJob(job.id, { intervalMs: 50 });
    const id = jobUuid(job.id);
    const events = await tenantSql<{ action: string; door: string; actor_kind: string; request_id: string }>(
      t.id,
      `select action, door, actor_kind, request_id from audit_events where request_id like $1 order by occurred_at`,
      [`bulk:${id}%`],
    );
    expect(events).toEqual([
      { action: 'user.created', door: 'graphql', actor_kind: 'api_key', request_id: `bulk:${id}:1` },
      { action: 'bulk_job.completed', door: 'graphql', actor_kind: 'api_key', request_id: `bulk:${id}` },
    ]);
  });
});

describe('manager references in reverse line order', () => {
  it('links every report to its manager whatever the order of the lines', async () => {
    const t = await app.createTenant();
    const c = clientFor(app, t);
    // A tree of 300: user i reports to user floor((i-1)/3); lines go from the leaves up to the root.
    const n = 300;
    const lines = toJsonLines(
      Array.from({ length: n }, (_, k) => n - 1 - k).map((i): BulkLine => ({
        op: 'upsertUser',
        user: { userName: `p${i}@tree.test`, externalId: `P${i}`, manager: i === 0 ? null : `P${Math.floor((i - 1) / 3)}` },
      })),
    );
    const job = await runJob(c, lines);
    expect(job).toMatchObject({ status: 'COMPLETED', succeeded: n, failed: 0 });
    const rows = await tenantSql<{ external_id: string; manager: string | null; manager_ref: string | null }>(
      t.id,
      `select u.external_id, m.external_id as manager, u.manager_ref from users u left join users m on m.id = u.manager_id`,
    );
    expect(rows).toHaveLength(n);
    for (const r of rows) {
      const i = Number(r.external_id.slice(1));
      expect({ id: r.external_id, manager: r.manager, pending: r.manager_ref }).toEqual({
        id: r.external_id,
        manager: i === 0 ? null : `P${Math.floor((i - 1) / 3)}`,
        pending: null,
      });
    }
  });
});

describe('uploading', () => {
  it('in chunks: a retried chunk is harmless, a gap is refused, the clientKey returns the same job', async () => {
    const t = await app.createTenant();
    const c = clientFor(app, t);
    const line = (i: number) => JSON.stringify({ op: 'upsertUser', user: { userName: `c${i}@chunks.test`, externalId: `C${i}` } });
    const start = await c.request(StartBulkJobDocument, {
      input: { clientKey: 'file-sha256-abc', complete: false, lines: [1, 2, 3].map(line).join('\n') + '\n' },
    });
    const job = start.startBulkJob.job!;
    expect(start.startBulkJob).toMatchObject({ reused: false, userErrors: [] });
    expect(job).toMatchObject({ status: 'UPLOADING', totalLines: 3, receivedThrough: 3 });

    const append = (first: number, nums: number[], complete = false) =>
      c.request(AppendBulkJobLinesDocument, {
        input: { jobId: job.id, firstLineNumber: first, lines: nums.map(line).join('\n'), complete },
      });
    // A retry of lines 2–5 (2 and 3 already stored).
    expect((await append(2, [2, 3, 4, 5])).appendBulkJobLines.job).toMatchObject({ totalLines: 5, receivedThrough: 5 });
    // A gap.
    const gap = (await append(8, [8])).appendBulkJobLines;
    expect(gap.userErrors).toEqual([expect.objectContaining({ code: 'INVALID_INPUT', field: 'firstLineNumber', reason: 'LINE_GAP' })]);
    // The same key: the same job, which says where to continue.
    const again = await c.request(StartBulkJobDocument, { input: { clientKey: 'file-sha256-abc', complete: false } });
    expect(again.startBulkJob).toMatchObject({ reused: true, job: { id: job.id, receivedThrough: 5 } });
    expect((await append(6, [6, 7], true)).appendBulkJobLines.job).toMatchObject({ status: 'QUEUED', totalLines: 7 });
    // Re-sending the last chunk after completion: no error, nothing added.
    expect((await append(6, [6, 7], true)).appendBulkJobLines).toMatchObject({ userErrors: [], job: { totalLines: 7 } });
    // New lines after completion are refused.
    expect((await append(8, [8])).appendBulkJobLines.userErrors[0]).toMatchObject({ code: 'CONFLICT', reason: 'JOB_NOT_UPLOADING' });

    await withWorker();
    const done = await c.waitForBulkJob(job.id, { intervalMs: 50 });
    expect(done).toMatchObject({ status: 'COMPLETED', succeeded: 7 });
    expect(await tenantSql(t.id, `select 1 from users`)).toHaveLength(7);
  });

  it('uploads a large file through the client in several requests', async () => {
    const t = await app.createTenant();
    const c = clientFor(app, t);
    const lines = Array.from({ length: 3000 }, (_, i) =>
      JSON.stringify({ op: 'upsertUser', user: { userName: `big${i}@upload.test`, externalId: `B${i}`, displayName: 'x'.repeat(200) } }),
    );
    const chunks: number[] = [];
    const { job } = await c.uploadBulkJob(lines, { clientKey: 'big', chunkBytes: 100_000, onUpload: (n) => chunks.push(n) });
    expect(job).toMatchObject({ status: 'QUEUED', totalLines: 3000 });
    expect(chunks.length).toBeGreaterThan(7);
    // Uploading the same file with the same key again: the same (queued) job, nothing re-sent.
    const again = await c.uploadBulkJob(lines, { clientKey: 'big' });
    expect(again).toMatchObject({ reused: true, job: { id: job.id, totalLines: 3000 } });
    await c.cancelBulkJob(job.id);
  }, 60_000);

  it('an empty job completes at once', async () => {
    const t = await app.createTenant();
    const res = await clientFor(app, t).request(StartBulkJobDocument, { input: { lines: '\n\n' } });
    expect(res.startBulkJob.job).toMatchObject({ status: 'COMPLETED', totalLines: 0, progress: 1 });
  });
});

describe('cancel', () => {
  it('stops a job even while a batch is in flight: that batch finishes, no later one runs', async () => {
    // The worker's counters set the job 'running' again after its batch, over a cancel made meanwhile, and the
    // job ran to completion after answering CANCELLED (found by probing). Made for real: a user the batch
    // updates is held by the test, so the batch waits mid-flight while the job is cancelled.
    const t = await app.createTenant();
    const c = clientFor(app, t);
    await runJob(c, toJsonLines([{ op: 'upsertUser', user: { userName: 'held@cancel.test', externalId: 'HELD' } }]));
    await withoutWorker();
    const lines = [
      JSON.stringify({ op: 'upsertUser', user: { userName: 'held@cancel.test', externalId: 'HELD', title: 'changed' } }),
      ...Array.from({ length: 99 }, (_, i) =>
        JSON.stringify({ op: 'upsertUser', user: { userName: `f${i}@cancel.test`, externalId: `F${i}` } }),
      ),
    ];
    const { job } = await c.uploadBulkJob(lines);
    const w = await startWorker({ name: 'cancel-in-flight', batchSize: 10, start: false });
    const held = await tenantTransaction(process.env.ROSTER_TEST_DATABASE_URL!, t.id);
    try {
      await held.query(`select 1 from users where external_id = 'HELD' for update`);
      const batch = w.worker.tick();
      await rowLockWaiters(held, 1, 'the batch to wait for the held user');
      expect(await c.cancelBulkJob(job.id)).toMatchObject({ status: 'CANCELLED' });
      await held.query('commit');
      await batch;
    } finally {
      await held.end();
    }
    for (let i = 0; i < 5; i++) await w.worker.tick();
    await w.close();
    const after = await c.bulkJob(job.id);
    expect(after).toMatchObject({ status: 'CANCELLED', processed: 10, pending: 90 });
    expect(await tenantSql(t.id, `select 1 from users`)).toHaveLength(10);
  });

  it('stops a job: its remaining lines are never applied; a completed job cannot be cancelled', async () => {
    const t = await app.createTenant();
    const c = clientFor(app, t);
    await withoutWorker();
    const lines = Array.from({ length: 500 }, (_, i) =>
      JSON.stringify({ op: 'upsertUser', user: { userName: `x${i}@cancel.test`, externalId: `X${i}` } }),
    );
    const { job } = await c.uploadBulkJob(lines);
    // A worker runs a little of it (batch by batch: other tenants' jobs may take turns), then the job is cancelled.
    const w = await startWorker({ name: 'cancel-test', batchSize: 20, start: false });
    while ((await c.bulkJob(job.id))!.processed < 40) await w.worker.tick();
    const cancelled = await c.cancelBulkJob(job.id);
    const applied = cancelled.processed;
    expect(applied).toBeGreaterThanOrEqual(40);
    expect(cancelled).toMatchObject({ status: 'CANCELLED', pending: 500 - applied });
    expect(cancelled.finishedAt).toBeTruthy();
    for (let i = 0; i < 5; i++) await w.worker.tick();
    await w.close();
    const after = await c.bulkJob(job.id);
    expect(after).toMatchObject({ status: 'CANCELLED', processed: applied, succeeded: applied });
    expect(await tenantSql(t.id, `select 1 from users`)).toHaveLength(applied);
    const pending = await tenantSql<{ n: string }>(t.id, `select count(*) as n from bulk_job_lines where status = 'pending'`);
    expect(Number(pending[0].n)).toBe(500 - applied);
    // Cancelling again is a no-op; a completed job refuses.
    expect(await c.cancelBulkJob(job.id)).toMatchObject({ status: 'CANCELLED' });
    const small = await runJob(c, toJsonLines([{ op: 'upsertUser', user: { userName: 'done@cancel.test', externalId: 'D' } }]));
    await expect(c.cancelBulkJob(small.id)).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { userErrors: [expect.objectContaining({ reason: 'JOB_FINISHED' })] },
    });
  });
});

describe('limits', () => {
  let limited: TestApp;
  beforeAll(async () => {
    // No worker runs here: the jobs must stay unfinished for the running-jobs limit to bite.
    await withoutWorker();
    limited = await startTestApp({ ROSTER_BULK_MAX_LINES: '10', ROSTER_BULK_MAX_RUNNING_JOBS_PER_TENANT: '2' });
  });
  afterAll(() => limited.close());

  const lines = (n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => JSON.stringify({ op: 'deactivateUser', user: { externalId: `L${from + i}` } })).join('\n');

  it('refuses more lines than ROSTER_BULK_MAX_LINES, at start and on append, storing nothing', async () => {
    const t = await limited.createTenant();
    const c = clientFor(limited, t);
    const tooMany = await c.request(StartBulkJobDocument, { input: { lines: lines(11) } });
    expect(tooMany.startBulkJob).toMatchObject({
      job: null,
      userErrors: [expect.objectContaining({ code: 'LIMIT_EXCEEDED', field: 'lines', reason: 'MAX_LINES' })],
    });
    expect(tooMany.startBulkJob.userErrors[0].message).toMatch(/at most 10 lines/);
    expect(await tenantSql(t.id, `select 1 from bulk_jobs`)).toEqual([]);

    const ok = await c.request(StartBulkJobDocument, { input: { lines: lines(8), complete: false } });
    const jobId = ok.startBulkJob.job!.id;
    const more = await c.request(AppendBulkJobLinesDocument, { input: { jobId, firstLineNumber: 9, lines: lines(3, 8) } });
    expect(more.appendBulkJobLines.userErrors[0]).toMatchObject({ code: 'LIMIT_EXCEEDED', reason: 'MAX_LINES' });
    expect((await c.request(BulkJobDocument, { id: jobId })).bulkJob).toMatchObject({ totalLines: 8, receivedThrough: 8 });
    await c.cancelBulkJob(jobId);
  });

  it('refuses a job beyond ROSTER_BULK_MAX_RUNNING_JOBS_PER_TENANT unfinished ones, until one finishes', async () => {
    const t = await limited.createTenant();
    const c = clientFor(limited, t);
    const a = await c.uploadBulkJob([lines(1)]);
    await c.uploadBulkJob([lines(1)]);
    const third = await c.request(StartBulkJobDocument, { input: { lines: lines(1) } });
    expect(third.startBulkJob.userErrors[0]).toMatchObject({ code: 'LIMIT_EXCEEDED', field: 'jobs', reason: 'MAX_RUNNING_JOBS' });
    // Another tenant is not affected.
    const other = await limited.createTenant();
    expect((await clientFor(limited, other).uploadBulkJob([lines(1)])).job.status).toBe('QUEUED');
    // Reusing a job by its key is not a new job.
    await c.cancelBulkJob(a.job.id);
    const fourth = await c.uploadBulkJob([lines(1)], { clientKey: 'k' });
    expect(fourth.job.status).toBe('QUEUED');
    expect((await c.uploadBulkJob([lines(1)], { clientKey: 'k' })).reused).toBe(true);
  });
});

describe('tenant isolation and permissions', () => {
  it("a job is invisible to another tenant, and its lines only touch the job's tenant", async () => {
    const a = await app.createTenant();
    const b = await app.createTenant();
    const ca = clientFor(app, a);
    const cb = clientFor(app, b);
    const { job } = await ca.uploadBulkJob(toJsonLines([{ op: 'upsertUser', user: { userName: 'same@iso.test', externalId: 'SAME' } }]));
    expect(await cb.bulkJob(job.id)).toBeNull();
    const node = await b.raw<{ node: unknown }>(`query($id: ID!) { node(id: $id) { id } }`, { id: job.id });
    expect(node.data!.node).toBeNull();
    await expect(cb.cancelBulkJob(job.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await b.raw<{ bulkJobs: { totalCount: number } }>(`{ bulkJobs { totalCount } }`)).data!.bulkJobs.totalCount).toBe(0);
    await withWorker();
    await ca.waitForBulkJob(job.id, { intervalMs: 50 });
    expect(await tenantSql(a.id, `select user_name from users`)).toEqual([{ user_name: 'same@iso.test' }]);
    expect(await tenantSql(b.id, `select user_name from users`)).toEqual([]);
    // Row-level security: the lines are not visible outside their tenant even to raw SQL.
    expect(await tenantSql(b.id, `select 1 from bulk_job_lines`)).toEqual([]);
    expect(await tenantSql(b.id, `select 1 from bulk_jobs`)).toEqual([]);
  });

  it('starting a job needs directory:write; reading one, directory:read', async () => {
    const t = await app.createTenant();
    const key = await t.raw<{ createApiKey: { secret: string } }>(
      `mutation { createApiKey(input: { name: "ro", permissions: ["directory:read"] }) { secret } }`,
    );
    const ro = clientFor(app, t, key.data!.createApiKey.secret);
    await expect(ro.uploadBulkJob(['{}'])).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const { job } = await clientFor(app, t).uploadBulkJob(['{}']);
    expect(await ro.bulkJob(job.id)).toMatchObject({ id: job.id });
    await expect(ro.cancelBulkJob(job.id)).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('lists jobs newest first and filters by status', async () => {
    await withoutWorker();
    const t = await app.createTenant();
    const c = clientFor(app, t);
    const first = await c.uploadBulkJob(['{}']);
    const second = await c.uploadBulkJob(['{}']);
    await c.cancelBulkJob(first.job.id);
    const all = await t.raw<{ bulkJobs: { nodes: Array<{ id: string; status: string }> } }>(
      `{ bulkJobs(first: 10) { nodes { id status } } }`,
    );
    expect(all.data!.bulkJobs.nodes.map((n) => n.id)).toEqual([second.job.id, first.job.id]);
    const cancelled = await t.raw<{ bulkJobs: { nodes: Array<{ id: string }> } }>(
      `{ bulkJobs(first: 10, status: CANCELLED) { nodes { id } } }`,
    );
    expect(cancelled.data!.bulkJobs.nodes.map((n) => n.id)).toEqual([first.job.id]);
    const node = await t.raw<{ node: { id: string; status: string } }>(
      `query($id: ID!) { node(id: $id) { id ... on BulkJob { status } } }`,
      {
        id: first.job.id,
      },
    );
    expect(node.data!.node).toEqual({ id: first.job.id, status: 'CANCELLED' });
    await withWorker();
    expect(await c.waitForBulkJob(second.job.id, { intervalMs: 50 })).toMatchObject({ status: 'COMPLETED', failed: 1 });
  });
});
