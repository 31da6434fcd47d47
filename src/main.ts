import 'reflect-metadata';
import type { Server } from 'node:http';
import { ConfigError, loadConfig, scimBaseUrl } from './config/env.js';
import { createApp } from './app.js';
import { createLogger } from './infra/logger.js';
import { openRuntime } from './runtime.js';

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
  const runtime = await openRuntime(config, logger, { migrate: config.migrateOnStart });
  const app = await createApp({ orm: runtime.orm, config, logger });
  const server: Server = app.koa.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const db = runtime.database.kind === 'embedded' ? `embedded PostgreSQL on 127.0.0.1:${runtime.database.port}, data in ${runtime.database.dataDir}` : 'PostgreSQL at DATABASE_URL';
  logger.info({ port, database: runtime.database.kind }, 'roster listening');
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
    logger.info({ signal }, 'shutting down: draining requests');
    server.close();
    server.closeIdleConnections();
    await new Promise<void>((resolve) => (server.listening ? server.once('close', resolve) : resolve()));
    await app.stop();
    await runtime.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`roster failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
