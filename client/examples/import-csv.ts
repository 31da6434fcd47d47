/**
 * Imports users from a CSV file into a Roster tenant with the partner client.
 *
 *   ROSTER_URL=https://roster.example.com/graphql ROSTER_API_KEY=rst_key_… \
 *     node --import ./scripts/register.js client/examples/import-csv.ts people.csv
 *
 * (from the repository root; in your own project, compile it with tsc like the rest of your code).
 * Small files go through the synchronous batch (upsertUsers, 1,000 per call); large ones become a bulk
 * job, resumable: run it again after an interruption and it continues the same job. Columns: "CSV import
 * and export" in the README.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { RosterClient, csvToLines, type UpsertUserInput } from '../src/index.js';

const [file] = process.argv.slice(2);
const url = process.env.ROSTER_URL;
const apiKey = process.env.ROSTER_API_KEY;
if (!file || !url || !apiKey) {
  process.stderr.write('usage: ROSTER_URL=… ROSTER_API_KEY=… import-csv.ts <file.csv>\n');
  process.exit(2);
}

const client = new RosterClient({ url, apiKey });
const text = await readFile(file, 'utf8');
const { lines, sourceLine, unknownColumns } = csvToLines(text);
if (unknownColumns.length) process.stderr.write(`ignoring columns: ${unknownColumns.join(', ')}\n`);

const SMALL = 1000;
const upserts = lines.filter((l) => l.op === 'upsertUser');
if (lines.length <= SMALL && upserts.length === lines.length) {
  // Small and users only: one synchronous call, results right away.
  const users: UpsertUserInput[] = upserts.map(({ user }) => {
    const { givenName, familyName, manager, customAttributes, ...rest } = user;
    return {
      ...rest,
      name: { givenName, familyName },
      manager: manager ? { externalId: manager } : undefined,
      customAttributes,
    } as UpsertUserInput;
  });
  const matchBy = users.every((u) => u.externalId) ? 'EXTERNAL_ID' : 'USER_NAME';
  const result = await client.upsertUsers(users, matchBy);
  for (const r of result.results) {
    if (r.userErrors.length) process.stderr.write(`CSV line ${sourceLine[r.index]}: ${r.userErrors.map((e) => e.message).join('; ')}\n`);
  }
  process.stdout.write(`created ${result.created}, updated ${result.updated}, unchanged ${result.unchanged}, failed ${result.failed}\n`);
  process.exit(result.failed ? 3 : 0);
}

// Large: a bulk job. The key makes the upload resumable and a re-run reuse the same job.
const clientKey = `example-import:${createHash('sha256').update(text).digest('hex').slice(0, 40)}`;
const { job, reused } = await client.uploadBulkJob(
  lines.map((l) => JSON.stringify(l)),
  { clientKey, onUpload: (n, total) => process.stderr.write(`\ruploaded ${n}/${total} lines`) },
);
process.stderr.write(`\n${reused ? 'continuing' : 'started'} job ${job.id}\n`);
const done = await client.waitForBulkJob(job.id, {
  onProgress: (j) => process.stderr.write(`\r${j.processed}/${j.totalLines} lines (${j.failed} failed)`),
});
process.stderr.write('\n');
for await (const line of client.bulkJobLines(done.id, 'FAILED')) {
  process.stderr.write(`CSV line ${sourceLine[line.lineNumber - 1]}: ${line.error?.code} ${line.error?.message}\n`);
}
process.stdout.write(`${done.status}: ${done.succeeded} applied, ${done.failed} failed\n`);
process.exit(done.failed ? 3 : 0);
