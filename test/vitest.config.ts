import { defineProject } from 'vitest/config'

// Cross-package and end-to-end tests.
export default defineProject({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: { name: 'e2e', include: ['**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000, fileParallelism: false },
})
