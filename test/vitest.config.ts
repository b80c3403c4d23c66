import { readFileSync } from 'node:fs'
import { defineProject } from 'vitest/config'

// Stamped as the build stamps it (src/version.ts), so that tests from source see the package's version.
const { version } = JSON.parse(readFileSync(new URL('../packages/core/package.json', import.meta.url), 'utf8')) as { version: string }

// Cross-package and end-to-end tests.
export default defineProject({
  define: { __AUDITKIT_VERSION__: JSON.stringify(version) },
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: { name: 'e2e', include: ['**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000, fileParallelism: false },
})
