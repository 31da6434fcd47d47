import { parseArgs } from 'node:util';

export interface Options {
  sizes: number[];
  concurrency: number;
  quick: boolean;
  /** Users created through POST /Users and measured (scenario 1); the rest of N is bulk-loaded. */
  createCount: number;
  /** Requests per load scenario (lookups, PATCH replace; deactivations are a quarter of it). */
  requests: number;
  /** Time bound of one load scenario. */
  maxSeconds: number;
  /** Time bound of the full import (scenario 3) and of the group growth (scenario 5). */
  longMaxSeconds: number;
  groupSize: number;
  removals: number;
  graphqlRequests: number;
  bulkUsers: number;
  twoProcesses: boolean;
  compiled: boolean;
  profile: boolean;
  keep: boolean;
  scenarios: Set<string>;
  out: string;
}

export const USAGE = `Usage: npm run bench -- [options]

  --sizes 10000,100000   numbers of users (N), each run on a fresh database   (default 10000,100000)
  --quick                development run: N = 2,000 and small request counts
  --concurrency 8        requests in flight (C)                               (default 8)
  --create-count 4000    users created by POST /Users and measured (scenario 1); the rest are bulk-loaded
  --requests 4000        requests per load scenario (lookups, PATCH)
  --max-seconds 120      time bound of each load scenario
  --group-size 50000     members the pushed group grows to (at most N)
  --removals 1000        member removals by members[value eq "…"]
  --graphql-requests 400 requests per GraphQL scenario
  --bulk-users 10000     users created through POST /Bulk (scenario 7, when the server supports /Bulk)
  --scenarios 1,2,3,4,5,6,7   run only these scenarios (baselines follow their scenario)
  --no-profile           skip the statement counts and EXPLAIN plans (taken at the largest N)
  --two-processes        scale-out check instead: two Roster processes on one PostgreSQL
  --source               run Roster from the TypeScript sources (npm start's loader) instead of a tsc build;
                         the default is the build, what production (the Dockerfile) runs
  --keep                 keep the temporary data directories
  --out DIR              where results go (default .tmp/bench/<timestamp>)

Targets only 127.0.0.1. The database is a fresh embedded PostgreSQL in a temporary directory, or
DATABASE_URL when set (a local one only; the bench adds a tenant and the schema roster_bench to it).`;

export function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string' },
      quick: { type: 'boolean', default: false },
      concurrency: { type: 'string' },
      'create-count': { type: 'string' },
      requests: { type: 'string' },
      'max-seconds': { type: 'string' },
      'long-max-seconds': { type: 'string' },
      'group-size': { type: 'string' },
      removals: { type: 'string' },
      'graphql-requests': { type: 'string' },
      'bulk-users': { type: 'string' },
      scenarios: { type: 'string' },
      'no-profile': { type: 'boolean', default: false },
      'two-processes': { type: 'boolean', default: false },
      source: { type: 'boolean', default: false },
      compiled: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return null;
  const quick = values.quick;
  const int = (name: string, v: string | undefined, dflt: number, min = 1, max = 10_000_000) => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
    return n;
  };
  const sizes = (values.sizes ?? (quick ? '2000' : '10000,100000')).split(',').map((s) => int('sizes', s.trim(), 0, 500, 2_000_000));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  return {
    sizes,
    quick,
    concurrency: int('concurrency', values.concurrency, 8, 1, 256),
    createCount: int('create-count', values['create-count'], quick ? 500 : 4000),
    requests: int('requests', values.requests, quick ? 600 : 4000),
    maxSeconds: int('max-seconds', values['max-seconds'], quick ? 60 : 120),
    longMaxSeconds: int('long-max-seconds', values['long-max-seconds'], 1800),
    groupSize: int('group-size', values['group-size'], 50_000),
    removals: int('removals', values.removals, quick ? 200 : 1000),
    graphqlRequests: int('graphql-requests', values['graphql-requests'], quick ? 100 : 400),
    bulkUsers: int('bulk-users', values['bulk-users'], quick ? 1000 : 10_000),
    scenarios: new Set((values.scenarios ?? '1,2,3,4,5,6,7').split(',').map((s) => s.trim())),
    twoProcesses: values['two-processes'],
    // --compiled is the default and kept as a no-op for older command lines
    compiled: !values.source,
    profile: !values['no-profile'],
    keep: values.keep,
    out: values.out ?? `.tmp/bench/${stamp}`,
  };
}
