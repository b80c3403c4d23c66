import type { AddressInfo } from 'node:net'
import { createIntegrityService, type AdminAuthorization, type AuditLogger, type AuditStore } from '@auditkit/core'
import { expectAdminMountServesEveryRoute, expectExportRecordsIpv4Client, openAdminMountStore, siemSettingsInState } from '@auditkit/test-utils'
import compression from 'compression'
import cors from 'cors'
import express, { type Express } from 'express'
import session from 'express-session'
import express4 from 'express4'
import { afterEach, describe, expect, it } from 'vitest'
import { auditAdminRouter, auditMiddleware } from './index.js'

const ADMIN = { authorization: 'Bearer admin' }

function authorize(request: Request): AdminAuthorization {
  return request.headers.get('authorization') === ADMIN.authorization ? { tenantId: 't1', actor: { type: 'user', id: 'admin-1' } } : null
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function setup(events = 0): Promise<{ store: AuditStore; logger: AuditLogger }> {
  const opened = await openAdminMountStore({ events })
  cleanups.push(opened.close)
  return opened
}

async function listen(app: Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', resolve))
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const putSettings = (origin: string, body: unknown): Promise<Response> =>
  fetch(`${origin}/admin/audit/api/settings/siem`, { method: 'PUT', headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe('auditAdminRouter behind body parsers', () => {
  const settings = { enabled: true, endpoint: 'https://otlp.example:4318/v1/logs' }

  for (const [name, createApp] of [
    ['Express 4', express4],
    ['Express 5', express],
  ] as const) {
    it(`${name}: a settings PUT gets its JSON body when only a parser for another type runs first (express.urlencoded())`, async () => {
      const { store, logger } = await setup()
      const app = createApp()
      app.use(createApp.urlencoded({ extended: false }))
      app.use('/admin/audit', auditAdminRouter({ logger, authorize, siem: siemSettingsInState(store), uiDir: false }))
      const origin = await listen(app)
      const saved = await putSettings(origin, settings)
      expect(saved.status).toBe(200)
      expect(await store.getState('siem-test', 't1')).toEqual(settings)
    })

    it(`${name}: a settings PUT gets its JSON body after express.json()`, async () => {
      const { store, logger } = await setup()
      const app = createApp()
      app.use(createApp.json())
      app.use(createApp.urlencoded({ extended: false }))
      app.use('/admin/audit', auditAdminRouter({ logger, authorize, siem: siemSettingsInState(store), uiDir: false }))
      const origin = await listen(app)
      expect((await putSettings(origin, settings)).status).toBe(200)
      expect(await store.getState('siem-test', 't1')).toEqual(settings)
    })

    for (const parser of ['raw', 'text'] as const) {
      it(`${name}: a settings PUT gets its JSON body after express.${parser}() read it as ${parser === 'raw' ? 'bytes' : 'text'}`, async () => {
        const { store, logger } = await setup()
        const app = createApp()
        app.use(createApp[parser]({ type: 'application/json' }))
        app.use('/admin/audit', auditAdminRouter({ logger, authorize, siem: siemSettingsInState(store), uiDir: false }))
        const origin = await listen(app)
        expect((await putSettings(origin, settings)).status).toBe(200)
        expect(await store.getState('siem-test', 't1')).toEqual(settings)
      })
    }
  }
})

describe('auditAdminRouter mounted before the body parsers', () => {
  it('answers a malformed settings body with the admin API\'s JSON error, after authorize', async () => {
    const { store, logger } = await setup()
    const app = express()
    app.use('/admin/audit', auditAdminRouter({ logger, authorize, siem: siemSettingsInState(store), uiDir: false }))
    app.use(express.json({ limit: '1kb' }))
    const origin = await listen(app)
    const url = `${origin}/admin/audit/api/settings/siem`
    const outsider = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{bad' })
    expect([outsider.status, ((await outsider.json()) as { error: { code: string } }).error.code]).toEqual([401, 'UNAUTHENTICATED'])
    const malformed = await fetch(url, { method: 'PUT', headers: { ...ADMIN, 'content-type': 'application/json' }, body: '{bad' })
    expect([malformed.status, ((await malformed.json()) as { error: { code: string } }).error.code]).toEqual([400, 'INVALID_BODY'])
    expect((await putSettings(origin, { enabled: true, note: 'x'.repeat(2000) })).status).toBe(200)
  })
})

describe('auditAdminRouter in a typical Express app', () => {
  it.each([
    ['Express 4', express4],
    ['Express 5', express],
  ] as const)('%s: serves every route behind cors, compression, express-session and trust proxy, and records each export once', async (_name, createApp) => {
    const { store, logger } = await setup(30)
    const app = createApp()
    app.set('trust proxy', 'loopback')
    app.use(cors({ origin: 'https://app.example', credentials: true }))
    app.use(compression({ threshold: 0 }))
    app.use(session({ secret: 'test-secret', resave: false, saveUninitialized: false }))
    app.use(createApp.json())
    app.use(auditMiddleware({ logger, delivery: 'await', tenant: () => 't1' }))
    app.post('/login', (req, res) => {
      ;(req.session as unknown as { admin?: string }).admin = 'admin-1'
      res.json({ ok: true })
    })
    const router = createApp.Router()
    router.use(
      '/audit',
      auditAdminRouter({
        logger,
        siem: siemSettingsInState(store),
        integrity: createIntegrityService({ store }),
        uiDir: false,
        // The session express-session resolved decides: authorize gets the Express request beside the Fetch one.
        authorize: (_request, req) => {
          const admin = (req.session as unknown as { admin?: string }).admin
          return admin ? { tenantId: 't1', actor: { type: 'user', id: admin } } : null
        },
      }),
    )
    app.use('/admin', router)
    const origin = await listen(app)
    const base = `${origin}/admin/audit`

    const login = await fetch(`${origin}/login`, { method: 'POST' })
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string
    await expectAdminMountServesEveryRoute({ base, headers: { cookie, 'x-forwarded-for': '198.51.100.7' }, store, logger, appRecorded: [['/login', 'success']] })

    // The exports name the admin the session resolved and the client address trust proxy gives.
    const exports = await store.query({ tenantId: 't1', from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z', action: 'audit_log_exported', limit: 10 })
    expect(exports.items).toHaveLength(2)
    for (const event of exports.items) {
      expect(event.context?.ip).toBe('198.51.100.7')
      expect(event.actor).toMatchObject({ type: 'user', id: 'admin-1' })
    }
  })
})

describe('auditAdminRouter under a mount path with parameters', () => {
  it.each([
    ['Express 4', express4],
    ['Express 5', express],
  ] as const)('%s: serves it when the parameter is percent-encoded (a space, Japanese)', async (_name, createApp) => {
    const { logger } = await setup()
    const app = createApp()
    app.use('/workspaces/:ws/admin/audit', auditAdminRouter({ logger, authorize, uiDir: false }))
    const origin = await listen(app)
    for (const ws of ['acme', 'a%20b', '%E3%81%82']) {
      const list = await fetch(`${origin}/workspaces/${ws}/admin/audit/api/events?limit=1`, { headers: ADMIN })
      expect([ws, list.status]).toEqual([ws, 200])
      const redirect = await fetch(`${origin}/workspaces/${ws}/admin/audit`, { headers: ADMIN, redirect: 'manual' })
      expect(redirect.headers.get('location')).toBe(`/workspaces/${ws}/admin/audit/`)
    }
  })
})

describe('auditAdminRouter authorize with the request the app decorated', () => {
  interface SignedIn {
    account?: { id: string; role: string }
  }
  // What a session or Passport middleware does: resolve the caller once, on the request, for everything after it.
  const resolveUser = (req: express.Request & SignedIn, _res: express.Response, next: express.NextFunction): void => {
    const id = /(?:^|;\s*)sid=([\w-]+)/.exec(req.headers.cookie ?? '')?.[1]
    if (id) req.account = { id, role: id.startsWith('admin') ? 'audit-admin' : 'member' }
    next()
  }
  const decide = (req: express.Request & SignedIn): AdminAuthorization =>
    req.account ? (req.account.role === 'audit-admin' ? { tenantId: 't1', actor: { type: 'user', id: req.account.id } } : 'forbidden') : null

  it.each([
    ['Express 4', express4],
    ['Express 5', express],
  ] as const)('%s: sees what a middleware set on req under a sub-router, and the mount path parameters', async (_name, createApp) => {
    const { logger } = await setup()
    const app = createApp()
    app.use(resolveUser)
    const router = createApp.Router({ mergeParams: true })
    router.use('/audit', auditAdminRouter({ logger, uiDir: false, authorize: (_request, req) => (req.params.ws === 't1' ? decide(req) : 'forbidden') }))
    app.use('/ws/:ws/admin', router)
    app.use('/admin/audit', auditAdminRouter({ logger, uiDir: false, authorize: (_request, req) => decide(req) }))
    const origin = await listen(app)
    expect((await fetch(`${origin}/admin/audit/api/events`)).status).toBe(401)
    expect((await fetch(`${origin}/admin/audit/api/events`, { headers: { cookie: 'sid=member-7' } })).status).toBe(403)
    expect((await fetch(`${origin}/admin/audit/api/events`, { headers: { cookie: 'sid=admin-3' } })).status).toBe(200)
    expect((await fetch(`${origin}/ws/t1/admin/audit/api/events`, { headers: { cookie: 'sid=admin-3' } })).status).toBe(200)
    expect((await fetch(`${origin}/ws/t2/admin/audit/api/events`, { headers: { cookie: 'sid=admin-3' } })).status).toBe(403)
  })
})

describe('auditAdminRouter on a dual-stack server', () => {
  it.each([
    ['Express 4', express4],
    ['Express 5', express],
  ] as const)('%s: records an IPv4 client on its exports as auditMiddleware does (127.0.0.1, not ::ffff:127.0.0.1)', async (_name, createApp) => {
    const { store, logger } = await setup()
    const app = createApp()
    app.use(auditMiddleware({ logger, tenant: () => 't1' }))
    app.use('/admin/audit', auditAdminRouter({ logger, authorize, uiDir: false }))
    // No host, as `app.listen(3000)` is written: Node listens on `::` where it can.
    const server = app.listen(0)
    await new Promise<void>((resolve) => server.once('listening', resolve))
    cleanups.push(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/audit`
    await expectExportRecordsIpv4Client({ base, headers: ADMIN, store, logger })
  })
})
