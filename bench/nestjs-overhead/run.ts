/**
 * NestJS (platform-express): requests per second bare, with AuditKit (async, SQLite) and with pino-http, in one run;
 * the servers run as built JavaScript on plain Node.
 * `pnpm --filter @auditkit/bench exec tsx --conditions=source nestjs-overhead/run.ts` (env: see ../overhead/run-overhead.ts).
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runOverheadBench } from '../overhead/run-overhead.js'

const here = dirname(fileURLToPath(import.meta.url))
await runOverheadBench({
  name: 'nestjs-overhead',
  serverFile: join(here, 'server.ts'),
  // Built JavaScript on plain Node, as users run AuditKit; Nest's decorators need TypeScript's legacy decorators
  // (this folder's tsconfig). No decorator metadata is needed: the server and AuditKit inject explicitly.
  bundle: {
    external: ['libsql', '@nestjs/common', '@nestjs/core', '@nestjs/platform-express', 'reflect-metadata', 'rxjs', 'pino', 'pino-http'],
    tsconfig: join(here, 'tsconfig.json'),
  },
})
