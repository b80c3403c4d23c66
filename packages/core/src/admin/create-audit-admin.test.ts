import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { startOtlpReceiver } from '@auditkit/test-utils'
import { createAuditLogger } from '../logger/audit-logger.js'
import { SIEM_STATE } from '../siem/delivery-worker.js'
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

describe('cross-site requests (Fetch Metadata)', () => {
  const ADMIN = { tenantId: 't1', actor: { type: 'user' as const, id: 'ada' } }

  function openAdmin(trustedOrigins?: string[]): { admin: ReturnType<typeof createAuditAdmin>; authorized: string[]; exported: () => Promise<number> } {
    const store = openStore()
    const logger = createAuditLogger({ store, onError: () => {} })
    cleanups.push(() => logger.close())
    const ui = mkdtempSync(join(tmpdir(), 'auditkit-admin-page-'))
    mkdirSync(join(ui, 'assets'))
    writeFileSync(join(ui, 'index.html'), '<!doctype html><script type="module" src="./assets/app.js"></script>')
    writeFileSync(join(ui, 'assets', 'app.js'), 'console.log(1)')
    cleanups.push(() => rmSync(ui, { recursive: true, force: true }))
    const authorized: string[] = []
    const admin = createAuditAdmin({
      logger,
      uiDir: ui,
      basePath: '/admin/audit',
      ...(trustedOrigins ? { trustedOrigins } : {}),
      siem: { getSettings: async () => ({}), saveSettings: async (_scope, body) => body, testConnection: async () => ({ ok: true }) },
      authorize: (request) => {
        authorized.push(`${request.method} ${new URL(request.url).pathname}`)
        return ADMIN
      },
    })
    const exported = async (): Promise<number> => {
      await logger.flush()
      return (await store.query({ tenantId: 't1', from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z', limit: 10, action: 'audit_log_exported' })).items.length
    }
    return { admin, authorized, exported }
  }

  /** A request as a browser sends it: `site`, `mode` and `dest` are its Sec-Fetch-* headers (undefined: not sent). */
  const browser = (path: string, fetchMeta: { site?: string; mode?: string; dest?: string; origin?: string }, method = 'GET'): Request => {
    const headers = new Headers({ 'content-type': 'application/json' })
    if (fetchMeta.origin) headers.set('origin', fetchMeta.origin)
    if (fetchMeta.site) headers.set('sec-fetch-site', fetchMeta.site)
    if (fetchMeta.mode) headers.set('sec-fetch-mode', fetchMeta.mode)
    if (fetchMeta.dest) headers.set('sec-fetch-dest', fetchMeta.dest)
    return new Request(`http://127.0.0.1:3917/admin/audit${path}`, { method, headers, ...(method === 'PUT' || method === 'POST' ? { body: '{}' } : {}) })
  }

  it('refuses an API request from another site or another port of the host with 403 FORBIDDEN, before authorize and before any export is recorded', async () => {
    const { admin, authorized, exported } = openAdmin()
    const cases: [string, string, { site?: string; mode?: string; dest?: string }][] = [
      // <img src=".../api/export.csv"> on http://127.0.0.1:3999: same-site, as only the port differs.
      ['GET', '/api/export.csv?q=csrf-export', { site: 'same-site', mode: 'no-cors', dest: 'image' }],
      ['GET', '/api/export.csv', { site: 'cross-site', mode: 'no-cors', dest: 'image' }],
      // A link or window.open() to the API is a navigation, and still not the admin's own doing.
      ['GET', '/api/export.csv', { site: 'same-site', mode: 'navigate', dest: 'document' }],
      ['GET', '/api/export.ndjson', { site: 'cross-site', mode: 'navigate', dest: 'document' }],
      ['HEAD', '/api/export.csv', { site: 'cross-site', mode: 'no-cors', dest: 'empty' }],
      ['GET', '/api/events', { site: 'cross-site', mode: 'cors', dest: 'empty' }],
      ['PUT', '/api/settings/siem', { site: 'same-site', mode: 'cors', dest: 'empty' }],
      ['POST', '/api/settings/siem/test', { site: 'cross-site', mode: 'no-cors', dest: 'empty' }],
      ['GET', '/api/nope', { site: 'Cross-Site', mode: 'no-cors', dest: 'script' }],
    ]
    for (const [method, path, meta] of cases) {
      const response = await admin.fetch(browser(path, meta, method))
      const body = method === 'HEAD' ? null : ((await response.json()) as { error: { code: string } }).error.code
      expect([method, path, meta.site, response.status, body]).toEqual([method, path, meta.site, 403, method === 'HEAD' ? null : 'FORBIDDEN'])
      expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    }
    expect(authorized).toEqual([])
    expect(await exported()).toBe(0)
    // Recorded like any refused admin request: the refused export under the action its success has.
    const refused = await admin.fetch(browser('/api/export.csv', { site: 'same-site', mode: 'no-cors', dest: 'image' }))
    expect(adminCaptureOverrides(refused)).toEqual({ action: 'audit_log_exported', resource: { type: 'audit_log' }, targets: [] })
  })

  it('serves the CORS requests of a front end on a trusted origin, and nothing else from another origin', async () => {
    const { admin, authorized } = openAdmin(['https://app.example.com', 'http://127.0.0.1:3999/'])
    const status = async (path: string, meta: { site?: string; mode?: string; dest?: string; origin?: string }, method = 'GET') =>
      (await admin.fetch(browser(path, meta, method))).status
    expect(await status('/api/events', { site: 'same-site', mode: 'cors', dest: 'empty', origin: 'https://app.example.com' })).toBe(200)
    expect(await status('/api/settings/siem', { site: 'same-site', mode: 'cors', dest: 'empty', origin: 'http://127.0.0.1:3999' }, 'PUT')).toBe(200)
    expect(authorized).toEqual(['GET /admin/audit/api/events', 'PUT /admin/audit/api/settings/siem'])
    // Another origin, a look-alike, or a request that names no origin (an <img>): refused as before.
    expect(await status('/api/events', { site: 'cross-site', mode: 'cors', dest: 'empty', origin: 'https://evil.example' })).toBe(403)
    expect(await status('/api/events', { site: 'cross-site', mode: 'cors', dest: 'empty', origin: 'https://app.example.com.evil.example' })).toBe(403)
    expect(await status('/api/export.csv', { site: 'same-site', mode: 'no-cors', dest: 'image' })).toBe(403)
    for (const entry of ['app.example.com', 'https://app.example.com/admin', 'ftp://app.example.com', '*'])
      expect(() => createAuditAdmin({ store: openStore(), uiDir: false, authorize: () => ADMIN, trustedOrigins: [entry] }), entry).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS' }),
      )
  })

  it("serves the admin's own requests, browsers' navigations and clients that send no Fetch Metadata", async () => {
    const { admin, exported } = openAdmin()
    const served = async (request: Request): Promise<number> => {
      const response = await admin.fetch(request)
      await response.arrayBuffer()
      return response.status
    }
    // The page's own fetches and downloads are same-origin; a typed URL or bookmark is "none"; curl sends nothing.
    expect(await served(browser('/api/export.csv', { site: 'same-origin', mode: 'navigate', dest: 'document' }))).toBe(200)
    expect(await served(browser('/api/events', { site: 'same-origin', mode: 'cors', dest: 'empty' }))).toBe(200)
    expect(await served(browser('/api/settings/siem', { site: 'same-origin', mode: 'cors', dest: 'empty' }, 'PUT'))).toBe(200)
    expect(await served(browser('/api/export.csv', { site: 'none', mode: 'navigate', dest: 'document' }))).toBe(200)
    expect(await served(browser('/api/export.csv', {}))).toBe(200)
    await vi.waitFor(async () => expect(await exported()).toBe(3))
    // A link from elsewhere (another site, another port of the host) still opens the page.
    expect(await served(browser('/', { site: 'cross-site', mode: 'navigate', dest: 'document' }))).toBe(200)
    expect(await served(browser('/', { site: 'same-site', mode: 'navigate', dest: 'document' }, 'HEAD'))).toBe(200)
    expect(await served(browser('', { site: 'cross-site', mode: 'navigate', dest: 'document' }))).toBe(308)
    // The page's own files load same-origin.
    expect(await served(browser('/assets/app.js', { site: 'same-origin', mode: 'cors', dest: 'script' }))).toBe(200)
  })

  it("refuses another site's subresource loads and embeddings of the page", async () => {
    const { admin, authorized } = openAdmin()
    const status = async (request: Request): Promise<number> => (await admin.fetch(request)).status
    expect(await status(browser('/assets/app.js', { site: 'cross-site', mode: 'no-cors', dest: 'script' }))).toBe(403)
    expect(await status(browser('/', { site: 'same-site', mode: 'no-cors', dest: 'image' }))).toBe(403)
    expect(await status(browser('/', { site: 'cross-site', mode: 'navigate', dest: 'iframe' }))).toBe(403)
    expect(await status(browser('/', { site: 'cross-site', mode: 'navigate', dest: 'object' }))).toBe(403)
    // A navigation that is not a GET (a form posted from elsewhere) is no link.
    expect(await status(browser('/', { site: 'cross-site', mode: 'navigate', dest: 'document' }, 'POST'))).toBe(403)
    expect(authorized).toEqual([])
  })

  it('judges a cross-site request by each Fetch Metadata header it sends, on every path, with 403 and never a 500', async () => {
    const { admin, authorized } = openAdmin()
    const status = async (request: Request): Promise<number> => {
      const response = await admin.fetch(request)
      await response.arrayBuffer()
      return response.status
    }
    // Only a navigation opens the page: a GET without Sec-Fetch-Mode, or in another mode, is refused even without Sec-Fetch-Dest.
    expect(await status(browser('/', { site: 'cross-site' }))).toBe(403)
    expect(await status(browser('/', { site: 'cross-site', mode: 'no-cors' }))).toBe(403)
    expect(await status(browser('/', { site: 'same-site', dest: 'document' }))).toBe(403)
    // The API path itself (no trailing slash) is the API: even a navigation to it is refused.
    expect(await status(browser('/api', { site: 'cross-site', mode: 'navigate', dest: 'document' }))).toBe(403)
    // A path outside the mount (a bare `fetch` handed any request): refused like the page, not a 500.
    const outside = new Request('http://127.0.0.1:3917/elsewhere', { headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' } })
    expect(await status(outside)).toBe(403)
    expect(authorized).toEqual([])
    // A navigation that names no destination is still a link to the page.
    expect(await status(browser('/', { site: 'cross-site', mode: 'navigate' }))).toBe(200)
    expect(authorized).toEqual(['GET /admin/audit/'])
  })
})

describe('SIEM settings bodies that are not a JSON object', () => {
  // Review finding: a JSON string body (settings JSON-encoded twice, a common client bug) was parsed a second time and
  // saved (or tested against the collector it named), while an array, null or a number was refused.
  it('PUT refuses a JSON string, array, null or number with 400 INVALID_SETTINGS and saves nothing; Test Connection answers invalid_config and sends nothing', async () => {
    const receiver = await startOtlpReceiver({ protocol: 'http/protobuf' })
    cleanups.push(() => receiver.close())
    const store = openStore()
    const logger = createAuditLogger({ store, onError: () => {} })
    cleanups.push(() => logger.close())
    const siem = createSiemService({ logger, secretKey: Buffer.alloc(32, 3).toString('base64'), testRateLimit: { max: 100 }, onError: () => {} })
    cleanups.push(() => siem.stop())
    const admin = createAuditAdmin({ logger, siem: createSiemAdminService(siem), uiDir: false, authorize: () => ({ tenantId: 't1', actor: { type: 'user', id: 'ada' } }) })
    const send = async (method: 'PUT' | 'POST', path: string, body: string): Promise<{ status: number; json: unknown }> => {
      const response = await admin.fetch(new Request(`http://app.test/api/settings/siem${path}`, { method, headers: { 'content-type': 'application/json' }, body }))
      return { status: response.status, json: await response.json() }
    }
    const seeded = { enabled: false, endpoint: receiver.endpoint, protocol: 'http/protobuf', headers: {} }
    expect((await send('PUT', '', JSON.stringify(seeded))).status).toBe(200)
    const snapshot = async (): Promise<unknown> => ({ settings: await store.getState(SIEM_STATE.settings, 't1'), head: await store.chainHead('t1') })
    const before = await snapshot()
    const twice = (value: unknown): string => JSON.stringify(JSON.stringify(value))
    const bodies = [
      twice({ enabled: false }),
      twice({ enabled: true, endpoint: receiver.endpoint, protocol: 'http/protobuf' }),
      '"not json"',
      '""',
      '[]',
      JSON.stringify([seeded]),
      'null',
      '7',
      'true',
    ]
    for (const body of bodies) {
      const saved = await send('PUT', '', body)
      expect([body, saved.status, saved.json]).toEqual([
        body,
        400,
        { error: expect.objectContaining({ code: 'INVALID_SETTINGS', details: [expect.objectContaining({ path: '', reason: 'invalid_type' })] }) as unknown },
      ])
      const tested = await send('POST', '/test', body)
      expect([body, tested.status, tested.json]).toEqual([
        body,
        200,
        expect.objectContaining({ ok: false, result: 'invalid_config', details: [expect.objectContaining({ path: '', reason: 'invalid_type' })] }) as unknown,
      ])
    }
    expect(await snapshot()).toEqual(before)
    expect(receiver.requests).toEqual([])
  })
})

describe('deeply nested JSON bodies', () => {
  const DEEP = `${'['.repeat(20_000)}${']'.repeat(20_000)}`

  it('refuses a body nested deeper than the limit with 400 INVALID_BODY, before the SIEM service sees it, and only after authorize', async () => {
    const onError = vi.fn()
    const seen = vi.fn()
    const admin = createAuditAdmin({
      store: openStore(),
      uiDir: false,
      onError,
      // A service that answers with what it was sent, as a test double or a custom service may.
      siem: {
        getSettings: async () => ({}),
        saveSettings: async (_scope, body) => (seen(), body),
        testConnection: async (_scope, body) => (seen(), { ok: false, tried: body }),
      },
      authorize: (request) => (request.headers.get('authorization') === 'Bearer ok' ? { tenantId: 't1', actor: { type: 'user', id: 'a1' } } : null),
    })
    const post = (body: string, headers: Record<string, string> = { authorization: 'Bearer ok' }): Promise<Response> =>
      admin.fetch(new Request('http://app.test/api/settings/siem/test', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body }))
    const anonymous = await post(DEEP, {})
    expect([anonymous.status, ((await anonymous.json()) as { error: { code: string } }).error.code]).toEqual([401, 'UNAUTHENTICATED'])
    for (const body of [DEEP, `{"a":${'{"a":'.repeat(5000)}1${'}'.repeat(5001)}`, `${'['.repeat(65)}${']'.repeat(65)}`]) {
      const response = await post(body)
      const { error } = (await response.json()) as { error: { code: string; message: string } }
      expect([response.status, error.code]).toEqual([400, 'INVALID_BODY'])
      expect(error.message).toMatch(/nested/)
    }
    expect(seen).not.toHaveBeenCalled()
    expect(onError).not.toHaveBeenCalled()
    // Up to the limit the service gets the body as sent.
    const nested = `${'['.repeat(64)}${']'.repeat(64)}`
    const ok = await post(nested)
    expect([ok.status, JSON.stringify(((await ok.json()) as { tried: unknown }).tried)]).toEqual([200, nested])
    // A body that nests nothing at all (JSON `null`, a number, a string) is the service's to judge, not a 500.
    for (const flat of ['null', '7', '"text"']) {
      const answer = await post(flat)
      expect([flat, answer.status, JSON.stringify(((await answer.json()) as { tried: unknown }).tried)]).toEqual([flat, 200, flat])
    }
    expect(onError).not.toHaveBeenCalled()
  })

  it('serveNodeRequest: refuses a deep body a framework parser already read with 400 INVALID_BODY after authorize, never a 500 or a stack overflow', async () => {
    const onError = vi.fn()
    const admin = createAuditAdmin({
      store: openStore(),
      uiDir: false,
      onError,
      siem: { getSettings: async () => ({}), saveSettings: async (_scope, body) => body, testConnection: async (_scope, body) => ({ ok: false, tried: body }) },
      authorize: (request) => (request.headers.get('authorization') === 'Bearer ok' ? { tenantId: 't1', actor: { type: 'user', id: 'a1' } } : null),
    })
    const frameworkErrors: unknown[] = []
    // What express.json() does before the admin router: parse the body (V8's JSON.parse takes any depth), then hand it on.
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => {
        serveNodeRequest(admin, req, res, { parsedBody: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown }).catch((error: unknown) => {
          frameworkErrors.push(error)
          res.statusCode = 500
          res.end('{"error":{"code":"INTERNAL"}}')
        })
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/settings/siem/test`
    const post = (body: string, headers: Record<string, string>): Promise<Response> =>
      fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body })
    const anonymous = await post(DEEP, {})
    expect([anonymous.status, ((await anonymous.json()) as { error: { code: string } }).error.code]).toEqual([401, 'UNAUTHENTICATED'])
    const admitted = await post(DEEP, { authorization: 'Bearer ok' })
    expect([admitted.status, ((await admitted.json()) as { error: { code: string } }).error.code]).toEqual([400, 'INVALID_BODY'])
    const flat = await post('{"endpoint":"https://x.example"}', { authorization: 'Bearer ok' })
    expect([flat.status, await flat.json()]).toEqual([200, { ok: false, tried: { endpoint: 'https://x.example' } }])
    expect(frameworkErrors).toEqual([])
    expect(onError).not.toHaveBeenCalled()
  })
})

describe('authorize and the mount', () => {
  const ADMIN = { tenantId: 't1', actor: { type: 'user' as const, id: 'ada' } }
  type Options = Parameters<typeof createAuditAdmin>[0]

  it('cannot be created without an authorize function', () => {
    const store = openStore()
    const cases: [string, unknown][] = [
      ['no options', undefined],
      ['no authorize', { store, uiDir: false }],
      ['authorize not a function', { store, uiDir: false, authorize: true }],
    ]
    for (const [label, options] of cases) expect(() => createAuditAdmin(options as Options), label).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
  })

  it('admits only a principal with a string tenant and an actor an event can carry; undefined is no credentials', async () => {
    const onError = vi.fn()
    let decision: unknown = ADMIN
    const admin = createAuditAdmin({ store: openStore(), uiDir: false, onError, authorize: () => decision as typeof ADMIN })
    const answer = async (): Promise<[number, string, string | null]> => {
      const response = await admin.fetch(new Request('http://app.test/api/columns'))
      const body = (await response.json()) as { error?: { code: string } }
      return [response.status, body.error?.code ?? 'ok', response.headers.get('allow')]
    }
    expect(await answer()).toEqual([200, 'ok', null])
    // No credentials (null or undefined) and a refusal: no Allow header on these answers.
    for (const [value, expected] of [
      [null, [401, 'UNAUTHENTICATED', null]],
      [undefined, [401, 'UNAUTHENTICATED', null]],
      ['forbidden', [403, 'FORBIDDEN', null]],
    ] as const) {
      decision = value
      expect([value, ...(await answer())]).toEqual([value, ...expected])
    }
    expect(onError).not.toHaveBeenCalled()
    // Anything else is the host app's bug: a 500, never an admission (a list of tenants, or none, would scope nothing).
    const actorFn = Object.assign(() => {}, { type: 'user', id: 'ada' })
    const malformed: [string, unknown][] = [
      ['true', true],
      ['a string', 'yes'],
      ['a number', 1],
      ['an empty object', {}],
      ['a tenant list', { tenantId: ['t1', 't2'], actor: ADMIN.actor }],
      ['a numeric tenant', { tenantId: 7, actor: ADMIN.actor }],
      ['an empty tenant', { tenantId: '', actor: ADMIN.actor }],
      ['no actor', { tenantId: 't1' }],
      ['a null actor', { tenantId: 't1', actor: null }],
      ['a function actor', { tenantId: 't1', actor: actorFn }],
      ['an actor id list', { tenantId: 't1', actor: { type: 'user', id: ['ada'] } }],
      ['an empty actor id', { tenantId: 't1', actor: { type: 'user', id: '' } }],
      ['an actor type events cannot carry', { tenantId: 't1', actor: { type: 'admin', id: 'ada' } }],
    ]
    for (const [label, value] of malformed) {
      decision = value
      expect([label, ...(await answer())]).toEqual([label, 500, 'INTERNAL', null])
    }
    expect(onError).toHaveBeenCalledTimes(malformed.length)
  })

  it('refuses a cursor under other explicit bounds than the first page was asked with', async () => {
    const store = openStore()
    const logger = createAuditLogger({ store, onError: () => {} })
    cleanups.push(() => logger.close())
    for (const id of ['p1', 'p2', 'p3']) await logger.record({ tenantId: 't1', actor: ADMIN.actor, action: 'project_created', resource: { type: 'project', id }, outcome: 'success' })
    await logger.flush()
    const admin = createAuditAdmin({ logger, uiDir: false, authorize: () => ADMIN })
    const from = new Date(Date.now() - 86_400_000).toISOString()
    const to = new Date(Date.now() + 60_000).toISOString()
    const page = async (query: string): Promise<[number, string, string | null]> => {
      const response = await admin.fetch(new Request(`http://app.test/api/events?limit=1&${query}`))
      const body = (await response.json()) as { error?: { code: string }; nextCursor?: string | null }
      return [response.status, body.error?.code ?? 'ok', body.nextCursor ?? null]
    }
    const [status, , cursor] = await page(`from=${from}&to=${to}`)
    expect([status, typeof cursor]).toEqual([200, 'string'])
    const next = `cursor=${encodeURIComponent(cursor as string)}`
    expect((await page(`from=${from}&to=${to}&${next}`)).slice(0, 2)).toEqual([200, 'ok'])
    const otherFrom = new Date(Date.now() - 2 * 86_400_000).toISOString()
    const otherTo = new Date(Date.now() + 120_000).toISOString()
    for (const query of [`from=${otherFrom}&to=${to}`, `from=${from}&to=${otherTo}`, `to=${to}`, `from=${from}`])
      expect([query, ...(await page(`${query}&${next}`)).slice(0, 2)]).toEqual([query, 400, 'INVALID_CURSOR'])
  })

  it('serves only below its mount, the one the adapter names or else the basePath option', async () => {
    const store = openStore()
    const status = async (admin: ReturnType<typeof createAuditAdmin>, url: string, basePath?: string): Promise<[number, string]> => {
      const response = await admin.fetch(new Request(url), basePath === undefined ? {} : { basePath })
      const body = (await response.json()) as { error?: { code: string } }
      return [response.status, body.error?.code ?? 'ok']
    }
    const mounted = createAuditAdmin({ store, uiDir: false, basePath: '/admin/audit', authorize: () => ADMIN })
    expect(await status(mounted, 'http://app.test/admin/audit/api/columns')).toEqual([200, 'ok'])
    // Same length as the mount, or the mount's route without it: not below the mount.
    expect(await status(mounted, 'http://app.test/admin/audiX/api/columns')).toEqual([404, 'NOT_FOUND'])
    expect(await status(mounted, 'http://app.test/api/columns')).toEqual([404, 'NOT_FOUND'])
    // The adapter's mount wins over the option.
    expect(await status(mounted, 'http://app.test/ops/audit/api/columns', '/ops/audit')).toEqual([200, 'ok'])
    const bare = createAuditAdmin({ store, uiDir: false, authorize: () => ADMIN })
    expect(await status(bare, 'http://app.test/mnt/api/columns', '/mnt')).toEqual([200, 'ok'])
    expect(await status(bare, 'http://app.test/api/columns', '/mnt')).toEqual([404, 'NOT_FOUND'])
  })
})
