import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createAuditLogger } from '../logger/audit-logger.js'
import { createSiemAdminService } from '../siem/siem-admin-service.js'
import { createSiemService } from '../siem/siem-service.js'
import { createSqliteStore } from '../stores/sqlite/index.js'
import { createAuditAdmin } from './create-audit-admin.js'
import { serveNodeRequest } from './node-http.js'
import { adminCaptureOverrides } from './refused-request.js'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function openStore(): ReturnType<typeof createSqliteStore> {
  const dir = mkdtempSync(join(tmpdir(), 'auditkit-admin-native-'))
  const store = createSqliteStore({ path: join(dir, 'audit.db') })
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => store.close())
  return store
}

describe('authorize gets the framework request', () => {
  it('passes info.native as the second argument, and undefined for a bare fetch call', async () => {
    const seen: unknown[] = []
    const admin = createAuditAdmin<{ user?: string }>({
      store: openStore(),
      uiDir: false,
      authorize: (_request, native) => {
        seen.push(native)
        return native?.user === 'ada' ? { tenantId: 't1', actor: { type: 'user', id: 'ada' } } : null
      },
    })
    const request = (): Request => new Request('http://app.test/api/events')
    expect((await admin.fetch(request(), { native: { user: 'ada' } })).status).toBe(200)
    expect((await admin.fetch(request(), { native: {} })).status).toBe(401)
    expect((await admin.fetch(request())).status).toBe(401)
    expect(seen).toEqual([{ user: 'ada' }, {}, undefined])
  })

  it('serveNodeRequest hands over the Node request itself, with what earlier middleware put on it', async () => {
    interface SignedIn extends IncomingMessage {
      user?: string
    }
    const admin = createAuditAdmin<SignedIn>({
      store: openStore(),
      uiDir: false,
      authorize: (_request, req) => (req.user === undefined ? null : { tenantId: 't1', actor: { type: 'user', id: req.user } }),
    })
    const server = createServer((req: SignedIn, res) => {
      if (req.headers['x-test-user']) req.user = String(req.headers['x-test-user']) // what a session middleware would do
      void serveNodeRequest(admin, req, res)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))))
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    expect((await fetch(`${origin}/api/events`)).status).toBe(401)
    expect((await fetch(`${origin}/api/events`, { headers: { 'x-test-user': 'ada' } })).status).toBe(200)
  })
})

describe("the admin's own events under the logger's limits", () => {
  it("records an export and a SIEM settings change with request facts bounded by the logger's limits, not the defaults", async () => {
    const store = openStore()
    const logger = createAuditLogger({ store, limits: { maxIdLength: 64, maxTextLength: 512 }, onError: () => {} })
    cleanups.push(() => logger.close())
    const siem = createSiemService({ logger, secretKey: Buffer.alloc(32, 3).toString('base64'), onError: () => {} })
    cleanups.push(() => siem.stop())
    const admin = createAuditAdmin({
      logger,
      siem: createSiemAdminService(siem),
      uiDir: false,
      authorize: () => ({ tenantId: 't1', actor: { type: 'user', id: 'ada' } }),
    })
    const server = createServer((req, res) => void serveNodeRequest(admin, req, res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))))
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    // Within the default bounds (256, 2048), over the logger's: as the capture does, the id is left out, the agent clipped.
    const headers = { 'x-request-id': 'r'.repeat(100), 'user-agent': 'u'.repeat(1000) }
    const csv = await fetch(`${origin}/api/export.csv`, { headers })
    expect(csv.status).toBe(200)
    await csv.text()
    const saved = await fetch(`${origin}/api/settings/siem`, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: false, endpoint: 'https://collector.example.com:4318/v1/logs', protocol: 'http/protobuf', headers: {} }),
    })
    expect(saved.status).toBe(200)
    const window = { tenantId: 't1', from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z', limit: 10 }
    await vi.waitFor(async () => {
      await logger.flush()
      const recorded = (await store.query(window)).items.map((event) => [event.action, event.context?.requestId, event.context?.userAgent?.length])
      expect(recorded.sort()).toEqual([
        ['audit_log_exported', undefined, 512],
        ['siem_config_updated', undefined, 512],
      ])
    })
  })
})

describe('refused admin requests, as the audit middleware records them', () => {
  it('names the action each admin route stands for, on the resource its success has, with no path-derived targets', async () => {
    const admin = createAuditAdmin({ store: openStore(), uiDir: false, basePath: '/admin/audit', authorize: () => null })
    const refused = async (method: string, path: string): Promise<unknown> => {
      const response = await admin.fetch(new Request(`http://app.test/admin/audit${path}`, { method, ...(method === 'PUT' || method === 'POST' ? { body: '{}' } : {}) }))
      expect(response.status).toBe(401)
      return adminCaptureOverrides(response)
    }
    const siem = { type: 'siem_integration' }
    const log = { type: 'audit_log' }
    expect(await refused('PUT', '/api/settings/siem')).toEqual({ action: 'siem_config_updated', resource: siem, targets: [] })
    expect(await refused('POST', '/api/settings/siem/test')).toEqual({ action: 'siem_connection_tested', resource: siem, targets: [] })
    expect(await refused('GET', '/api/export.csv')).toEqual({ action: 'audit_log_exported', resource: log, targets: [] })
    expect(await refused('HEAD', '/api/export.ndjson')).toEqual({ action: 'audit_log_exported', resource: log, targets: [] })
    expect(await refused('GET', '/api/events')).toEqual({ action: 'audit_log_viewed', resource: log, targets: [] })
    expect(await refused('DELETE', '/api/events')).toEqual({ action: 'audit_log_accessed', resource: log, targets: [] })
    // An answer the handler gave, not a refusal: nothing to override.
    const ok = await createAuditAdmin({ store: openStore(), uiDir: false, authorize: () => ({ tenantId: 't1', actor: { type: 'user', id: 'a' } }) }).fetch(new Request('http://app.test/api/events'))
    expect([ok.status, adminCaptureOverrides(ok)]).toEqual([200, undefined])
  })
})
