import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { request } from './http.js';
import { percentile, round } from './stats.js';

/**
 * The load driver: `count` tasks run by `concurrency` workers, each task one request (or one raw SQL
 * statement for the baselines). Bounded in count and in time: a worker takes no new task after the
 * deadline, so every run stops by itself.
 */
export interface LoadSpec {
  concurrency: number;
  count: number;
  maxMs: number;
  /** One unit of work; resolves true when the answer was the expected one. */
  task: (i: number) => Promise<boolean>;
  /** Unmeasured work after task i, by the same worker (e.g. an interleaved probe that measures itself). */
  after?: (i: number) => Promise<void>;
}

export interface LoadResult {
  requests: number;
  errors: number;
  elapsedMs: number;
  throughput: number;
  p50: number;
  p95: number;
  p99: number;
  /** Latency of task i in ms (NaN for tasks not run). */
  latencies: Float64Array;
  timedOut: boolean;
  errorSamples: string[];
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const latencies = new Float64Array(spec.count).fill(NaN);
  let next = 0;
  let done = 0;
  let errors = 0;
  let timedOut = false;
  const errorSamples: string[] = [];
  const start = performance.now();
  const deadline = start + spec.maxMs;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= spec.count) return;
      if (performance.now() > deadline) {
        timedOut = true;
        return;
      }
      const t0 = performance.now();
      let ok = false;
      try {
        ok = await spec.task(i);
        if (!ok && errorSamples.length < 5) errorSamples.push(`task ${i}: unexpected answer`);
      } catch (err) {
        if (errorSamples.length < 5) errorSamples.push(`task ${i}: ${err instanceof Error ? err.message : String(err)}`);
      }
      latencies[i] = performance.now() - t0;
      done++;
      if (!ok) errors++;
      if (spec.after) await spec.after(i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, spec.concurrency) }, worker));
  const elapsedMs = performance.now() - start;
  const ran = latencies.filter((v) => !Number.isNaN(v));
  return {
    requests: done,
    errors,
    elapsedMs,
    throughput: done / (elapsedMs / 1000),
    p50: percentile(ran, 50),
    p95: percentile(ran, 95),
    p99: percentile(ran, 99),
    latencies,
    timedOut,
    errorSamples,
  };
}

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s (`getconf CLK_TCK`). */
const CLOCK_TICKS = 100;

/** utime + stime (and, with `children`, cutime + cstime: children that exited) of a process from /proc, in ms; NaN when unknown. */
function procCpuMs(pid: number, children = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]) + (children ? Number(fields[13]) + Number(fields[14]) : 0);
    return (ticks * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/**
 * CPU time the embedded PostgreSQL has used so far (the postmaster, its live backends and workers, and those
 * that exited), in ms, from /proc; NaN when unknown (DATABASE_URL, or no /proc). Read before and after a
 * scenario, it gives PostgreSQL's share of a request beside the server's.
 */
export function postgresCpuMs(postmasterPid: number | null): number {
  if (postmasterPid === null) return NaN;
  let total = procCpuMs(postmasterPid, true);
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return NaN;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmasterPid) total += procCpuMs(Number(entry));
    } catch {
      // the process exited meanwhile: its time is in the postmaster's children's time once reaped
    }
  }
  return total;
}

/** Samples VmRSS of a process from /proc every `intervalMs`; `window()` gives the peak since the last call. */
export class RssMonitor {
  private peakAll = 0;
  private peakWindow = 0;
  private heapPeakWindow = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly heapTimer: NodeJS.Timeout | null = null;

  /** With `metricsPort`, also samples V8's heapUsed from Roster's /metrics (when it has one) once a second. */
  constructor(
    private readonly pid: number,
    intervalMs = 200,
    metricsPort?: number,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    if (metricsPort) {
      let supported = true;
      this.heapTimer = setInterval(() => {
        if (!supported) return;
        request(metricsPort, 'GET', '/metrics').then(
          (res) => {
            const m = /^nodejs_heap_used_bytes\s+([0-9.e+]+)/m.exec(res.body);
            if (res.status !== 200 || !m) supported = false;
            else this.heapPeakWindow = Math.max(this.heapPeakWindow, Number(m[1]) / 1024 / 1024);
          },
          () => {},
        );
      }, 1000);
      this.heapTimer.unref();
    }
  }

  /** Peak V8 heapUsed (MB) since the previous call, or NaN when not sampled. */
  heapWindow(): number {
    const v = this.heapPeakWindow;
    this.heapPeakWindow = 0;
    return v > 0 ? round(v, 1) : NaN;
  }

  /** CPU time (user + system) the process has used so far, in ms, from /proc/<pid>/stat; NaN when unknown. */
  cpuMs(): number {
    return procCpuMs(this.pid);
  }

  /** Current RSS in MB, or NaN when the process is gone (or /proc is not there). */
  readMb(): number {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      return m ? Number(m[1]) / 1024 : NaN;
    } catch {
      return NaN;
    }
  }

  private sample(): void {
    const mb = this.readMb();
    if (!Number.isFinite(mb)) return;
    if (mb > this.peakAll) this.peakAll = mb;
    if (mb > this.peakWindow) this.peakWindow = mb;
  }

  /** Peak RSS (MB) since the previous window() call; starts a new window. */
  window(): number {
    this.sample();
    const peak = this.peakWindow;
    this.peakWindow = 0;
    return round(peak, 1);
  }

  get peakMb(): number {
    return round(this.peakAll, 1);
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.heapTimer) clearInterval(this.heapTimer);
  }
}

/** One JSON line per scenario, as issue 4 asks. */
export interface ScenarioLine {
  scenario: string;
  N: number;
  concurrency: number;
  requests: number;
  throughput: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  rssMb: number;
  [extra: string]: unknown;
}

export function line(
  scenario: string,
  N: number,
  concurrency: number,
  r: LoadResult,
  rssMb: number,
  extra: Record<string, unknown> = {},
): ScenarioLine {
  return {
    scenario,
    N,
    concurrency,
    requests: r.requests,
    throughput: round(r.throughput, 1),
    p50: round(r.p50),
    p95: round(r.p95),
    p99: round(r.p99),
    errors: r.errors,
    rssMb,
    load1: Math.round(loadavg()[0] * 100) / 100,
    ...(r.timedOut ? { timedOut: true } : {}),
    ...(r.errorSamples.length ? { errorSamples: r.errorSamples } : {}),
    ...extra,
  };
}
