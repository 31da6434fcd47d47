import type { Logger } from './logger.js';

/**
 * Optional OpenTelemetry tracing. Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; then Roster loads the
 * OpenTelemetry packages at run time (they are not dependencies: most deployments do not trace, and the
 * SDK is heavy). When they are missing, a warning says what to install and Roster runs without tracing.
 *
 * What is traced: one server span per HTTP request (http/middleware/access-log.ts), named after the route
 * template, continuing an incoming W3C `traceparent`. Database and outgoing-HTTP spans come from the
 * OpenTelemetry auto-instrumentations when the process is started with their loader (README, Operations).
 */

export const OTEL_PACKAGES = ['@opentelemetry/api', '@opentelemetry/sdk-node', '@opentelemetry/exporter-trace-otlp-proto'];

/** The slice of the OpenTelemetry API the access log uses. */
export interface SpanLike {
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(err: unknown): unknown;
  updateName(name: string): unknown;
  end(): void;
}

export interface RequestTracer {
  /** Runs `fn` inside a new server span (child of the caller's trace when `headers` carry one). */
  inServerSpan<T>(name: string, headers: Record<string, string | string[] | undefined>, fn: (span: SpanLike) => Promise<T>): Promise<T>;
}

let tracer: RequestTracer | null = null;
let shutdownSdk: (() => Promise<void>) | null = null;

/** The request tracer when tracing is on, else null. */
export const requestTracer = (): RequestTracer | null => tracer;

// Module names in variables: TypeScript must not resolve packages that are deliberately not installed.
const load = (name: string): Promise<Record<string, unknown>> => import(name) as Promise<Record<string, unknown>>;

/** Starts tracing when configured. Never throws: tracing must not keep Roster from serving. */
export async function startTracing(endpoint: string | undefined, logger: Logger): Promise<void> {
  if (!endpoint || tracer) return;
  let api: Record<string, unknown>;
  let sdkNode: Record<string, unknown>;
  let exporterMod: Record<string, unknown>;
  try {
    [api, sdkNode, exporterMod] = await Promise.all(OTEL_PACKAGES.map(load));
  } catch {
    logger.warn(
      { endpoint, install: `npm install ${OTEL_PACKAGES.join(' ')}` },
      `OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry packages are not installed, so tracing is OFF. Install them with "npm install ${OTEL_PACKAGES.join(' ')}" (see "Operations" in README.md), or unset OTEL_EXPORTER_OTLP_ENDPOINT.`,
    );
    return;
  }
  try {
    type Ctor = new (options?: Record<string, unknown>) => Record<string, (...args: unknown[]) => unknown>;
    const Exporter = exporterMod.OTLPTraceExporter as Ctor;
    const NodeSDK = sdkNode.NodeSDK as Ctor;
    // The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (and _HEADERS, _TIMEOUT …) itself.
    const sdk = new NodeSDK({ serviceName: process.env.OTEL_SERVICE_NAME ?? 'roster', traceExporter: new Exporter() });
    sdk.start();
    shutdownSdk = async () => {
      await (sdk.shutdown() as Promise<void>);
    };
    const trace = api.trace as { getTracer(name: string): { startActiveSpan: (...args: unknown[]) => unknown } };
    const propagation = api.propagation as { extract(ctx: unknown, carrier: unknown): unknown };
    const context = api.context as { active(): unknown };
    const t = trace.getTracer('roster');
    const SERVER = 1; // SpanKind.SERVER
    tracer = {
      inServerSpan: (name, headers, fn) => {
        const parent = propagation.extract(context.active(), headers);
        return t.startActiveSpan(name, { kind: SERVER }, parent, fn) as ReturnType<typeof fn>;
      },
    };
    logger.info({ endpoint }, 'OpenTelemetry tracing on');
  } catch (err) {
    logger.warn({ err, endpoint }, 'OpenTelemetry tracing could not start; tracing is OFF');
  }
}

/** Flushes and stops the exporter (graceful shutdown). */
export async function stopTracing(): Promise<void> {
  const stop = shutdownSdk;
  tracer = null;
  shutdownSdk = null;
  await stop?.().catch(() => undefined);
}
