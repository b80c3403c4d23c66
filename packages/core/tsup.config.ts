import { readFileSync } from 'node:fs'
import { defineConfig } from 'tsup'

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string }

export default defineConfig({
  entry: {"index": "src/index.ts", "stores/sqlite/index": "src/stores/sqlite/index.ts", "stores/sqlite/writer-worker": "src/stores/sqlite/writer-worker.ts", "stores/mongodb/index": "src/stores/mongodb/index.ts", "cli/auditkit": "src/cli/auditkit.ts"},
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // import.meta.url in the CommonJS build: the SQLite store finds its writer thread's entry from there.
  shims: true,
  // Shared chunks in the CommonJS build too (ESM has them by default): without them each entry carries its own copy
  // of the modules they share, so a sealer from `@auditkit/core` is unknown to the store from `@auditkit/core/sqlite`
  // (which then never uses its writer thread) and the store's errors fail `isAuditKitError`.
  splitting: true,
  // The package's version, for the OTLP scope and `auditkit --version` (src/version.ts).
  define: { __AUDITKIT_VERSION__: JSON.stringify(version) },
})
