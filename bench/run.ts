/**
 * `npm run bench`: the performance suite of issue 4. Starts its own Roster processes (on a fresh
 * embedded PostgreSQL in a temporary directory, or DATABASE_URL), loads an Okta/Entra-shaped
 * organisation, drives it over real HTTP with concurrency C from this process, measures the baselines
 * in the same run, and prints one JSON line per scenario and a table of the targets. Progress goes to
 * stderr; results are also written under --out. See docs/performance.md.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { closeHttp } from './lib/http.js';
import type { ScenarioLine } from './lib/load.js';
import { parseOptions, USAGE, type Options } from './lib/options.js';
import { log, ROOT, stopAllChildren, useCompiledBuild } from './lib/proc.js';
import { renderTable, evaluate } from './report.js';
import { runSize, type SizeResult } from './scenarios.js';
import { runTwoProcesses } from './scaleout.js';

function machine() {
  return {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    loadavgAtStart: os.loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

async function main(opts: Options): Promise<number> {
  const outDir = path.resolve(ROOT, opts.out);
  await mkdir(outDir, { recursive: true });
  const jsonl: string[] = [];
  const emit = (l: object) => {
    const s = JSON.stringify(l);
    jsonl.push(s);
    process.stdout.write(`${s}\n`);
  };
  if (opts.compiled) {
    log('compiling Roster (tsconfig.build.json) for --compiled');
    await useCompiledBuild(path.join(outDir, 'build'));
  }
  const info = machine();
  emit({ machine: info, options: { ...opts, scenarios: [...opts.scenarios] } });

  if (opts.twoProcesses) {
    const r = await runTwoProcesses(opts, outDir, (l: ScenarioLine) => emit(l));
    emit({ scaleOut: r.pass ? 'PASS' : 'FAIL', N: r.N, postgres: r.pgVersion, ...r.checks });
    await writeFile(path.join(outDir, 'scaleout.json'), JSON.stringify({ machine: info, ...r }, null, 2));
    await writeFile(path.join(outDir, 'results.jsonl'), `${jsonl.join('\n')}\n`);
    process.stdout.write(
      `\nTwo Roster processes on one PostgreSQL: ${r.pass ? 'PASS' : 'FAIL'} (${JSON.stringify(r.checks)})\nResults in ${outDir}\n`,
    );
    return r.pass ? 0 : 1;
  }

  const results: SizeResult[] = [];
  const sizes = [...opts.sizes].sort((a, b) => a - b);
  for (const N of sizes) {
    log(`=== N = ${N}, C = ${opts.concurrency} ===`);
    const r = await runSize(opts, N, N === sizes[sizes.length - 1], outDir, (l) => emit(l));
    results.push(r);
    await writeFile(path.join(outDir, `size-${N}.json`), JSON.stringify(r, null, 2));
  }
  const table = renderTable(results);
  const evaluation = evaluate(results);
  emit({
    summary: evaluation.rows.map((r) => ({ target: r.target, values: r.values, pass: r.pass })),
    scaling: evaluation.scaling,
    peakRssMb: Object.fromEntries(results.map((r) => [r.N, r.peakRssMb])),
  });
  process.stdout.write(`\n${table}\n`);
  for (const r of results) for (const n of r.notes) process.stdout.write(`note (N=${r.N}): ${n}\n`);
  const prof = results.find((r) => r.profile);
  if (prof?.profile) {
    const explains = prof.profile.explains
      .map((e) => `-- ${e.kind}\n-- ${e.sql}\n-- params: ${JSON.stringify(e.params)}\n${e.plan}\n`)
      .join('\n');
    await writeFile(path.join(outDir, 'explain.txt'), explains);
    await writeFile(path.join(outDir, 'profile.json'), JSON.stringify(prof.profile, null, 2));
    process.stdout.write(`\nStatements per request (N=${prof.N}); traces in profile.json, plans in explain.txt:\n`);
    for (const k of prof.profile.kinds)
      process.stdout.write(`  ${k.kind}: ${k.statements} statements, ${k.roundTrips} round trips, db ${k.dbMs} ms of ${k.httpMs} ms\n`);
  }
  await writeFile(path.join(outDir, 'results.jsonl'), `${jsonl.join('\n')}\n`);
  await writeFile(path.join(outDir, 'summary.md'), `${table}\n`);
  process.stdout.write(`\nResults in ${outDir}\n`);
  return 0;
}

let opts: Options | null;
try {
  opts = parseOptions(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
  process.exit(2);
}
if (!opts) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
let interrupted = false;
const interrupt = (signal: string) => {
  if (interrupted) return;
  interrupted = true;
  log(`${signal}: stopping the servers`);
  void stopAllChildren().finally(() => process.exit(130));
};
process.on('SIGINT', () => interrupt('SIGINT'));
process.on('SIGTERM', () => interrupt('SIGTERM'));

main(opts)
  .then(
    (code) => code,
    async (err) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      return 1;
    },
  )
  .then(async (code) => {
    closeHttp();
    await stopAllChildren();
    process.exit(code);
  });
