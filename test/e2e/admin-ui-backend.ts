import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createAuditAdmin, createAuditLogger, createIntegrityService, createSiemAdminService, createSiemService, serveNodeRequest } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { seedAdminUiLog, type SeededLog } from './admin-ui-seed.js'

/** The page is served from `@auditkit/admin-ui`'s `dist/` (the root `pnpm test` builds it first); build it if missing. */
export function ensureAdminUiBuilt(): void {
  if (existsSync(fileURLToPath(new URL('../../packages/admin-ui/dist/index.html', import.meta.url)))) return
  execFileSync('pnpm', ['--filter', '@auditkit/admin-ui', 'run', 'build'], { stdio: 'inherit' })
}

/** A running server with the admin page mounted, over a seeded temp SQLite file. */
export interface AdminUiBackend {
  /** The admin page, e.g. `http://127.0.0.1:port/admin/audit/`. */
  adminUrl: string
  seed: SeededLog
  close(): Promise<void>
}

const TENANT = 'acme'
const BASE = '/admin/audit'

/** Core's admin handler with SIEM settings and verify, on a random port; every request is admitted as one admin. */
export async function startAdminUiBackend(): Promise<AdminUiBackend> {
  ensureAdminUiBuilt()
  const dir = mkdtempSync(join(tmpdir(), 'auditkit-admin-ui-'))
  const store = createSqliteStore({ path: join(dir, 'audit.db') })
  await store.init()
  const seed = await seedAdminUiLog(store, { tenantId: TENANT })
  const logger = createAuditLogger({ store })
  const siem = createSiemService({ logger, secretKey: 'a1'.repeat(32), testRateLimit: { max: 100 } })
  await siem.start()
  const admin = createAuditAdmin({
    logger,
    basePath: BASE,
    siem: createSiemAdminService(siem),
    integrity: createIntegrityService({ store }),
    authorize: () => ({ tenantId: TENANT, actor: { type: 'user', id: 'u_admin', name: 'Audit Admin', email: 'admin@acme.example' } }),
  })
  const server = createServer((req, res) => void serveNodeRequest(admin, req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    adminUrl: `http://127.0.0.1:${port}${BASE}/`,
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
