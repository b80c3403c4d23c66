/**
 * NestJS (platform-express): requests per second bare, with AuditKit (async, SQLite) and with pino-http, in one run.
 * `pnpm --filter @auditkit/bench exec tsx --conditions=source nestjs-overhead/run.ts` (env: see ../overhead/run-overhead.ts).
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runOverheadBench } from '../overhead/run-overhead.js'

const here = dirname(fileURLToPath(import.meta.url))
// Nest's decorators need TypeScript's legacy decorators: the servers compile with this folder's tsconfig.
await runOverheadBench({ name: 'nestjs-overhead', serverFile: join(here, 'server.ts'), env: { TSX_TSCONFIG_PATH: join(here, 'tsconfig.json') } })
