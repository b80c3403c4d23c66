import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createAdaptorServer } from '@hono/node-server'
import { createAuditLogger, createIntegrityService, createSiemAdminService, createSiemService, type AuditAdminOptions } from '@auditkit/core'
import { DEMO_ADMIN_COOKIE } from '../../apps/demo/src/domain/admin-authorize.js'
import { createExpressDemoApp } from '../../apps/demo/src/express/app.js'
import { createHonoDemoApp } from '../../apps/demo/src/hono/app.js'
import { seedDemoAuditLog } from '../../apps/demo/src/seed.js'
import { createDemoStore } from '../../apps/demo/src/store.js'
import { seedAdminUiLog, type SeededLog } from './admin-ui-seed.js'

/** The demo's owner of the `acme` workspace: an audit-log admin of that tenant. */
export const DEMO_ADMIN_TOKEN = 'demo-owner-token'
export const DEMO_TENANT = 'acme'
const BASE = '/admin/audit'

/** A running demo with the admin page mounted, over a temp SQLite file. */
export interface AdminUiDemo {
  origin: string
  /** The admin page, `{origin}/admin/audit/`. */
  adminUrl: string
  /** The demo's admin sign-in for a browser (it cannot send a bearer header when navigating). */
  cookie: { name: string; value: string; url: string }
  /** The demo's SQLite file (tests tamper with it to see verify fail). */
  dbPath: string
  /** The seeded events when started with `seed: 'fixture'`. */
  seed: SeededLog | null
  close(): Promise<void>
}

export interface AdminUiDemoOptions {
  /**
   * `fixture`: the browser tests' deterministic events (known counts, one rich diff);
   * `demo`: the demo's own realistic history (screenshots).
   * @default 'fixture'
   */
  seed?: 'fixture' | 'demo'
  /**
   * Which of the demo's frameworks serves the API and the page.
   * @default 'express'
   */
  framework?: 'express' | 'hono' | 'nestjs'
  /**
   * Port; 0 picks a free one.
   * @default 0
   */
  port?: number
}

type AdminServices = Omit<AuditAdminOptions, 'authorize' | 'logger'>

/** The demo's app for each framework, with the admin services passed through its documented `admin` option. */
async function listen(framework: AdminUiDemoOptions['framework'], logger: ReturnType<typeof createAuditLogger>, admin: AdminServices, port: number): Promise<Server> {
  if (framework === 'nestjs') {
    // Loaded on demand: its legacy decorators need the demo's tsconfig, which tsx at the repo root does not read.
    const { createNestDemoApp } = await import('../../apps/demo/src/nestjs/app.js')
    const app = await createNestDemoApp({ logger, admin })
    await app.listen(port, '127.0.0.1')
    return app.getHttpServer() as Server
  }
  const app: { listen(port: number, host: string, ready: () => void): Server } =
    framework === 'hono' ? (createAdaptorServer({ fetch: createHonoDemoApp({ logger, admin }).fetch }) as Server) : createExpressDemoApp({ logger, admin })
  return new Promise<Server>((resolve, reject) => {
    const listening = app.listen(port, '127.0.0.1', () => resolve(listening))
    listening.once('error', reject)
  })
}

/** The page is served from `@auditkit/admin-ui`'s `dist/` (the root `pnpm test` builds it first); build it if missing. */
export function ensureAdminUiBuilt(): void {
  if (existsSync(fileURLToPath(new URL('../../packages/admin-ui/dist/index.html', import.meta.url)))) return
  execFileSync('pnpm', ['--filter', '@auditkit/admin-ui', 'run', 'build'], { stdio: 'inherit' })
}

/**
 * The demo app (its Express, Hono or NestJS factory, store and authorize) in-process on 127.0.0.1, with the SIEM settings and
 * integrity services passed to its admin routes, over a temp SQLite file that is removed on close.
 */
export async function startAdminUiDemo(options: AdminUiDemoOptions = {}): Promise<AdminUiDemo> {
  ensureAdminUiBuilt()
  const dir = mkdtempSync(join(tmpdir(), 'auditkit-admin-ui-'))
  const dbPath = join(dir, 'demo-audit.db')
  const { store } = createDemoStore({ path: dbPath })
  await store.init()
  let seed: SeededLog | null = null
  if (options.seed === 'demo') await seedDemoAuditLog({ store })
  else seed = await seedAdminUiLog(store, { tenantId: DEMO_TENANT })
  const logger = createAuditLogger({ store })
  // A fixed test key: header values are encrypted at rest with it.
  const siem = createSiemService({ logger, secretKey: 'a1'.repeat(32), testRateLimit: { max: 100 } })
  await siem.start()
  const server = await listen(options.framework ?? 'express', logger, { siem: createSiemAdminService(siem), integrity: createIntegrityService({ store }) }, options.port ?? 0)
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    adminUrl: `${origin}${BASE}/`,
    cookie: { name: DEMO_ADMIN_COOKIE, value: DEMO_ADMIN_TOKEN, url: origin },
    dbPath,
    seed,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await siem.stop()
      await logger.close()
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
