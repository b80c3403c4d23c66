import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createAuditAdmin, createIntegrityService, createSealer, uuidv7, type UnsealedEvent } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { describe, expect, it } from 'vitest'
import { BASE, describeAdminApi } from './fixtures/admin-http-suite.js'
import { TOKENS, authorizeByToken, createAdminFixture } from './fixtures/admin-fixture.js'

// The handler itself, through its Fetch interface (what every adapter mounts).
describeAdminApi('admin handler (fetch)', async (options) => {
  const admin = createAuditAdmin({ ...options, basePath: BASE })
  return {
    clientIp: '192.0.2.7',
    request: (path, init) => admin.fetch(new Request(`http://admin.test${BASE}${path}`, init), { ip: '192.0.2.7' }),
    close: async () => {},
  }
})

describe('unexpected failures answer a generic JSON error, never a stack trace', () => {
  const request = (admin: ReturnType<typeof createAuditAdmin>, path: string): Promise<Response> =>
    admin.fetch(new Request(`http://admin.test${BASE}${path}`, { headers: { authorization: `Bearer ${TOKENS.adminA}` } }))

  it('answers 500 INTERNAL when authorize throws or answers nonsense, and tells onError', async () => {
    const fixture = await createAdminFixture()
    try {
      const seen: unknown[] = []
      for (const authorize of [
        () => {
          throw new Error('session backend down at /srv/app/auth.js:12:5')
        },
        () => ({ tenantId: '', actor: null }) as never,
        // Each half of a principal missing on its own: never an admission.
        () => ({ tenantId: '', actor: { type: 'user' as const, id: 'admin_1' } }),
        () => ({ tenantId: 'tenant-a', actor: null }) as never,
        // An actor no event can carry (plain JavaScript apps): admitting it would serve exports that are never recorded.
        () => ({ tenantId: 'tenant-a', actor: { type: 'admin', id: 'admin_1' } }) as never,
        () => ({ tenantId: 'tenant-a', actor: { type: 'user' as const, id: '' } }),
      ]) {
        const admin = createAuditAdmin({ ...fixture.adminOptions, basePath: BASE, authorize, onError: (error) => seen.push(error) })
        const response = await request(admin, '/api/events')
        expect(response.status).toBe(500)
        const text = await response.text()
        expect(JSON.parse(text)).toEqual({ error: { code: 'INTERNAL', message: expect.any(String) } })
        expect(text).not.toContain('auth.js')
      }
      expect(seen).toHaveLength(6)
    } finally {
      await fixture.close()
    }
  })

  it('answers 503 STORE_UNAVAILABLE with a generic message when the store fails', async () => {
    const fixture = await createAdminFixture()
    const seen: unknown[] = []
    const integrity = createIntegrityService({ store: fixture.store })
    const admin = createAuditAdmin({ ...fixture.adminOptions, integrity, basePath: BASE, onError: (error) => seen.push(error) })
    await fixture.close()
    // The downloads too: a 503, not a 200 whose file is cut off after its first line.
    const paths = ['/api/events', '/api/facets', '/api/export.csv', '/api/export.ndjson', '/api/integrity/verify', `/api/events/${fixture.eventsA[0]?.id}`]
    for (const path of paths) {
      const response = await request(admin, path)
      expect(response.status, path).toBe(503)
      const body = (await response.json()) as { error: { code: string; message: string } }
      expect(body.error.code).toBe('STORE_UNAVAILABLE')
      expect(body.error.message).not.toMatch(/auditkit-admin-|\.db/)
    }
    expect(seen.length).toBeGreaterThanOrEqual(paths.length)
  })
})

describe('CSV download cut short', () => {
  it('stops reading the store and records the export as a failure with the rows sent', async () => {
    const fixture = await createAdminFixture()
    try {
      const seal = createSealer()
      const events: UnsealedEvent[] = []
      for (let i = 0; i < 5000; i++) {
        const ms = Date.parse('2026-04-01T00:00:00.000Z') + i * 1000
        events.push({
          id: uuidv7(ms),
          occurredAt: new Date(ms).toISOString(),
          tenantId: 'tenant-c',
          chainId: 'tenant-c',
          actor: { type: 'user', id: `u${i % 9}`, name: 'A fairly long display name to fill the rows' },
          action: 'project_updated',
          resource: { type: 'project', id: `p${i}`, name: `Project number ${i}` },
          outcome: 'success',
        })
      }
      await fixture.store.append(events, seal)
      const admin = createAuditAdmin({
        ...fixture.adminOptions,
        basePath: BASE,
        authorize: () => ({ tenantId: 'tenant-c', actor: { type: 'user', id: 'admin-c' } }),
      })
      const response = await admin.fetch(new Request(`http://admin.test${BASE}/api/export.csv?from=2026-04-01&to=2026-04-02&columns=occurredAt,actor,resourceName`))
      const reader = (response.body as ReadableStream<Uint8Array>).getReader()
      const first = await reader.read()
      expect(first.done).toBe(false)
      await reader.cancel()
      await fixture.logger.flush()
      const recorded = await fixture.store.query({ tenantId: 'tenant-c', action: 'audit_log_exported', from: '2024-01-01T00:00:00.000Z', to: '2027-01-01T00:00:00.000Z', limit: 5 })
      expect(recorded.items).toHaveLength(1)
      expect(recorded.items[0]?.outcome).toBe('failure')
      expect(recorded.items[0]?.metadata).toMatchObject({ ended: 'cancelled' })
      const rows = recorded.items[0]?.metadata?.['rows'] as number
      expect(rows).toBeGreaterThan(0)
      expect(rows).toBeLessThan(5000)
    } finally {
      await fixture.close()
    }
  })
})

describe('createAuditAdmin options', () => {
  it('refuses to start without authorize or without a store', () => {
    expect(() => createAuditAdmin({} as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    expect(() => createAuditAdmin({ authorize: authorizeByToken })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
  })

  it('refuses a requestIdHeader that is no header name, which would fail every request', () => {
    const store = createSqliteStore({ path: ':memory:' })
    expect(() => createAuditAdmin({ authorize: authorizeByToken, store, requestIdHeader: 'x request id' })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    expect(() => createAuditAdmin({ authorize: authorizeByToken, store, requestIdHeader: 'x-correlation-id' })).not.toThrow()
  })
})

describe('the real admin page (@auditkit/admin-ui)', () => {
  const indexHtmlPath = fileURLToPath(new URL('../packages/admin-ui/dist/index.html', import.meta.url))
  const built = existsSync(indexHtmlPath)
  if (!built) console.warn(`SKIPPED: @auditkit/admin-ui is not built (${indexHtmlPath}); run pnpm --filter @auditkit/admin-ui build`)

  it.skipIf(!built)('is served by default at {base}/ with every asset it references, under the strict CSP', async () => {
    const fixture = await createAdminFixture()
    try {
      const { uiDir: _fixtureUi, ...options } = fixture.adminOptions
      const admin = createAuditAdmin({ ...options, basePath: BASE })
      const get = (path: string): Promise<Response> =>
        admin.fetch(new Request(`http://admin.test${BASE}${path}`, { headers: { authorization: `Bearer ${TOKENS.adminA}` } }))
      const page = await get('/')
      expect(page.status).toBe(200)
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
      const html = await page.text()
      // The CSP forbids inline code: every script must be a file.
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
      const assets = [...html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+)"/g)].map((m) => m[1] as string)
      expect(assets.length).toBeGreaterThan(0)
      for (const asset of assets) {
        const response = await get(`/${asset}`)
        expect(response.status, asset).toBe(200)
        expect(response.headers.get('content-type'), asset).toMatch(/^text\/(javascript|css)/)
        await response.arrayBuffer()
      }
      expect((await get('/')).status).toBe(200)
      const anonymous = await admin.fetch(new Request(`http://admin.test${BASE}/${assets[0]}`))
      expect(anonymous.status).toBe(401)
    } finally {
      await fixture.close()
    }
  })
})
