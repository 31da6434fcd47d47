/**
 * `roster import` and `roster export`: per tenant, over HTTP with an API key (the partner client in
 * client/src), never touching the database directly, so they work against any Roster deployment.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { RosterClient, RosterError, csvRow, csvToLines, type BulkJobInfo, type ExportedUser } from '../../client/src/index.js';

export const TRANSFER_USAGE = `  import <file.csv|file.jsonl> --url <graphql url> --api-key <key> [--match-by external-id|user-name] [--restart]
      Imports users as a bulk job (CSV columns: see "CSV import" in README.md; JSON Lines: the bulk job line
      format). Shows progress on stderr. Resumable: running it again with the same file continues the
      same job (upload and progress) instead of starting over; --restart starts a new job.
      Exit status: 0 all lines applied, 3 some lines failed (listed) or the job was cancelled, 1 error.
  export --url <graphql url> --api-key <key> [--format csv|jsonl] [--out <file>]
      Writes every user with team and manager, as CSV (re-importable) or JSON Lines, to stdout or --out.

  --url and --api-key default to ROSTER_URL and ROSTER_API_KEY.`;

class UsageError extends Error {}

function options(argv: string[]) {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      'api-key': { type: 'string' },
      'match-by': { type: 'string' },
      restart: { type: 'boolean', default: false },
      format: { type: 'string', default: 'csv' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const url = values.url ?? process.env.ROSTER_URL;
  const apiKey = values['api-key'] ?? process.env.ROSTER_API_KEY;
  if (!url) throw new UsageError('--url is required (the GraphQL endpoint, e.g. https://roster.example.com/graphql), or set ROSTER_URL');
  if (!apiKey) throw new UsageError('--api-key is required (a tenant API key with directory:write for import), or set ROSTER_API_KEY');
  return {
    positionals,
    values,
    client: new RosterClient({ url: url.endsWith('/graphql') ? url : `${url.replace(/\/$/, '')}/graphql`, apiKey }),
  };
}

const fmt = (n: number) => n.toLocaleString('en-US');

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const m = Math.floor(seconds / 60);
  return m < 60
    ? `${m}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * A progress bar on stderr: redrawn in place on a terminal, a line every few seconds otherwise (CI logs),
 * always a final line.
 */
class Progress {
  private readonly tty = Boolean(process.stderr.isTTY);
  private lastPrint = 0;
  private samples: Array<{ at: number; done: number }> = [];

  update(label: string, done: number, total: number, extra = '', final = false): void {
    const now = Date.now();
    this.samples.push({ at: now, done });
    this.samples = this.samples.filter((s) => now - s.at <= 10_000);
    const first = this.samples[0];
    const rate = now > first.at ? ((done - first.done) * 1000) / (now - first.at) : 0;
    const pct = total > 0 ? Math.min(1, done / total) : 1;
    const width = 24;
    const filled = Math.round(pct * width);
    const eta = rate > 0 ? duration((total - done) / rate) : '–';
    const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(pct * 100)).padStart(3)}% ${fmt(done)}/${fmt(total)}${extra} · ${fmt(Math.round(rate))} lines/s · ETA ${final ? '0s' : eta}`;
    if (this.tty) {
      process.stderr.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
    } else if (final || now - this.lastPrint >= 2000) {
      process.stderr.write(`${line}\n`);
      this.lastPrint = now;
    }
  }

  reset(): void {
    this.samples = [];
    this.lastPrint = 0;
  }
}

/** The same file (and options) gives the same key, so a re-run finds its job instead of starting over. */
export function importClientKey(ext: string, matchBy: string | undefined, text: string): string {
  return `cli-import:${createHash('sha256')
    .update(`${ext}\0${matchBy ?? ''}\0`)
    .update(text)
    .digest('hex')
    .slice(0, 40)}`;
}

function readLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

async function importCommand(argv: string[]): Promise<number> {
  const { positionals, values, client } = options(argv);
  const file = positionals[1];
  if (!file) throw new UsageError('import needs a file: roster import <file.csv|file.jsonl> --url … --api-key …');
  const matchByOpt = values['match-by'];
  if (matchByOpt && matchByOpt !== 'external-id' && matchByOpt !== 'user-name')
    throw new UsageError('--match-by is external-id or user-name');
  const matchBy = matchByOpt === 'external-id' ? 'externalId' : matchByOpt === 'user-name' ? 'userName' : undefined;
  const text = await readFile(file, 'utf8');
  const ext = path.extname(file).toLowerCase();
  let lines: string[];
  let sourceLine: (n: number) => string = (n) => `line ${n}`;
  if (ext === '.csv') {
    const parsed = csvToLines(text, { matchBy });
    if (parsed.unknownColumns.length)
      process.stderr.write(`ignoring columns: ${parsed.unknownColumns.join(', ')} (see "CSV import" in README.md)\n`);
    lines = parsed.lines.map((l) => JSON.stringify(l));
    sourceLine = (n) => `CSV line ${parsed.sourceLine[n - 1] ?? '?'}`;
  } else if (ext === '.jsonl' || ext === '.ndjson') {
    if (matchBy) throw new UsageError('--match-by applies to CSV files; in JSON Lines, set "matchBy" on each upsertUser line');
    lines = readLines(text);
  } else {
    throw new UsageError(`${file}: expected a .csv or .jsonl file`);
  }
  const clientKey = importClientKey(ext, matchBy, text) + (values.restart ? `:${Date.now()}` : '');

  const bar = new Progress();
  let job: BulkJobInfo;
  let reused: boolean;
  try {
    ({ job, reused } = await client.uploadBulkJob(lines, { clientKey, onUpload: (n, total) => bar.update('upload', n, total) }));
    bar.update('upload', lines.length, lines.length, '', true);
  } catch (err) {
    if (err instanceof RosterError && err.code === 'LIMIT_EXCEEDED') throw new UsageError(err.message);
    throw err;
  }
  if (reused) process.stderr.write(`resuming job ${job.id} (started ${job.createdAt}; status ${job.status})\n`);
  else process.stderr.write(`started job ${job.id}: ${fmt(job.totalLines)} lines\n`);

  bar.reset();
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  let final: BulkJobInfo;
  try {
    final = await client.waitForBulkJob(job.id, {
      intervalMs: 500,
      signal: interrupt.signal,
      onProgress: (j) =>
        bar.update(
          'import',
          j.processed,
          j.totalLines,
          ` · ok ${fmt(j.succeeded)} · failed ${fmt(j.failed)}`,
          j.status === 'COMPLETED' || j.status === 'CANCELLED',
        ),
    });
  } catch (err) {
    if (interrupt.signal.aborted) {
      process.stderr.write(`\nstopped watching; job ${job.id} keeps running on the server. Run the same command again to follow it.\n`);
      return 130;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
  }
  process.stderr.write(
    `job ${final.id} ${final.status.toLowerCase()}: ${fmt(final.totalLines)} lines, ${fmt(final.succeeded)} applied, ${fmt(final.failed)} failed${final.pending ? `, ${fmt(final.pending)} not applied` : ''}\n`,
  );
  if (final.failed > 0) {
    let shown = 0;
    for await (const line of client.bulkJobLines(final.id, 'FAILED')) {
      if (shown++ >= 50) {
        process.stderr.write(`  … and ${fmt(final.failed - 50)} more (query bulkJob(id: "${final.id}") { lines(status: FAILED) })\n`);
        break;
      }
      process.stderr.write(`  ${sourceLine(line.lineNumber)}: ${line.error?.code} ${line.error?.message}\n`);
    }
  }
  process.stdout.write(
    `${JSON.stringify({ jobId: final.id, status: final.status, total: final.totalLines, succeeded: final.succeeded, failed: final.failed, pending: final.pending, reused })}\n`,
  );
  return final.status === 'COMPLETED' && final.failed === 0 ? 0 : 3;
}

const CSV_COLUMNS = [
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
];

function csvValues(u: ExportedUser, customNames: string[]): Array<string | boolean | null> {
  const email = u.emails.find((e) => e.primary) ?? u.emails[0];
  const custom = u.customAttributes as Record<string, unknown>;
  return [
    u.scimId,
    u.userName,
    u.externalId,
    u.name.givenName,
    u.name.familyName,
    u.displayName,
    email?.value ?? null,
    u.title,
    u.active,
    u.employeeNumber,
    u.costCenter,
    u.organization,
    u.division,
    u.team?.name ?? null,
    // The manager as import reads it back: externalId, else Roster id, else the pending reference.
    u.manager ? (u.manager.externalId ?? u.manager.scimId) : u.pendingManagerRef,
    u.manager?.userName ?? null,
    ...customNames.map((n) =>
      custom[n] === undefined ? null : Array.isArray(custom[n]) ? (custom[n] as unknown[]).join(';') : String(custom[n]),
    ),
  ];
}

async function exportCommand(argv: string[]): Promise<number> {
  const { values, client } = options(argv);
  const format = values.format;
  if (format !== 'csv' && format !== 'jsonl') throw new UsageError('--format is csv or jsonl');
  const out = values.out ? createWriteStream(values.out) : process.stdout;
  const write = (s: string) => new Promise<void>((resolve, reject) => out.write(s, (err) => (err ? reject(err) : resolve())));
  const bar = new Progress();
  let count = 0;
  if (format === 'jsonl') {
    for await (const u of client.users()) {
      await write(`${JSON.stringify(u)}\n`);
      if (++count % 500 === 0) bar.update('export', count, count);
    }
  } else {
    // Custom attribute columns are the names any user has: one pass to collect, then write.
    const all: ExportedUser[] = [];
    for await (const u of client.users()) {
      all.push(u);
      if (all.length % 500 === 0) bar.update('export', all.length, all.length);
    }
    const customNames = [...new Set(all.flatMap((u) => Object.keys(u.customAttributes)))].sort();
    await write(`${csvRow([...CSV_COLUMNS, ...customNames.map((n) => `custom.${n}`)])}\n`);
    for (const u of all) await write(`${csvRow(csvValues(u, customNames))}\n`);
    count = all.length;
  }
  if (out !== process.stdout) await new Promise<void>((resolve) => (out as NodeJS.WritableStream).end(resolve));
  process.stderr.write(`exported ${fmt(count)} users\n`);
  return 0;
}

/** Runs `import` or `export`; returns the exit status. */
export async function runTransfer(argv: string[]): Promise<number> {
  try {
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(`${TRANSFER_USAGE}\n`);
      return 0;
    }
    return argv[0] === 'import' ? await importCommand(argv) : await exportCommand(argv);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`${(err as Error).message}\n\n${TRANSFER_USAGE}\n`);
      return 2;
    }
    if (err instanceof RosterError) {
      process.stderr.write(`${err.code}: ${err.message}\n`);
      return 1;
    }
    if ((err as { code?: string }).code === 'ENOENT') {
      process.stderr.write(`${(err as Error).message}\n`);
      return 1;
    }
    throw err;
  }
}
