// The CLI's import and export, run as child processes against the running test service (HTTP + API key).
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { csvToLines, parseCsv, StartBulkJobDocument } from '../../../client/src/index.js';
import { importClientKey } from '../../../src/cli/transfer.js';
import { runRoster, type CliRun } from '../../setup/roster-cli.js';
import { startTestApp, type TestApp, type TestTenant } from '../../setup/test-app.js';
import { clientFor, startWorker, tenantSql, type StartedWorker } from './support.js';

(import.meta as unknown as { jest: { setTimeout(ms: number): void } }).jest.setTimeout(180_000);

let app: TestApp;
let worker: StartedWorker;
let dir: string;
beforeAll(async () => {
  app = await startTestApp();
  worker = await startWorker({ name: 'cli-suite' });
  dir = await mkdtemp(path.join(tmpdir(), 'roster-cli-'));
});
afterAll(async () => {
  await worker.close();
  await app.close();
});

const auth = (t: TestTenant) => ['--url', `${app.baseUrl}/graphql`, '--api-key', t.apiKey];
const summary = (run: CliRun) => JSON.parse(run.stdout.trim().split('\n').pop() as string);

// Reports before their managers, a quoted field with a comma and one with a line break, header aliases,
// roles, a custom attribute, an unknown column, and one bad row (line 8: an invalid email address).
const CSV = [
  'User Name,External ID,First Name,Last Name,Email,Title,Department,Manager,Roles,custom.badge,Shoe Size',
  'ada@cli.test,E1,Ada,Lovelace,ada@cli.test,"Engineer, Analytical",Engineering,E3,Admins;On-call,17,42',
  'bob@cli.test,E2,Bob,Babbage,bob@cli.test,Engineer,Engineering,E3,On-call,,44',
  'cyd@cli.test,E3,Cyd,Charisse,cyd@cli.test,"Head of',
  'Engineering",Engineering,E4,,,',
  'dee@cli.test,E4,Dee,Dee,dee@cli.test,CTO,Executive,,Admins,,',
  '',
  'eve@cli.test,E5,Eve,Eve,not-an-email,Intern,Engineering,E1,,,',
  '',
].join('\r\n');

describe('roster import <file.csv>', () => {
  it('imports users with team, manager (any row order), roles and custom attributes; reports the bad row by its CSV line', async () => {
    const t = await app.createTenant();
    await t.raw(`mutation { declareCustomAttribute(input: { name: "badge", type: integer }) { userErrors { message } } }`);
    const file = path.join(dir, 'people.csv');
    await writeFile(file, CSV);

    const run = await runRoster(['import', file, ...auth(t)]);
    expect({ code: run.code, stderr: run.code === 3 ? '' : run.stderr }).toEqual({ code: 3, stderr: '' });
    expect(run.stderr).toMatch(/ignoring columns: Shoe Size/);
    expect(run.stderr).toMatch(/started job /);
    expect(run.stderr).toMatch(/import \[#{24}\] 100% 9\/9 · ok 8 · failed 1 · [\d,]+ lines\/s/);
    expect(run.stderr).toMatch(/CSV line 8: INVALID_INPUT .*emails/);
    // 5 rows: 5 upsertUser lines and 4 assignRole lines (one per role).
    expect(summary(run)).toMatchObject({ status: 'COMPLETED', total: 9, succeeded: 8, failed: 1, reused: false });

    const rows = await tenantSql<{
      user_name: string;
      title: string;
      team: string;
      manager: string | null;
      roles: string | null;
      custom: Record<string, unknown>;
    }>(
      t.id,
      `select u.user_name, u.title, t.name as team, m.user_name as manager, u.custom,
              (select string_agg(r.display_name, ',' order by r.display_name) from role_members rm join roles r on r.id = rm.role_id where rm.user_id = u.id) as roles
         from users u left join teams t on t.id = u.team_id left join users m on m.id = u.manager_id order by u.user_name`,
    );
    expect(rows).toEqual([
      {
        user_name: 'ada@cli.test',
        title: 'Engineer, Analytical',
        team: 'Engineering',
        manager: 'cyd@cli.test',
        roles: 'Admins,On-call',
        custom: { badge: 17 },
      },
      { user_name: 'bob@cli.test', title: 'Engineer', team: 'Engineering', manager: 'cyd@cli.test', roles: 'On-call', custom: {} },
      { user_name: 'cyd@cli.test', title: 'Head of\r\nEngineering', team: 'Engineering', manager: 'dee@cli.test', roles: null, custom: {} },
      { user_name: 'dee@cli.test', title: 'CTO', team: 'Executive', manager: null, roles: 'Admins', custom: {} },
    ]);

    // Running it again continues the same job rather than importing twice.
    const again = await runRoster(['import', file, ...auth(t)]);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/resuming job /);
    expect(summary(again)).toMatchObject({ jobId: summary(run).jobId, reused: true, succeeded: 8 });
    expect((await t.raw<{ bulkJobs: { totalCount: number } }>(`{ bulkJobs { totalCount } }`)).data!.bulkJobs.totalCount).toBe(1);

    // --restart starts a new job; every row is then unchanged (the upserts are idempotent).
    const restarted = await runRoster(['import', file, ...auth(t), '--restart']);
    expect(summary(restarted)).toMatchObject({ reused: false, succeeded: 8, failed: 1 });
    const outcomes = await tenantSql<{ outcome: string; n: string }>(
      t.id,
      `select l.result->>'outcome' as outcome, count(*) as n from bulk_job_lines l join bulk_jobs j on j.id = l.job_id
        where j.client_key like '%:%:%' and l.status = 'succeeded' group by 1`,
    );
    expect(outcomes).toEqual([{ outcome: 'unchanged', n: '8' }]);
  });

  it('resumes an interrupted upload where it stopped', async () => {
    const t = await app.createTenant();
    const rows = [
      'userName,externalId,manager',
      ...Array.from({ length: 2000 }, (_, i) => `r${i}@resume.test,R${i},${i % 50 ? `R${i - (i % 50)}` : ''}`),
    ];
    const text = rows.join('\n') + '\n';
    const file = path.join(dir, 'resume.csv');
    await writeFile(file, text);
    // A first run that uploaded 700 of the 2,000 lines and died: the job the CLI will find by its key.
    const lines = csvToLines(text).lines.map((l) => JSON.stringify(l));
    const c = clientFor(app, t);
    const partial = await c.request(StartBulkJobDocument, {
      input: { clientKey: importClientKey('.csv', undefined, text), complete: false, lines: lines.slice(0, 700).join('\n') },
    });
    expect(partial.startBulkJob.job).toMatchObject({ status: 'UPLOADING', receivedThrough: 700 });

    const run = await runRoster(['import', file, ...auth(t)]);
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stderr).toMatch(/resuming job /);
    expect(summary(run)).toMatchObject({ jobId: partial.startBulkJob.job!.id, total: 2000, succeeded: 2000, failed: 0, reused: true });
    const counts = await tenantSql<{ users: string; linked: string; lines: string }>(
      t.id,
      `select (select count(*) from users) as users, (select count(*) from users where manager_id is not null) as linked, (select count(*) from bulk_job_lines) as lines`,
    );
    expect(counts).toEqual([{ users: '2000', linked: '1960', lines: '2000' }]);
  });

  it('imports JSON Lines as they are', async () => {
    const t = await app.createTenant();
    const file = path.join(dir, 'ops.jsonl');
    await writeFile(
      file,
      [
        '{"op":"upsertUser","user":{"userName":"j@cli.test","externalId":"J"}}',
        '{"op":"moveTeam","user":{"externalId":"J"},"team":{"name":"Ops"}}',
        '',
      ].join('\n'),
    );
    const run = await runRoster(['import', file, ...auth(t)]);
    expect(run.code).toBe(0);
    expect(await tenantSql(t.id, `select u.user_name, t.name from users u join teams t on t.id = u.team_id`)).toEqual([
      { user_name: 'j@cli.test', name: 'Ops' },
    ]);
  });

  it('explains what is wrong with the command line or the credentials', async () => {
    const t = await app.createTenant();
    const file = path.join(dir, 'people.csv');
    const noKey = await runRoster(['import', file, '--url', `${app.baseUrl}/graphql`]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/--api-key is required/);
    const badKey = await runRoster(['import', file, '--url', `${app.baseUrl}/graphql`, '--api-key', 'rst_key_nope']);
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toMatch(/UNAUTHENTICATED/);
    const badFile = await runRoster(['import', path.join(dir, 'people.txt'), ...auth(t)]);
    expect(badFile.code).toBe(1);
    const viaEnv = await runRoster(['export', '--format', 'xml'], { ROSTER_URL: app.baseUrl, ROSTER_API_KEY: t.apiKey });
    expect(viaEnv.code).toBe(2);
    expect(viaEnv.stderr).toMatch(/--format is csv or jsonl/);
  });
});

describe('roster export', () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await app.createTenant();
    await t.raw(`mutation { declareCustomAttribute(input: { name: "badge", type: integer }) { userErrors { message } } }`);
    const file = path.join(dir, 'to-export.csv');
    await writeFile(file, CSV);
    expect((await runRoster(['import', file, ...auth(t)])).code).toBe(3);
  });

  it('writes CSV with team and manager, which imports into another tenant as the same org', async () => {
    const out = path.join(dir, 'export.csv');
    const run = await runRoster(['export', '--format', 'csv', '--out', out, ...auth(t)]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/exported 4 users/);
    const [header, ...rows] = parseCsv(await readFile(out, 'utf8'));
    expect(header).toEqual([
      'id',
      'userName',
      'externalId',
      'givenName',
      'familyName',
      'displayName',
      'email',
      'title',
      'active',
      'employeeNumber',
      'costCenter',
      'organization',
      'division',
      'department',
      'manager',
      'managerUserName',
      'custom.badge',
    ]);
    const byName = Object.fromEntries(rows.map((r) => [r[1], Object.fromEntries(header.map((h, i) => [h, r[i]]))]));
    expect(byName['ada@cli.test']).toMatchObject({
      externalId: 'E1',
      title: 'Engineer, Analytical',
      department: 'Engineering',
      manager: 'E3',
      managerUserName: 'cyd@cli.test',
      'custom.badge': '17',
      active: 'true',
    });
    expect(byName['cyd@cli.test'].title).toBe('Head of\r\nEngineering');

    const other = await app.createTenant();
    await other.raw(`mutation { declareCustomAttribute(input: { name: "badge", type: integer }) { userErrors { message } } }`);
    const again = await runRoster(['import', out, ...auth(other)]);
    expect({ code: again.code, stderr: again.code === 0 ? '' : again.stderr }).toEqual({ code: 0, stderr: '' });
    const org = async (tenant: TestTenant) =>
      tenantSql(
        tenant.id,
        `select u.user_name, u.external_id, t.name as team, m.user_name as manager, u.custom from users u left join teams t on t.id = u.team_id left join users m on m.id = u.manager_id order by 1`,
      );
    expect(await org(other)).toEqual(await org(t));
  });

  it('writes JSON Lines: one user per line with team and manager', async () => {
    const run = await runRoster(['export', '--format', 'jsonl', ...auth(t)]);
    expect(run.code).toBe(0);
    const users = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(users).toHaveLength(4);
    const ada = users.find((u) => u.userName === 'ada@cli.test');
    expect(ada).toMatchObject({
      externalId: 'E1',
      team: { name: 'Engineering' },
      manager: { userName: 'cyd@cli.test', externalId: 'E3' },
      customAttributes: { badge: 17 },
    });
    expect(users.find((u) => u.userName === 'dee@cli.test').manager).toBeNull();
  });
});
