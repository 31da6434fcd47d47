import type { MikroORM } from '@mikro-orm/postgresql';
import type { Context, Middleware } from 'koa';
import type { Logger } from '../../infra/logger.js';
import { runInRequestContext } from '../../infra/request-context.js';
import { requestTracer, type SpanLike } from '../../infra/tracing.js';
import type { Door, Metrics } from '../metrics.js';

/** Paths served outside the routers, with their own fixed route label. */
const OPS_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

export function doorOf(path: string): Door {
  if (path === '/scim/v2' || path.startsWith('/scim/v2/')) return 'scim';
  if (path === '/graphql') return 'graphql';
  if (OPS_ROUTES.has(path)) return 'ops';
  return 'other';
}

interface MatchedLayer {
  path: string | RegExp;
  methods: string[];
}

/**
 * The route template that served the request (`/scim/v2/Users/:id`), from the layers the routers
 * matched: the first route (not middleware, not a catch-all) registered for this method. Never the raw
 * path, so the label set stays bounded whatever clients send.
 */
export function routeTemplate(ctx: Context): string {
  if (OPS_ROUTES.has(ctx.path)) return ctx.path;
  const matched = (ctx as unknown as { matched?: MatchedLayer[] }).matched ?? [];
  const method = ctx.method === 'HEAD' ? 'GET' : ctx.method;
  const layer = matched.find(
    (l) => typeof l.path === 'string' && l.methods.includes(method) && !l.path.includes('{*') && !l.path.includes('(.*)'),
  );
  return layer ? (layer.path as string) : 'unmatched';
}

/**
 * Tenant slugs by id, for GraphQL requests (authentication by API key yields the tenant's id; SCIM's
 * yields the slug too). Bounded: past `max` entries the oldest is dropped.
 */
export class TenantSlugs {
  private readonly cache = new Map<string, string>();
  constructor(
    private readonly orm: MikroORM,
    private readonly max = 10_000,
  ) {}

  get(tenantId: string): string | undefined {
    return this.cache.get(tenantId);
  }

  async resolve(tenantId: string): Promise<string | undefined> {
    const hit = this.cache.get(tenantId);
    if (hit) return hit;
    try {
      const rows = await this.orm.em.fork().transactional(async (em) => {
        // Row-level security: a tenant sees its own row of `tenants`.
        await em.execute(`select set_config('roster.tenant_id', ?, true)`, [tenantId]);
        return em.execute<Array<{ slug: string }>>('select slug from tenants where id = ?', [tenantId]);
      });
      const slug = rows[0]?.slug;
      if (slug) {
        if (this.cache.size >= this.max) this.cache.delete(this.cache.keys().next().value as string);
        this.cache.set(tenantId, slug);
      }
      return slug;
    } catch {
      return undefined; // database unavailable: the line carries the tenant id only
    }
  }
}

interface RequestState {
  requestId?: string;
  scim?: { tenantSlug?: string; scope?: { tenantId?: string } };
  graphql?: { scope?: { tenantId?: string } | null };
}

function tenantOf(ctx: Context, slugs: TenantSlugs): { tenantId?: string; tenant?: string } {
  const state = ctx.state as RequestState;
  if (state.scim?.scope?.tenantId) return { tenantId: state.scim.scope.tenantId, tenant: state.scim.tenantSlug };
  const id = state.graphql?.scope?.tenantId;
  return id ? { tenantId: id, tenant: slugs.get(id) } : {};
}

/**
 * Outermost middleware: opens the request's log context (every line logged while serving it carries
 * the request id, door and tenant), a tracing span when tracing is on, and when the response is
 * decided writes one access-log line and the metrics. The line holds method, route template, status,
 * duration, door and tenant: no query string, body, header or address, so no secret or personal data.
 */
export function accessLog(deps: { logger: Logger; metrics: Metrics; slugs: TenantSlugs }): Middleware {
  const { logger, metrics, slugs } = deps;
  return async function accessLogMiddleware(ctx, next) {
    const started = process.hrtime.bigint();
    const door = doorOf(ctx.path);
    const fields = () => ({ requestId: (ctx.state as RequestState).requestId, door, ...tenantOf(ctx, slugs) });
    metrics.requestStarted();
    const serve = async (span?: SpanLike) => {
      let failed: unknown;
      try {
        await next();
      } catch (err) {
        failed = err;
        throw err;
      } finally {
        const route = routeTemplate(ctx);
        // A failure that escaped every error handler becomes Koa's 500.
        const status = failed ? 500 : ctx.status;
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        metrics.observe({ door, route, method: ctx.method, status, seconds });
        const line = { ...fields(), method: ctx.method, route, status, durationMs: Math.round(seconds * 1e5) / 100 };
        if (span) {
          span.updateName(`${ctx.method} ${route}`);
          span.setAttribute('http.request.method', ctx.method);
          span.setAttribute('http.route', route);
          span.setAttribute('http.response.status_code', status);
          span.setAttribute('roster.door', door);
          if (line.tenant) span.setAttribute('roster.tenant', line.tenant);
          if (line.requestId) span.setAttribute('roster.request_id', line.requestId);
          if (status >= 500) span.setStatus({ code: 2 });
          span.end();
        }
        const write = (l: typeof line) => (status >= 500 ? logger.warn(l, 'request') : logger.info(l, 'request'));
        if (line.tenantId && !line.tenant && door !== 'scim')
          void slugs.resolve(line.tenantId).then((tenant) => write({ ...line, tenant }));
        else write(line);
      }
    };
    const tracer = requestTracer();
    await runInRequestContext({ fields }, () => (tracer ? tracer.inServerSpan(`${ctx.method} ${door}`, ctx.headers, serve) : serve()));
  };
}
