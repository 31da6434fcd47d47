export default async function globalTeardown() {
  await globalThis.__rosterTestDb?.stop();
}
