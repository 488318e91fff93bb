import { defineConfig } from 'vitest/config';

// Tests import workspace packages by name; the `source` export condition maps them
// to their TypeScript sources so no build is needed to run a test.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'conformance/**/*.test.ts', 'interop/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default', './scripts/summary-reporter.ts'],
    globalSetup: ['./scripts/tree-guard.ts'],
  },
});
