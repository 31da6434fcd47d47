// Lint: typescript-eslint's recommended rules, plus the import boundaries the layout depends on:
// the domain (src/modules) and the kernel know nothing of HTTP, GraphQL or SCIM.
import tseslint from 'typescript-eslint';

const transports = ['koa', '@koa/*', 'graphql', 'type-graphql', '@apollo/*', '@as-integrations/*'];
const appLayers = ['**/graphql/**', '**/scim/**', '**/http/**', '../app.js', '../../app.js'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'coverage/**', '.roster-data/**', '.tmp/**', 'test/__generated__/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['src/modules/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: [...transports, ...appLayers], message: 'modules/ is the domain: no transport (HTTP, GraphQL, SCIM) imports.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/kernel/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...transports, ...appLayers, '**/modules/**', '**/infra/**'],
              message: 'kernel/ imports nothing from the application.',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests poke at free-form JSON bodies (SCIM resources, GraphQL results): loose types are the point there.
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
);
