import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEMO_ADMIN_COOKIE } from '../../apps/demo/src/domain/admin-authorize.js'
import { startDemo } from '../../apps/demo/src/start.js'
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
   * The instant the `fixture` events are placed before (ms since the epoch), so that a test can count days from
   * the same moment as the seed.
   * @default Date.now()
   */
  now?: number
  /**
   * Port; 0 picks a free one.
   * @default 0
   */
  port?: number
}

/** The page is served from `@auditkit/admin-ui`'s `dist/` (the root `pnpm test` builds it first); build it if missing. */
export function ensureAdminUiBuilt(): void {
  if (existsSync(fileURLToPath(new URL('../../packages/admin-ui/dist/index.html', import.meta.url)))) return
  execFileSync('pnpm', ['--filter', '@auditkit/admin-ui', 'run', 'build'], { stdio: 'inherit' })
}

/**
 * The demo as `pnpm demo` starts it (`startDemo`: its store, SIEM export, signed checkpoints, verification and
 * authorize), in-process on 127.0.0.1, over a temp SQLite file (and keys folder) removed on close.
 */
export async function startAdminUiDemo(options: AdminUiDemoOptions = {}): Promise<AdminUiDemo> {
  ensureAdminUiBuilt()
  const dir = mkdtempSync(join(tmpdir(), 'auditkit-admin-ui-'))
  const dbPath = join(dir, 'demo-audit.db')
  let seed: SeededLog | null = null
  if (options.seed !== 'demo') {
    // Written before the demo starts, so that the demo finds a log and skips its own seed.
    const { store } = createDemoStore({ path: dbPath })
    await store.init()
    seed = await seedAdminUiLog(store, { tenantId: DEMO_TENANT, ...(options.now === undefined ? {} : { now: options.now }) })
    await store.close()
  }
  const demo = await startDemo({ framework: options.framework ?? 'express', port: options.port ?? 0, host: '127.0.0.1', dbPath, seed: options.seed === 'demo' })
  return {
    origin: demo.url,
    adminUrl: `${demo.url}${BASE}/`,
    cookie: { name: DEMO_ADMIN_COOKIE, value: DEMO_ADMIN_TOKEN, url: demo.url },
    dbPath,
    seed,
    async close() {
      await demo.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
