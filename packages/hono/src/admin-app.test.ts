import type { AddressInfo } from 'node:net'
import { createIntegrityService, type AdminAuthorization, type AuditLogger, type AuditStore } from '@auditkit/core'
import { expectAdminMountServesEveryRoute, expectExportRecordsIpv4Client, openAdminMountStore, siemSettingsInState } from '@auditkit/test-utils'
import { serve, type ServerType } from '@hono/node-server'
import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { compress } from 'hono/compress'
import { cors } from 'hono/cors'
import { jwt, sign } from 'hono/jwt'
import { requestId } from 'hono/request-id'
import { secureHeaders } from 'hono/secure-headers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { auditAdminApp, auditMiddleware } from './index.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function setup(): Promise<{ store: AuditStore; logger: AuditLogger }> {
  const opened = await openAdminMountStore({ events: 30 })
  cleanups.push(opened.close)
  return opened
}

async function listen(app: Pick<Hono, 'fetch'>): Promise<string> {
  const server: ServerType = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' })
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())))
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const cookieAuthorize = (request: Request): AdminAuthorization =>
  /(?:^|;\s*)admin_session=ok(?:;|$)/.test(request.headers.get('cookie') ?? '') ? { tenantId: 't1', actor: { type: 'user', id: 'admin-1' } } : null

async function exercise(base: string, headers: Record<string, string>, store: AuditStore, logger: AuditLogger): Promise<void> {
  await expectAdminMountServesEveryRoute({ base, headers, store, logger })
}

describe('auditAdminApp in a typical Hono app', () => {
  it('serves every route behind cors, secureHeaders, compress and bodyLimit, with a cookie authorize', async () => {
    const { store, logger } = await setup()
    const app = new Hono()
    app.use(cors({ origin: 'https://app.example', credentials: true }))
    app.use(secureHeaders())
    app.use(compress())
    app.use(bodyLimit({ maxSize: 1024 * 1024 }))
    app.use(auditMiddleware({ logger, delivery: 'await', tenant: () => 't1' }))
    app.route('/admin/audit', auditAdminApp({ logger, authorize: cookieAuthorize, siem: siemSettingsInState(store), integrity: createIntegrityService({ store }), uiDir: false }))
    const origin = await listen(app)
    await exercise(`${origin}/admin/audit`, { cookie: 'admin_session=ok' }, store, logger)
  })

  it('serves every route under basePath() and a parent jwt(), reading the token from a cookie', async () => {
    const { store, logger } = await setup()
    const secret = 'jwt-test-secret'
    const app = new Hono().basePath('/api')
    app.use('/admin/*', jwt({ secret, alg: 'HS256', cookie: 'token' }))
    app.use(auditMiddleware({ logger, delivery: 'await', tenant: () => 't1' }))
    app.route(
      '/admin/audit',
      auditAdminApp({
        logger,
        siem: siemSettingsInState(store),
        integrity: createIntegrityService({ store }),
        uiDir: false,
        // The payload jwt() verified decides: authorize gets the route's Context beside the Fetch request.
        authorize: (_request, c) => {
          const payload = c.get('jwtPayload') as { sub?: string; role?: string } | undefined
          if (!payload?.sub) return null
          return payload.role === 'audit-admin' ? { tenantId: 't1', actor: { type: 'user', id: payload.sub } } : 'forbidden'
        },
      }),
    )
    const origin = await listen(app)
    const exp = Math.floor(Date.now() / 1000) + 600
    const token = await sign({ sub: 'admin-1', role: 'audit-admin', exp }, secret, 'HS256')
    const memberToken = await sign({ sub: 'member-1', role: 'member', exp }, secret, 'HS256')
    const headers = { cookie: `token=${token}` }
    const base = `${origin}/api/admin/audit`
    // jwt() answers the anonymous request itself; the rest goes through the admin routes.
    expect((await fetch(`${base}/api/events`)).status).toBe(401)
    const member = await fetch(`${base}/api/events`, { headers: { cookie: `token=${memberToken}` } })
    expect(member.status).toBe(403)
    expect(((await member.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN')
    const list = await fetch(`${base}/api/events?limit=5`, { headers })
    expect(list.status).toBe(200)
    const put = await fetch(`${base}/api/settings/siem`, { method: 'PUT', headers: { ...headers, 'content-type': 'application/json' }, body: '{"enabled":false}' })
    expect(put.status).toBe(200)
    const csv = await fetch(`${base}/api/export.csv`, { headers })
    expect(csv.status).toBe(200)
    await csv.text()
    await logger.flush()
    const exported = await store.query({ tenantId: 't1', from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z', action: 'audit_log_exported', limit: 10 })
    expect(exported.items.map((event) => event.actor.id)).toEqual(['admin-1'])
    const redirect = await fetch(base, { headers, redirect: 'manual' })
    expect(redirect.headers.get('location')).toBe('/api/admin/audit/')
  })

  it('takes the settings body that a parent middleware already read (c.req.json())', async () => {
    const { store, logger } = await setup()
    const app = new Hono()
    const seen: unknown[] = []
    // e.g. a request logger that records JSON bodies: Hono caches what it read, the raw body is used up.
    app.use(async (c, next) => {
      if (c.req.header('content-type')?.startsWith('application/json')) seen.push(await c.req.json())
      await next()
    })
    app.route('/admin/audit', auditAdminApp({ logger, authorize: cookieAuthorize, siem: siemSettingsInState(store), uiDir: false }))
    const origin = await listen(app)
    const put = await fetch(`${origin}/admin/audit/api/settings/siem`, {
      method: 'PUT',
      headers: { cookie: 'admin_session=ok', 'content-type': 'application/json' },
      body: '{"enabled":false}',
    })
    expect(seen).toEqual([{ enabled: false }])
    expect(put.status).toBe(200)
    expect(await store.getState('siem-test', 't1')).toEqual({ enabled: false })
  })

  it('serves a mount path with a parameter whose value is percent-encoded (a space, Japanese)', async () => {
    const { logger } = await setup()
    const app = new Hono()
    app.route('/workspaces/:ws/admin/audit', auditAdminApp({ logger, authorize: cookieAuthorize, uiDir: false }))
    const origin = await listen(app)
    const headers = { cookie: 'admin_session=ok' }
    for (const ws of ['acme', 'a%20b', '%E3%81%82']) {
      const list = await fetch(`${origin}/workspaces/${ws}/admin/audit/api/events?limit=1`, { headers })
      expect([ws, list.status]).toEqual([ws, 200])
      const redirect = await fetch(`${origin}/workspaces/${ws}/admin/audit`, { headers, redirect: 'manual' })
      expect(redirect.headers.get('location')).toBe(`/workspaces/${ws}/admin/audit/`)
    }
  })
})

describe('auditAdminApp authorize with the Context the app decorated', () => {
  interface AppEnv {
    Variables: { user: { id: string; workspace: string } | undefined }
  }
  const admitUser = (c: Context<AppEnv>): AdminAuthorization => {
    const user = c.get('user')
    return user ? { tenantId: user.workspace, actor: { type: 'user', id: user.id } } : null
  }

  it('sees c.set() of a parent middleware under basePath() and nested app.route(), and the mount path parameters', async () => {
    const { logger } = await setup()
    const app = new Hono<AppEnv>().basePath('/api')
    app.use(async (c, next) => {
      const id = /(?:^|;\s*)sid=([\w-]+)/.exec(c.req.header('cookie') ?? '')?.[1]
      c.set('user', id ? { id, workspace: 't1' } : undefined)
      await next()
    })
    const admin = new Hono<AppEnv>()
    admin.route('/audit', auditAdminApp<AppEnv>({ logger, uiDir: false, authorize: (_request, c) => admitUser(c) }))
    admin.route('/ws/:ws/audit', auditAdminApp<AppEnv>({ logger, uiDir: false, authorize: (_request, c) => (c.req.param('ws') === 't1' ? admitUser(c) : 'forbidden') }))
    app.route('/admin', admin)
    const origin = await listen(app)
    const headers = { cookie: 'sid=admin-1' }
    expect((await fetch(`${origin}/api/admin/audit/api/events`)).status).toBe(401)
    expect((await fetch(`${origin}/api/admin/audit/api/events`, { headers })).status).toBe(200)
    expect((await fetch(`${origin}/api/admin/ws/t1/audit/api/events`, { headers })).status).toBe(200)
    expect((await fetch(`${origin}/api/admin/ws/t2/audit/api/events`, { headers })).status).toBe(403)
  })
})

describe('auditAdminApp on a dual-stack server', () => {
  it('records an IPv4 client on its exports as auditMiddleware does (127.0.0.1, not ::ffff:127.0.0.1)', async () => {
    const { store, logger } = await setup()
    const app = new Hono()
    app.use(auditMiddleware({ logger, tenant: () => 't1' }))
    app.route('/admin/audit', auditAdminApp({ logger, authorize: cookieAuthorize, uiDir: false }))
    // No hostname, as `serve(app)` is written: Node listens on `::` where it can.
    const server: ServerType = serve({ fetch: app.fetch, port: 0 })
    await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())))
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/audit`
    await expectExportRecordsIpv4Client({ base, headers: { cookie: 'admin_session=ok' }, store, logger })
  })
})

describe('auditAdminApp behind requestId()', () => {
  it('records its exports with the id requestId() settled on, as auditMiddleware records the app requests', async () => {
    const { store, logger } = await setup()
    const app = new Hono()
    app.use(requestId())
    const settled: unknown[] = []
    app.use(async (c, next) => {
      settled.push(c.get('requestId'))
      await next()
    })
    app.use(auditMiddleware({ logger, tenant: () => 't1' }))
    app.route('/admin/audit', auditAdminApp({ logger, authorize: cookieAuthorize, uiDir: false }))
    const origin = await listen(app)
    const csv = await fetch(`${origin}/admin/audit/api/export.csv`, { headers: { cookie: 'admin_session=ok' } })
    await csv.text()
    // No X-Request-Id was sent: requestId() made one.
    const generated = settled[0]
    expect(generated).toMatch(/^[0-9a-f-]{36}$/)
    await vi.waitFor(async () => {
      await logger.flush()
      const { items } = await store.query({ tenantId: 't1', from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z', limit: 5, action: 'audit_log_exported' })
      expect(items.map((event) => event.context?.requestId)).toEqual([generated])
    })
  })
})
