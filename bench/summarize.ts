/**
 * Medians over several runs of `npm run bench` (each run measures the baselines and Roster side by side,
 * so per-run ratios are taken first, then their median):
 *
 *   node --import ./scripts/register.js bench/summarize.ts .tmp/bench/run-a .tmp/bench/run-b …
 *
 * Prints Markdown: the scenario lines (median throughput and latencies per scenario and N) and the
 * targets (median of each run's ratio, PASS/MISS on the median).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ScenarioLine } from './lib/load.js';
import { median, round } from './lib/stats.js';
import { evaluate } from './report.js';
import type { SizeResult } from './scenarios.js';

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  process.stderr.write('usage: node --import ./scripts/register.js bench/summarize.ts <results dir> [<results dir> …]\n');
  process.exit(2);
}

const runs: SizeResult[][] = dirs.map((d) =>
  readdirSync(d)
    .filter((f) => /^size-\d+\.json$/.test(f))
    .map((f) => JSON.parse(readFileSync(path.join(d, f), 'utf8')) as SizeResult)
    .sort((a, b) => a.N - b.N),
);
const sizes = [...new Set(runs.flat().map((r) => r.N))].sort((a, b) => a - b);
const med = (xs: number[]) => {
  const v = xs.filter((x) => Number.isFinite(x));
  return v.length ? round(median(v), 2) : NaN;
};
const fmt = (v: number) => (Number.isFinite(v) ? String(v) : '—');

const out: string[] = [`Medians over ${dirs.length} run(s): ${dirs.map((d) => path.basename(d)).join(', ')}`, ''];
out.push(
  '| scenario | N | C | requests | req/s | p50 ms | p95 ms | p99 ms | errors (all runs) | peak RSS MB |',
  '|---|---|---|---|---|---|---|---|---|---|',
);
const names = [...new Set(runs.flat().flatMap((r) => r.lines.map((l) => l.scenario)))];
for (const name of names) {
  for (const N of sizes) {
    const ls: ScenarioLine[] = runs.flatMap((rs) => rs.filter((r) => r.N === N).flatMap((r) => r.lines.filter((l) => l.scenario === name)));
    if (ls.length === 0) continue;
    if (ls.every((l) => l.skipped)) {
      out.push(`| ${name} | ${N} | — | — | — | — | — | — | — | — | ${String(ls[0].note ?? 'skipped')}`);
      continue;
    }
    const g = (k: keyof ScenarioLine) => med(ls.map((l) => Number(l[k])));
    out.push(
      `| ${name} | ${N} | ${ls[0].concurrency} | ${g('requests')} | ${fmt(g('throughput'))} | ${fmt(g('p50'))} | ${fmt(g('p95'))} | ${fmt(g('p99'))} | ${ls.reduce((n, l) => n + (l.errors || 0), 0)} | ${fmt(Math.max(...ls.map((l) => (l.rssMb === null || l.rssMb === undefined ? NaN : Number(l.rssMb))).filter(Number.isFinite)))} |`,
    );
  }
}

const evals = runs.map((rs) => evaluate(rs));
out.push('', `| target | ${sizes.map((n) => `N=${n}`).join(' | ')} | required |`, `|---|${sizes.map(() => '---').join('|')}|---|`);
for (const [i, row] of evals[0].rows.entries()) {
  const cells = sizes.map((N) => {
    const vals = evals.map((e) => e.rows[i].values[N]).filter((v): v is number => v !== null && v !== undefined);
    if (vals.length === 0) return '—';
    const m = med(vals);
    const pass = evalPass(row.required, m);
    return `${m} ${pass ? 'PASS' : 'MISS'} (runs: ${vals.join(', ')})`;
  });
  out.push(`| ${row.target} | ${cells.join(' | ')} | ${row.required} |`);
}
if (sizes.length >= 2) {
  out.push(
    '',
    `| throughput N=${sizes[sizes.length - 1]} / N=${sizes[0]} | median ratio | runs | result (≥ 0.80) | drift-free: vs its baseline (runs) |`,
    '|---|---|---|---|---|',
  );
  for (const s of evals[0].scaling) {
    const rows = evals.map((e) => e.scaling.find((x) => x.label === s.label));
    const vals = rows.map((r) => r?.ratio).filter((v): v is number => v !== undefined);
    const free = rows.map((r) => r?.driftFree).filter((v): v is number => v !== undefined && v !== null);
    const m = med(vals);
    const fm = free.length ? med(free) : null;
    const f = fm === null ? '—' : `${fm} ${fm >= 0.8 ? 'PASS' : 'MISS'} (${free.join(', ')})`;
    out.push(`| ${s.label} | ${m} | ${vals.join(', ')} | ${m >= 0.8 ? 'PASS' : 'MISS'} | ${f} |`);
  }
}
process.stdout.write(`${out.join('\n')}\n`);

function evalPass(required: string, v: number): boolean {
  const m = /^(≥|≤|<|=)\s*([0-9.]+)$/.exec(required.trim());
  if (!m) return false;
  const x = Number(m[2]);
  return m[1] === '≥' ? v >= x : m[1] === '≤' ? v <= x : m[1] === '<' ? v < x : v === x;
}
