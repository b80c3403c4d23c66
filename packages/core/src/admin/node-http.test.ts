import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
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
  let port: number

  /** Sends a raw request head (fetch cannot send TRACE or an absolute-form target) and answers status, headers and body. */
  const rawRequest = (head: string): Promise<{ status: number; headers: string; body: string }> =>
    new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(`${head}\r\nHost: x\r\nAuthorization: Bearer ok\r\nConnection: close\r\n\r\n`))
      let text = ''
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')))
      socket.on('error', reject)
      socket.on('end', () => {
        const [headers = '', body = ''] = text.split('\r\n\r\n')
        resolve({ status: Number(headers.split(' ')[1]), headers: headers.toLowerCase(), body })
      })
    })

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
    // Like Express's `.catch(next)`: a rejection becomes the framework's own 500 page.
    server = createServer((req, res) => {
      serveNodeRequest(admin, req, res).catch(() => {
        res.statusCode = 500
        res.end('framework error page')
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
    origin = `http://127.0.0.1:${port}`
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

  it('refuses a body that is not UTF-8 (e.g. Shift_JIS) instead of saving it with U+FFFD in place of its text', async () => {
    // {"note":"日本"} in Shift_JIS: 0x93fa 0x967b are not valid UTF-8.
    const body = Buffer.concat([Buffer.from('{"note":"'), Buffer.from([0x93, 0xfa, 0x96, 0x7b]), Buffer.from('"}')])
    const response = await fetch(`${origin}/admin/api/settings/siem`, {
      method: 'PUT',
      headers: { authorization: 'Bearer ok', 'content-type': 'application/json; charset=Shift_JIS' },
      body,
    })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('INVALID_BODY')
    expect(JSON.stringify(await store.getState('siem-test', 't1'))).not.toContain('\uFFFD')
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
    expect(response.headers.get('allow')).toBe('GET, HEAD')
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    expect((await fetch(`${origin}/admin/api/events`)).status).toBe(401)
  })

  it('answers TRACE (which Node accepts but a Fetch Request cannot carry) with a JSON 405, not a framework 500', async () => {
    const response = await rawRequest('TRACE /admin/api/events HTTP/1.1')
    expect(response.status).toBe(405)
    expect(response.headers).toContain('x-content-type-options: nosniff')
    expect(response.headers).toMatch(/\nallow: /)
    expect(response.body).toContain('"code":"METHOD_NOT_ALLOWED"')
  })

  it('answers an absolute-form request target that is not a valid URL with a JSON 400, not a framework 500', async () => {
    const response = await rawRequest('GET http://x:99999/admin/api/events HTTP/1.1')
    expect(response.status).toBe(400)
    expect(response.headers).toContain('x-content-type-options: nosniff')
    expect(response.body).toContain('"code":"INVALID_QUERY"')
    // A valid absolute-form target is still routed by its path.
    expect((await rawRequest('GET http://x/admin/api/events HTTP/1.1')).status).toBe(200)
  })
})
