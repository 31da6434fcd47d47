// jest runs TypeScript as ESM through @swc/jest; see ../shared/docs/stack.md for why each option is here.
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2023',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    },
    module: { type: 'es6' },
  },
];

const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
};

/** @type {import('jest').Config} */
export default {
  // Integration tests run real servers on a 2-core machine: generous per-test time, so that load from
  // elsewhere cannot fail a test (jest reads this option globally, not per project).
  testTimeout: 60_000,
  projects: [
    // Pure logic, co-located with the code; no database.
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.test.ts'] },
    // Real PostgreSQL (embedded, or DATABASE_URL) through real HTTP.
    {
      ...common,
      displayName: 'int',
      testMatch: ['<rootDir>/test/**/*.int.test.ts'],
      globalSetup: '<rootDir>/test/setup/global-setup.js',
      globalTeardown: '<rootDir>/test/setup/global-teardown.js',
    },
  ],
};
