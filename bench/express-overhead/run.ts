/**
 * Express: requests per second bare, with AuditKit (async, SQLite) and with pino-http, in one run; the servers run as
 * built JavaScript on plain Node. `pnpm --filter @auditkit/bench bench:express-overhead` (env: ../overhead/run-overhead.ts).
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runOverheadBench } from '../overhead/run-overhead.js'

await runOverheadBench({
  name: 'express-overhead',
  serverFile: join(dirname(fileURLToPath(import.meta.url)), 'server.ts'),
  bundle: { external: ['libsql', 'express', 'pino', 'pino-http'] },
})
