import type { SizeResult } from './scenarios.js';
import { round } from './lib/stats.js';

export interface TargetRow {
  target: string;
  required: string;
  /** Measured value per N (a ratio, or MB, or a count). */
  values: Record<number, number | null>;
  pass: Record<number, boolean | null>;
  detail: Record<number, string>;
}

type Check = {
  target: string;
  required: string;
  value: (m: Record<string, number>, r: SizeResult) => number | null;
  ok: (v: number) => boolean;
  detail?: (m: Record<string, number>, r: SizeResult) => string;
};

const has = (m: Record<string, number>, ...keys: string[]) => keys.every((k) => Number.isFinite(m[k]));
const ratio = (a: string, b: string) => (m: Record<string, number>) => (has(m, a, b) ? m[a] / m[b] : null);

/** The targets of issue 4, per size. */
const CHECKS: Check[] = [
  {
    target: 'creates ≥ 0.5 × B1 throughput',
    required: '≥ 0.50',
    value: ratio('s1_tput', 'b1_tput'),
    ok: (v) => v >= 0.5,
    detail: (m) => `${round(m.s1_tput, 0)} vs ${round(m.b1_tput, 0)} req/s`,
  },
  {
    target: 'lookups ≥ 0.6 × B2 throughput',
    required: '≥ 0.60',
    value: ratio('s2_tput', 'b2_tput'),
    ok: (v) => v >= 0.6,
    detail: (m) => `${round(m.s2_tput, 0)} vs ${round(m.b2_tput, 0)} req/s`,
  },
  {
    target: 'Entra PATCH replace ≥ 0.5 × B1',
    required: '≥ 0.50',
    value: ratio('s4_replace_tput', 'b1_tput'),
    ok: (v) => v >= 0.5,
    detail: (m) => `${round(m.s4_replace_tput, 0)} vs ${round(m.b1_tput, 0)} req/s`,
  },
  {
    target: 'Entra PATCH deactivate ≥ 0.5 × B1',
    required: '≥ 0.50',
    value: ratio('s4_deactivate_tput', 'b1_tput'),
    ok: (v) => v >= 0.5,
    detail: (m) => `${round(m.s4_deactivate_tput, 0)} vs ${round(m.b1_tput, 0)} req/s`,
  },
  {
    target: 'import total ≤ 3 × B3',
    required: '≤ 3.00',
    value: ratio('s3_total_ms', 'b3_total_ms'),
    ok: (v) => v <= 3,
    detail: (m) => `${round(m.s3_total_ms / 1000, 2)} s vs ${round(m.b3_total_ms / 1000, 2)} s`,
  },
  {
    target: 'import last pages ≤ 2 × first (p50)',
    required: '≤ 2.00',
    value: ratio('s3_last_p50', 's3_first_p50'),
    ok: (v) => v <= 2,
    detail: (m) => `${round(m.s3_last_p50, 1)} vs ${round(m.s3_first_p50, 1)} ms`,
  },
  {
    target: 'group PATCH p50 at max ≤ 1.5 × at ~100',
    required: '≤ 1.50',
    value: ratio('s5_p50_large', 's5_p50_small'),
    ok: (v) => v <= 1.5,
    detail: (m) => `last 10 vs first 10 batches: ${round(m.s5_p50_large, 1)} ms at ${m.s5_members} vs ${round(m.s5_p50_small, 1)} ms`,
  },
  {
    target: 'same, drift-free: last tenth vs probes',
    required: '≤ 1.50',
    value: ratio('s5_p50_late_batches', 's5_p50_late_probes'),
    ok: (v) => v <= 1.5,
    detail: (m) => `${round(m.s5_p50_late_batches, 1)} ms vs ${round(m.s5_p50_late_probes, 1)} ms (0→100 members, same moments)`,
  },
  {
    target: 'subtree query ≤ 2 × B4 (p50)',
    required: '≤ 2.00',
    value: ratio('s6_subtree_p50', 'b4_p50'),
    ok: (v) => v <= 2,
    detail: (m) => `${round(m.s6_subtree_p50, 1)} vs ${round(m.b4_p50, 1)} ms`,
  },
  {
    target: 'connection page ≤ 3 × raw SQL (p50)',
    required: '≤ 3.00',
    value: ratio('s6_page_p50', 'raw_page_p50'),
    ok: (v) => v <= 3,
    detail: (m) => `${round(m.s6_page_p50, 1)} vs ${round(m.raw_page_p50, 1)} ms`,
  },
  {
    target: 'server RSS < 400 MB (peak)',
    required: '< 400',
    value: (_m, r) => r.peakRssMb,
    ok: (v) => v < 400,
    detail: (_m, r) => `${r.peakRssMb} MB`,
  },
  {
    target: 'no scenario has errors',
    required: '= 0',
    value: (m) => (Number.isFinite(m.errors) ? m.errors : null),
    ok: (v) => v === 0,
    detail: (m) => `${m.errors} errors`,
  },
];

/**
 * Throughputs that must not fall by more than 20 % from the smallest N to the largest (nothing O(table) per
 * request). Where a baseline of the same kind ran in both halves of the run, each is also compared relative
 * to it: (Roster / baseline at the large size) / (the same at the small size). That ratio cancels the
 * machine's speed moving between the two halves (round 7 saw the baselines themselves move by 30 %), and
 * still falls if Roster's cost per request grows with N while an index probe's does not.
 */
const SCALING: Array<{ key: string; label: string; base?: string }> = [
  { key: 's1_tput', label: 'creates', base: 'b1_tput' },
  { key: 's2_tput', label: 'lookups', base: 'b2_tput' },
  { key: 's4_replace_tput', label: 'PATCH replace', base: 'b1_tput' },
  { key: 's4_deactivate_tput', label: 'PATCH deactivate', base: 'b1_tput' },
  { key: 's3_pages_per_s', label: 'import pages', base: 'b3_pages_per_s' },
  { key: 's5_add_tput', label: 'group PATCH add' },
  { key: 's5_remove_tput', label: 'group PATCH remove' },
  { key: 's6_page_tput', label: 'GraphQL users page', base: 'raw_page_tput' },
];

interface ScalingRow {
  label: string;
  small: number;
  large: number;
  ratio: number;
  pass: boolean;
  /** The ratio relative to the baseline measured at each size (null: no baseline of its kind). */
  driftFree: number | null;
  driftFreePass: boolean | null;
}

export function evaluate(results: SizeResult[]): {
  rows: TargetRow[];
  scaling: ScalingRow[];
} {
  const rows: TargetRow[] = CHECKS.map((c) => {
    const row: TargetRow = { target: c.target, required: c.required, values: {}, pass: {}, detail: {} };
    for (const r of results) {
      const v = c.value(r.metrics, r);
      row.values[r.N] = v === null ? null : round(v, 2);
      row.pass[r.N] = v === null ? null : c.ok(v);
      row.detail[r.N] = v === null ? 'not run' : (c.detail?.(r.metrics, r) ?? '');
    }
    return row;
  });
  const scaling: ScalingRow[] = [];
  if (results.length >= 2) {
    const small = results[0];
    const large = results[results.length - 1];
    for (const s of SCALING) {
      if (!has(small.metrics, s.key) || !has(large.metrics, s.key)) continue;
      const r = large.metrics[s.key] / small.metrics[s.key];
      const base = s.base;
      const d =
        base !== undefined && has(small.metrics, base) && has(large.metrics, base) ? r / (large.metrics[base] / small.metrics[base]) : null;
      scaling.push({
        label: s.label,
        small: round(small.metrics[s.key], 1),
        large: round(large.metrics[s.key], 1),
        ratio: round(r, 3),
        pass: r >= 0.8,
        driftFree: d === null ? null : round(d, 3),
        driftFreePass: d === null ? null : d >= 0.8,
      });
    }
  }
  return { rows, scaling };
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

export function renderTable(results: SizeResult[]): string {
  const { rows, scaling } = evaluate(results);
  const sizes = results.map((r) => r.N);
  const header = ['target', ...sizes.map((n) => `N=${n}`), 'required'];
  const body = rows.map((r) => [
    r.target,
    ...sizes.map((n) => (r.values[n] === null ? '—' : `${r.values[n]} ${r.pass[n] ? 'PASS' : 'MISS'} (${r.detail[n]})`)),
    r.required,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => pad(c, widths[i])).join(' | ')} |`;
  const lines = [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(fmt)];
  if (scaling.length) {
    lines.push('', `Throughput at N=${sizes[sizes.length - 1]} vs N=${sizes[0]} (target: within 20 %, ratio ≥ 0.80)`);
    const sh = ['throughput', `N=${sizes[0]}`, `N=${sizes[sizes.length - 1]}`, 'ratio', 'result', 'drift-free: vs its baseline'];
    const sb = scaling.map((s) => [
      s.label,
      String(s.small),
      String(s.large),
      String(s.ratio),
      s.pass ? 'PASS' : 'MISS',
      s.driftFree === null ? '—' : `${s.driftFree} ${s.driftFreePass ? 'PASS' : 'MISS'}`,
    ]);
    const sw = sh.map((h, i) => Math.max(h.length, ...sb.map((b) => b[i].length)));
    const f2 = (cells: string[]) => `| ${cells.map((c, i) => pad(c, sw[i])).join(' | ')} |`;
    lines.push(f2(sh), `|${sw.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...sb.map(f2));
  }
  return lines.join('\n');
}
