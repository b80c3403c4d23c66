/**
 * Hono: requests per second bare, with AuditKit (async, SQLite) and with pino-http, in one run; the servers run as
 * built JavaScript on plain Node.
 * `pnpm --filter @auditkit/bench exec tsx --conditions=source hono-overhead/run.ts` (env: see ../overhead/run-overhead.ts).
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runOverheadBench } from '../overhead/run-overhead.js'

await runOverheadBench({
  name: 'hono-overhead',
  serverFile: join(dirname(fileURLToPath(import.meta.url)), 'server.ts'),
  // Built JavaScript on plain Node, as users run AuditKit (see the runner's `bundle` option).
  bundle: { external: ['libsql', 'hono', '@hono/node-server', 'pino', 'pino-http'] },
})
