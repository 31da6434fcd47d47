import { rm } from 'node:fs/promises';

/** Stops the run's embedded PostgreSQL, if global-setup.js started one, and removes its directory. */
export default async function globalTeardown() {
  await globalThis.__rosterTestDb?.stop();
  if (globalThis.__rosterTestDir) await rm(globalThis.__rosterTestDir, { recursive: true, force: true });
}
