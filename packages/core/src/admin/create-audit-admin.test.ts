import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createSqliteStore } from '../stores/sqlite/index.js'
import { createAuditAdmin } from './create-audit-admin.js'
import { serveNodeRequest } from './node-http.js'

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
