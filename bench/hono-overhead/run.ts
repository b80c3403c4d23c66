/**
 * Hono: requests per second bare, with AuditKit (async, SQLite) and with pino-http, in one run.
 * `pnpm --filter @auditkit/bench exec tsx --conditions=source hono-overhead/run.ts` (env: see ../overhead/run-overhead.ts).
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runOverheadBench } from '../overhead/run-overhead.js'

await runOverheadBench({ name: 'hono-overhead', serverFile: join(dirname(fileURLToPath(import.meta.url)), 'server.ts') })
