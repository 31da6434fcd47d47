import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, scimBaseUrl, type Config } from '../config/env.js';
import { DomainError } from '../kernel/errors.js';
import { Permission } from '../kernel/scope.js';
import { createLogger } from '../infra/logger.js';
import { translatingDbErrors } from '../infra/orm/db-errors.js';
import { inOperatorTransaction, inTenantTransaction } from '../infra/orm/session.js';
import { loadOpeningKeys } from '../infra/secret-box.js';
import { provisionTenantCredentials } from '../graphql/resolvers/admin.resolver.js';
import { ApiKey } from '../modules/credentials/credential.entity.js';
import { SECRET_PREFIX, displayPrefix, generateSecret, hashSecret } from '../modules/credentials/secrets.js';
import { createTenant, listTenants } from '../modules/tenants/tenant.service.js';
import type { Tenant } from '../modules/tenants/tenant.entity.js';
import { resealWebhookSecrets } from '../modules/webhooks/webhook.service.js';
import { uuidv7 } from '../kernel/ids.js';
import { openRuntime, type Runtime } from '../runtime.js';
import { runTransfer, TRANSFER_USAGE } from './transfer.js';

const USAGE = `Usage: npm run roster -- <command>

  tenant create <slug> [--name "Display Name"] [--json]
      Creates a tenant; prints its SCIM base URL, a SCIM token and an admin API key (shown once).
  tenant list [--json]
  operator-key create [--json]
      Creates an operator key: it may create and list tenants, and see nothing inside them.
  migrate
      Applies pending database migrations and exits (for deployments that migrate as a separate job).
  secrets reseal [--json]
      After ROSTER_SECRET_KEY changed (the old key in ROSTER_SECRET_KEY_PREVIOUS): seals every stored
      webhook signing secret again under the new key. The secrets stay the same. Exits 1 if a secret opens
      under none of the keys.
${TRANSFER_USAGE}

The database is DATABASE_URL, or the embedded one under ROSTER_DATA_DIR (shared with a running
"npm start"); import and export need neither. With --json, stdout carries exactly one JSON object; use
"npm run -s" to keep npm quiet.`;

const CLI_ACTOR = { kind: 'cli' as const, label: 'cli', permissions: new Set([Permission.TENANTS_MANAGE]) };

async function withRuntime<T>(config: Config, migrate: boolean, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');
  const rt = await openRuntime(config, logger, { migrate });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

async function run(argv: string[]): Promise<number> {
  // import / export talk to a running Roster over HTTP with an API key: no database, no local config.
  if (argv[0] === 'import' || argv[0] === 'export') return runTransfer(argv);
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [cmd, sub, arg] = positionals;
  if (values.help || !cmd) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const config = loadConfig();
  const out = (human: string, json: unknown) => process.stdout.write(values.json ? `${JSON.stringify(json)}\n` : `${human}\n`);

  if (cmd === 'migrate') {
    await withRuntime(config, true, async () => {});
    process.stderr.write('migrations are up to date\n');
    return 0;
  }
  if (cmd === 'tenant' && sub === 'create' && arg) {
    return withRuntime(config, true, async ({ orm }) => {
      const result = await inOperatorTransaction(orm, async (em) => {
        const tenant = await translatingDbErrors(() => createTenant(em, { slug: arg, displayName: values.name }));
        const secrets = await provisionTenantCredentials(em, tenant.id, CLI_ACTOR, 'cli');
        return { tenant, ...secrets };
      });
      const url = scimBaseUrl(config, result.tenant.slug);
      out(
        [
          `Tenant "${result.tenant.slug}" created (${result.tenant.displayName}).`,
          '',
          `SCIM base URL:  ${url}`,
          `SCIM token:     ${result.scimToken}`,
          `Admin API key:  ${result.apiKey}`,
          '',
          'Both secrets are shown only now; store them. Try the API key:',
          `  curl -s http://localhost:${config.port}/graphql -H 'content-type: application/json' \\`,
          `    -H 'authorization: Bearer ${result.apiKey}' -d '{"query":"{ viewer { slug scimBaseUrl } }"}'`,
        ].join('\n'),
        {
          tenant: { id: result.tenant.id, slug: result.tenant.slug, displayName: result.tenant.displayName },
          scimBaseUrl: url,
          scimToken: result.scimToken,
          apiKey: result.apiKey,
        },
      );
      return 0;
    });
  }
  if (cmd === 'tenant' && sub === 'list') {
    return withRuntime(config, true, async ({ orm }) => {
      const tenants = await inOperatorTransaction(orm, (em) => listTenants(em, { limit: 10_000 }));
      const rows = tenants.map((t) => ({
        id: t.id,
        slug: t.slug,
        displayName: t.displayName,
        scimBaseUrl: scimBaseUrl(config, t.slug),
        createdAt: t.createdAt,
      }));
      out(rows.map((r) => `${r.slug}\t${r.displayName}\t${r.scimBaseUrl}`).join('\n') || '(no tenants)', rows);
      return 0;
    });
  }
  if (cmd === 'operator-key' && sub === 'create') {
    return withRuntime(config, true, async ({ orm }) => {
      const secret = generateSecret(SECRET_PREFIX.operatorKey);
      await inOperatorTransaction(orm, async (em) => {
        em.create(ApiKey, {
          id: uuidv7(),
          tenantId: null,
          name: values.name ?? 'operator',
          permissions: [Permission.TENANTS_MANAGE],
          secretHash: hashSecret(secret),
          prefix: displayPrefix(secret),
          createdBy: 'cli',
          createdAt: new Date(),
        });
        await em.flush();
      });
      out(`Operator key (shown once): ${secret}`, { operatorKey: secret });
      return 0;
    });
  }
  if (cmd === 'secrets' && sub === 'reseal') {
    return withRuntime(config, true, async ({ orm }) => {
      const keys = await loadOpeningKeys(config);
      if (!keys) throw new ConfigError('ROSTER_SECRET_KEY is not set: there is no key to seal with');
      const total = { tenants: 0, subscriptions: 0, resealed: 0, unreadable: [] as Array<{ tenant: string; subscription: string }> };
      for (let page: Tenant[] = [], after: string | undefined; ; after = page[page.length - 1].slug) {
        page = await inOperatorTransaction(orm, (em) => listTenants(em, { limit: 500, afterSlug: after }));
        for (const tenant of page) {
          // one transaction per tenant: its row-level security applies, and a failure leaves the others done
          const r = await inTenantTransaction(orm, tenant.id, (em) => resealWebhookSecrets(em, tenant.id, keys));
          total.tenants++;
          total.subscriptions += r.subscriptions;
          total.resealed += r.resealed;
          total.unreadable.push(...r.unreadable.map((subscription) => ({ tenant: tenant.slug, subscription })));
        }
        if (page.length < 500) break;
      }
      out(
        [
          `${total.resealed} secret(s) sealed again under ROSTER_SECRET_KEY (${total.subscriptions} subscription(s) in ${total.tenants} tenant(s)).`,
          ...total.unreadable.map(
            (u) => `unreadable under every key: tenant ${u.tenant}, subscription ${u.subscription} (rotate its secret)`,
          ),
        ].join('\n'),
        total,
      );
      return total.unreadable.length ? 1 : 0;
    });
  }
  process.stderr.write(`unknown command: ${positionals.join(' ')}\n\n${USAGE}\n`);
  return 2;
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof ConfigError || err instanceof DomainError) process.stderr.write(`${err.message}\n`);
    else process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
