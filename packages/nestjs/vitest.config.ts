import swc from 'unplugin-swc'
import { defineProject } from 'vitest/config'

// Nest resolves constructor dependencies from decorator metadata, which esbuild does not emit: SWC compiles the tests.
export default defineProject({
  plugins: [swc.vite({ module: { type: 'es6' }, jsc: { target: 'es2022', transform: { legacyDecorator: true, decoratorMetadata: true } } })],
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: { name: '@auditkit/nestjs', include: ['src/**/*.test.ts', 'test/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 30_000 },
})
