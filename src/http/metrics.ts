import type { Middleware } from 'koa';
import { createHash, timingSafeEqual } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * Prometheus metrics, hand-written: Roster needs two counters, a histogram and a few gauges with fixed
 * label sets, which is ~150 lines of exposition format; prom-client would add a dependency (and its
 * own) for the same text. Every label takes values from a closed set (door, route template, method,
 * status code), never from request data, so a hostile client cannot grow the series count.
 */

/** Request latency buckets in seconds, up to Okta's 60-second deadline. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export type Door = 'scim' | 'graphql' | 'ops' | 'other';
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export interface RequestObservation {
  door: Door;
  /** A route template (`/scim/v2/Users/:id`) or `unmatched`. */
  route: string;
  method: string;
  status: number;
  seconds: number;
}

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

/** Gauges read at scrape time (database pool, process). */
export type GaugeSource = () => Promise<Array<{ name: string; help: string; value: number; labels?: Record<string, string> }>>;

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labelText = (labels: Record<string, string>) =>
  `{${Object.entries(labels)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',')}}`;

export class Metrics {
  private readonly requests = new Map<string, { labels: Record<string, string>; value: number }>();
  private readonly errors = new Map<string, { labels: Record<string, string>; value: number }>();
  private readonly latency = new Map<string, { labels: Record<string, string>; h: Histogram }>();
  private inFlight = 0;
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 20 });
  private readonly startedAt = Date.now() / 1000;

  constructor(private readonly gauges: GaugeSource[] = []) {
    this.loopDelay.enable();
  }

  stop(): void {
    this.loopDelay.disable();
  }

  requestStarted(): void {
    this.inFlight++;
  }

  observe(o: RequestObservation): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    const method = METHODS.has(o.method) ? o.method : 'OTHER';
    const status = Number.isInteger(o.status) && o.status >= 100 && o.status <= 599 ? String(o.status) : '0';
    const base = { door: o.door, route: o.route, method };
    bump(this.requests, { ...base, status });
    if (o.status >= 400) bump(this.errors, { ...base, class: o.status >= 500 ? '5xx' : '4xx' });
    const key = JSON.stringify(base);
    let entry = this.latency.get(key);
    if (!entry) {
      entry = { labels: base, h: { buckets: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 } };
      this.latency.set(key, entry);
    }
    const h = entry.h;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) if (o.seconds <= LATENCY_BUCKETS[i]) h.buckets[i]++;
    h.sum += o.seconds;
    h.count++;
  }

  /** The text exposition format, version 0.0.4. */
  async render(): Promise<string> {
    const out: string[] = [];
    out.push('# HELP roster_http_requests_total HTTP requests answered, by door, route template, method and status.');
    out.push('# TYPE roster_http_requests_total counter');
    for (const { labels, value } of this.requests.values()) out.push(`roster_http_requests_total${labelText(labels)} ${value}`);
    out.push(
      '# HELP roster_http_request_errors_total HTTP requests answered with a 4xx or 5xx status, by door, route template, method and class.',
    );
    out.push('# TYPE roster_http_request_errors_total counter');
    for (const { labels, value } of this.errors.values()) out.push(`roster_http_request_errors_total${labelText(labels)} ${value}`);
    out.push('# HELP roster_http_request_duration_seconds Time to produce the response, by door, route template and method.');
    out.push('# TYPE roster_http_request_duration_seconds histogram');
    for (const { labels, h } of this.latency.values()) {
      LATENCY_BUCKETS.forEach((le, i) =>
        out.push(`roster_http_request_duration_seconds_bucket${labelText({ ...labels, le: String(le) })} ${h.buckets[i]}`),
      );
      out.push(`roster_http_request_duration_seconds_bucket${labelText({ ...labels, le: '+Inf' })} ${h.count}`);
      out.push(`roster_http_request_duration_seconds_sum${labelText(labels)} ${h.sum}`);
      out.push(`roster_http_request_duration_seconds_count${labelText(labels)} ${h.count}`);
    }
    const gauge = (name: string, help: string, value: number, labels?: Record<string, string>) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name}${labels ? labelText(labels) : ''} ${value}`);
    };
    gauge('roster_http_requests_in_flight', 'HTTP requests being served.', this.inFlight);
    const mem = process.memoryUsage();
    gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', mem.rss);
    gauge('nodejs_heap_used_bytes', 'V8 heap in use, in bytes.', mem.heapUsed);
    gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch, in seconds.', this.startedAt);
    gauge(
      'nodejs_eventloop_delay_p99_seconds',
      'Event loop delay, 99th percentile since the last scrape, in seconds.',
      this.loopDelay.percentile(99) / 1e9,
    );
    this.loopDelay.reset();
    for (const source of this.gauges) {
      try {
        for (const g of await source()) gauge(g.name, g.help, g.value, g.labels);
      } catch {
        // A gauge that cannot be read (e.g. the pool during shutdown) is left out of this scrape.
      }
    }
    return `${out.join('\n')}\n`;
  }
}

function bump(map: Map<string, { labels: Record<string, string>; value: number }>, labels: Record<string, string>) {
  const key = JSON.stringify(labels);
  const entry = map.get(key);
  if (entry) entry.value++;
  else map.set(key, { labels, value: 1 });
}

/** Gauges of the database connection pool: how many connections, idle, and requests waiting for one. */
export function poolGauges(orm: { driver: { getConnection(): unknown } }): GaugeSource {
  return async () => {
    const conn = orm.driver.getConnection() as {
      getNativeClient(): Promise<{ totalCount: number; idleCount: number; waitingCount: number }>;
    };
    const pool = await conn.getNativeClient();
    return [
      { name: 'roster_db_pool_connections', help: 'Open database connections of this process.', value: pool.totalCount },
      { name: 'roster_db_pool_idle_connections', help: 'Idle database connections of this process.', value: pool.idleCount },
      { name: 'roster_db_pool_waiting_requests', help: 'Requests waiting for a database connection.', value: pool.waitingCount },
    ];
  };
}

/** GET /metrics: Prometheus text; with ROSTER_METRICS_TOKEN set, only for `Authorization: Bearer <token>`. */
export function metricsEndpoint(metrics: Metrics, token?: string): Middleware {
  const expected = token ? createHash('sha256').update(token).digest() : null;
  return async function metricsMiddleware(ctx, next) {
    if (ctx.path !== '/metrics') return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.set('Allow', 'GET, HEAD');
      ctx.body = { error: 'use GET' };
      return;
    }
    if (expected) {
      const presented = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'))?.[1] ?? '';
      if (!timingSafeEqual(createHash('sha256').update(presented).digest(), expected)) {
        ctx.status = 401;
        ctx.set('WWW-Authenticate', 'Bearer realm="roster-metrics"');
        ctx.body = { error: 'send ROSTER_METRICS_TOKEN as "Authorization: Bearer <token>"' };
        return;
      }
    }
    ctx.type = 'text/plain; version=0.0.4; charset=utf-8';
    ctx.body = await metrics.render();
  };
}
