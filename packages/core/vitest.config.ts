import { readFileSync } from 'node:fs'
import { defineProject } from 'vitest/config'

// Stamped as the build stamps it (src/version.ts), so that tests from source see the package's version.
const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string }

export default defineProject({
  define: { __AUDITKIT_VERSION__: JSON.stringify(version) },
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: { name: '@auditkit/core', include: ['src/**/*.test.ts', 'test/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 30_000 },
})
