import { Writable } from 'node:stream';
import { createLogger } from './logger.js';
import { OTEL_PACKAGES, requestTracer, startTracing } from './tracing.js';

function memoryLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { logger: createLogger('info', sink), lines };
}

describe('optional OpenTelemetry tracing', () => {
  it('is off and silent without OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    const { logger, lines } = memoryLogger();
    await startTracing(undefined, logger);
    expect(requestTracer()).toBeNull();
    expect(lines).toEqual([]);
  });

  it('with an endpoint but without the OpenTelemetry packages: says so clearly, names what to install, and runs without tracing', async () => {
    const { logger, lines } = memoryLogger();
    await startTracing('http://127.0.0.1:4318', logger);
    expect(requestTracer()).toBeNull();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toEqual(expect.objectContaining({ level: 40, install: `npm install ${OTEL_PACKAGES.join(' ')}` }));
    expect(String(lines[0].msg)).toMatch(
      /OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry packages are not installed, so tracing is OFF/,
    );
  });
});
