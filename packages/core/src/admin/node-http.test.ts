import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSqliteStore } from '../stores/sqlite/index.js'
import type { AuditStore } from '../store/types.js'
import { createAuditAdmin } from './create-audit-admin.js'
import { serveNodeRequest } from './node-http.js'

// A bare node:http server: the raw body is streamed to the handler (no framework parsed it first).
describe('serveNodeRequest', () => {
  let dir: string
  let store: AuditStore
  let server: Server
  let origin: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auditkit-node-http-'))
    store = createSqliteStore({ path: join(dir, 'audit.db') })
    await store.init()
    const admin = createAuditAdmin({
      store,
      basePath: '/admin',
      uiDir: false,
      authorize: (request) => (request.headers.get('authorization') === 'Bearer ok' ? { tenantId: 't1', actor: { type: 'user', id: 'a1' } } : null),
      siem: {
        getSettings: async (scope) => store.getState('siem-test', scope.tenantId),
        saveSettings: async (scope, body) => {
          await store.putState('siem-test', scope.tenantId, body)
          return { saved: body, ip: scope.ip ?? null }
        },
        testConnection: async () => ({ ok: true }),
      },
    })
    server = createServer((req, res) => void serveNodeRequest(admin, req, res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('streams a JSON body to the handler and passes the socket address as the client IP', async () => {
    const body = JSON.stringify({ enabled: true, note: '日本語'.repeat(1000) })
    const response = await fetch(`${origin}/admin/api/settings/siem`, {
      method: 'PUT',
      headers: { authorization: 'Bearer ok', 'content-type': 'application/json' },
      body,
    })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ saved: JSON.parse(body), ip: '127.0.0.1' })
    expect(await store.getState('siem-test', 't1')).toEqual(JSON.parse(body))
  })

  it('refuses an oversized streamed body while reading it', async () => {
    const response = await fetch(`${origin}/admin/api/settings/siem`, {
      method: 'PUT',
      headers: { authorization: 'Bearer ok', 'content-type': 'application/json' },
      body: new Blob([`{"x":"${'a'.repeat(200_000)}"}`]).stream(),
      duplex: 'half',
    } as RequestInit)
    expect(response.status).toBe(413)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE')
  })

  it('keeps the headers and status of the answer', async () => {
    const response = await fetch(`${origin}/admin/api/events`, { method: 'DELETE', headers: { authorization: 'Bearer ok' } })
    expect(response.status).toBe(405)
    expect(response.headers.get('allow')).toBe('GET')
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    expect((await fetch(`${origin}/admin/api/events`)).status).toBe(401)
  })
})
