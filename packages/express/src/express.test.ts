import { connect, type AddressInfo } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { actorFromUser, createAuditLogger, type AuditKitError } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import {
  FIXTURE_TENANT_HEADER,
  FIXTURE_TOKENS,
  authenticateFixture,
  createFixtureRoutes,
  fixtureTenant,
  runAdapterContract,
  type AdapterHarness,
  type FixturePrincipal,
} from '@auditkit/test-utils'
import compression from 'compression'
import cors from 'cors'
import express, { type ErrorRequestHandler, type Express } from 'express'
import express4 from 'express4'
import { rateLimit, type RateLimitInfo } from 'express-rate-limit'
import session from 'express-session'
import methodOverride from 'method-override'
import multer from 'multer'
import passport from 'passport'
import { Strategy as LocalStrategy } from 'passport-local'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { auditMiddleware } from './index.js'

const principalOf = (req: express.Request): FixturePrincipal | null => (req as { user?: FixturePrincipal }).user ?? null

async function listen(app: Express): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', resolve))
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

// Express's default error handler prints the stack of the fixture's deliberate 500; answer it quietly instead.
const quietErrors: ErrorRequestHandler = (_error, _req, res, _next) => {
  res.status(500).json({ error: { code: 'INTERNAL', message: 'Internal error' } })
}

const harnessFor = (createApp: typeof express): AdapterHarness => ({
  async startApp({ logger, delivery, trustProxy, recordReads, deriveOperation }) {
    const app = createApp()
    app.set('trust proxy', trustProxy)
    app.use(createApp.json())
    app.use(auditMiddleware({ logger, delivery, recordReads, deriveOperation, tenant: (req) => fixtureTenant(req.get(FIXTURE_TENANT_HEADER), principalOf(req)) }))
    app.use((req, res, next) => {
      const principal = authenticateFixture(req.get('authorization'))
      if (principal === 'invalid') {
        res.status(401).json({ error: { code: 'UNAUTHENTICATED', message: 'Unknown token' } })
        return
      }
      ;(req as { user?: FixturePrincipal | null }).user = principal
      next()
    })
    for (const route of createFixtureRoutes()) {
      app[route.method.toLowerCase() as 'get' | 'post' | 'patch' | 'delete'](route.path, (req, res, next) => {
        const answer = route.handle({ params: req.params as Record<string, string>, body: req.body as unknown, principal: principalOf(req), audit: req.audit })
        void Promise.resolve(answer).then(({ status, body }) => (body === undefined ? res.status(status).end() : res.status(status).json(body)), next)
      })
    }
    app.use(quietErrors)
    return listen(app)
  },
})

runAdapterContract('express 5', harnessFor(express))
runAdapterContract('express 4', harnessFor(express4))

describe.each([
  ['express 5', express],
  ['express 4', express4],
])('%s specifics', (_name, express) => {
  const dir = mkdtempSync(join(tmpdir(), 'auditkit-express-'))
  const store = createSqliteStore({ path: join(dir, 'audit.db') })
  const logger = createAuditLogger({ store })
  const closers: (() => Promise<void>)[] = []
  afterAll(async () => {
    for (const close of closers) await close()
    await logger.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const eventsOf = async (tenantId: string) => {
    await logger.flush()
    return (await store.query({ tenantId, from: '2000-01-01T00:00:00.000Z', to: '2999-01-01T00:00:00.000Z', limit: 100 })).items.reverse()
  }

  it('records the full route pattern of nested mounted routers, with parent params', async () => {
    const app = express()
    // The tenant comes from the parent router's parameter, which the routes themselves do not see (no mergeParams).
    app.use(auditMiddleware({ logger, tenant: (_req, { params }) => `mounted_${params.ws}` }))
    const projects = express.Router()
    projects.patch('/:projectId', (_req, res) => res.json({ ok: true }))
    projects.post('/:projectId/fail', () => {
      throw new Error('fails after routing')
    })
    const workspace = express.Router()
    workspace.use('/projects', projects)
    app.use('/workspaces/:ws', workspace)
    app.use(quietErrors)
    const running = await listen(app)
    closers.push(running.close)
    await fetch(`${running.baseUrl}/workspaces/w_1/projects/p_2`, { method: 'PATCH' })
    await fetch(`${running.baseUrl}/workspaces/w_1/projects/p_3/fail`, { method: 'POST' })
    const [updated, failed] = await eventsOf('mounted_w_1')
    expect(updated).toMatchObject({
      action: 'project_updated',
      resource: { type: 'project', id: 'p_2' },
      targets: [{ type: 'workspace', id: 'w_1' }],
      context: { route: '/workspaces/:ws/projects/:projectId', path: '/workspaces/w_1/projects/p_2' },
    })
    // The error leaves the routers (Express resets req.baseUrl) before the 500 is sent: the pattern still holds.
    expect(failed).toMatchObject({ outcome: 'failure', context: { route: '/workspaces/:ws/projects/:projectId/fail', status: 500 } })
  })

  it('records the full route pattern of routes in mounted sub-apps, with the mount params', async () => {
    const app = express()
    app.use(auditMiddleware({ logger, tenant: (_req, { params }) => `subapp_${params.org ?? 'none'}` }))
    // A sub-app inside a sub-app: each only knows its own routes.
    const projects = express()
    projects.patch('/:projectId', (_req, res) => res.json({ ok: true }))
    const org = express()
    org.use('/projects', projects)
    app.use('/orgs/:org', org)
    const running = await listen(app)
    closers.push(running.close)
    expect((await fetch(`${running.baseUrl}/orgs/o_1/projects/p_2`, { method: 'PATCH' })).status).toBe(200)
    const [event] = await eventsOf('subapp_o_1')
    expect(event).toMatchObject({
      action: 'project_updated',
      resource: { type: 'project', id: 'p_2' },
      targets: [{ type: 'org', id: 'o_1' }],
      context: { route: '/orgs/:org/projects/:projectId', path: '/orgs/o_1/projects/p_2' },
    })
  })

  it('records the full pattern and mount params of a sub-app route whose error the parent app answers', async () => {
    const app = express()
    app.use(auditMiddleware({ logger, tenant: (_req, { params }) => `subapp_error_${params.org ?? 'none'}` }))
    const org = express()
    org.patch('/projects/:projectId', () => {
      throw new Error('fails inside the sub-app')
    })
    org.post('/projects/:projectId/archive', (_req, _res, next) => next(Object.assign(new Error('conflict'), { status: 409 })))
    app.use('/orgs/:org', org)
    // One error handler for the whole API, on the main app: the error leaves the sub-app (Express restores req.app).
    app.use(((error: { status?: number }, _req, res, _next) => res.status(error.status ?? 500).json({})) as ErrorRequestHandler)
    const running = await listen(app)
    closers.push(running.close)
    expect((await fetch(`${running.baseUrl}/orgs/o_1/projects/p_1`, { method: 'PATCH' })).status).toBe(500)
    expect((await fetch(`${running.baseUrl}/orgs/o_1/projects/p_2/archive`, { method: 'POST' })).status).toBe(409)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(await eventsOf('subapp_error_none')).toEqual([])
    const events = await eventsOf('subapp_error_o_1')
    expect(events.map((event) => [event.action, event.resource, event.targets, event.outcome, event.context?.route, event.context?.status])).toEqual([
      ['project_updated', { type: 'project', id: 'p_1' }, [{ type: 'org', id: 'o_1' }], 'failure', '/orgs/:org/projects/:projectId', 500],
      ['project_archived', { type: 'project', id: 'p_2' }, [{ type: 'org', id: 'o_1' }], 'failure', '/orgs/:org/projects/:projectId/archive', 409],
    ])
  })

  it('records the pattern of each app when two apps mount the same router at different paths', async () => {
    // One router module shared by two servers (a public API and an internal one, say), mounted under other prefixes.
    const projects = express.Router()
    projects.patch('/projects/:projectId', (_req, res) => res.json({ ok: true }))
    const publicApp = express()
    publicApp.use(auditMiddleware({ logger, tenant: (_req, { params }) => `shared_router_${params.org ?? 'none'}` }))
    publicApp.use('/orgs/:org', projects)
    const internalApp = express()
    internalApp.use(auditMiddleware({ logger, tenant: (_req, { params }) => `shared_router_${params.ws ?? 'none'}` }))
    internalApp.use('/workspaces/:ws', projects)
    const publicServer = await listen(publicApp)
    closers.push(publicServer.close)
    const internalServer = await listen(internalApp)
    closers.push(internalServer.close)
    expect((await fetch(`${publicServer.baseUrl}/orgs/o_1/projects/p_1`, { method: 'PATCH' })).status).toBe(200)
    expect((await fetch(`${internalServer.baseUrl}/workspaces/w_1/projects/p_2`, { method: 'PATCH' })).status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(await eventsOf('shared_router_none')).toEqual([])
    expect(await eventsOf('shared_router_o_1')).toMatchObject([{ targets: [{ type: 'org', id: 'o_1' }], context: { route: '/orgs/:org/projects/:projectId' } }])
    expect(await eventsOf('shared_router_w_1')).toMatchObject([
      { resource: { type: 'project', id: 'p_2' }, targets: [{ type: 'workspace', id: 'w_1' }], context: { route: '/workspaces/:ws/projects/:projectId' } },
    ])
  })

  it('records who logs in, who logs out and expired sessions with Passport and express-session, as docs/express.md says', async () => {
    const users = [{ id: 'u_1', username: 'alice', password: 'correct horse' }]
    const app = express()
    app.use(auditMiddleware({ logger, tenant: () => 'passport' }))
    app.use(express.json())
    app.use(session({ secret: 'test secret', resave: false, saveUninitialized: false, cookie: { maxAge: 30_000 } }))
    const authenticator = new passport.Passport()
    authenticator.use(new LocalStrategy((username, password, done) => done(null, users.find((user) => user.username === username && user.password === password) ?? false)))
    authenticator.serializeUser((user, done) => done(null, (user as { id: string }).id))
    authenticator.deserializeUser((id, done) => done(null, users.find((user) => user.id === id) ?? false))
    app.use(authenticator.initialize())
    app.use(authenticator.session())
    app.post('/login', authenticator.authenticate('local'), (_req, res) => res.json({ ok: true }))
    // A form login redirects on failure too: the 302 would be a success unless the outcome is set, as the docs say.
    app.post('/sessions', (req, res, next) => {
      const authenticate = authenticator.authenticate('local', (error: unknown, user: Express.User | false) => {
        if (error) return next(error)
        if (!user) {
          req.audit.set({ outcome: 'failure' })
          return res.redirect('/sign-in?failed=1')
        }
        req.login(user, (loginError) => (loginError ? next(loginError) : res.redirect('/')))
      }) as express.RequestHandler
      authenticate(req, res, next)
    })
    app.post('/form-login', authenticator.authenticate('local', { failureRedirect: '/sign-in' }), (_req, res) => res.redirect('/'))
    // req.logout() clears req.user before the answer: the actor is set first, as the docs say.
    app.post('/logout', (req, res, next) => {
      req.audit.set({ actor: actorFromUser(req.user) })
      req.logout((error) => (error ? next(error) : res.status(204).end()))
    })
    app.post('/sign-out', (req, res, next) => req.logout((error) => (error ? next(error) : res.status(204).end())))
    app.post('/projects', (req, res) => (req.user ? res.status(201).json({}) : res.status(401).json({})))
    const running = await listen(app)
    closers.push(running.close)
    const post = (path: string, init: { cookie?: string; json?: unknown } = {}) =>
      fetch(`${running.baseUrl}${path}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { ...(init.cookie ? { cookie: init.cookie } : {}), ...(init.json ? { 'content-type': 'application/json' } : {}) },
        body: init.json ? JSON.stringify(init.json) : null,
      })
    const login = async () => {
      const response = await post('/login', { json: { username: 'alice', password: 'correct horse' } })
      expect(response.status).toBe(200)
      return (response.headers.get('set-cookie') ?? '').split(';')[0] as string
    }
    expect((await post('/login', { json: { username: 'alice', password: 'wrong' } })).status).toBe(401)
    expect((await post('/form-login', { json: { username: 'alice', password: 'wrong' } })).status).toBe(302)
    expect((await post('/sessions', { json: { username: 'alice', password: 'wrong' } })).status).toBe(302)
    expect((await post('/sessions', { json: { username: 'alice', password: 'correct horse' } })).status).toBe(302)
    const cookie = await login()
    expect((await post('/projects', { cookie })).status).toBe(201)
    expect((await post('/logout', { cookie })).status).toBe(204)
    expect((await post('/sign-out', { cookie: await login() })).status).toBe(204)
    const expiring = await login()
    // The session expires: the clock moves past its maxAge. (Waiting out a short maxAge instead would let a busy
    // machine expire the sessions above between two of their requests.)
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 60_000 })
    try {
      expect((await post('/projects', { cookie: expiring })).status).toBe(401)
    } finally {
      vi.useRealTimers()
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
    const alice = { type: 'user', id: 'u_1', name: 'alice' }
    const anonymous = { type: 'user', id: 'anonymous' }
    expect((await eventsOf('passport')).map((event) => [event.action, event.outcome, event.actor])).toEqual([
      ['login_created', 'failure', anonymous],
      ['form_login_created', 'success', anonymous],
      ['session_created', 'failure', anonymous],
      ['session_created', 'success', alice],
      ['login_created', 'success', alice],
      ['project_created', 'success', alice],
      ['logout_created', 'success', alice],
      ['login_created', 'success', alice],
      // Without the actor set first, Passport has cleared req.user by the time the answer is final.
      ['sign_out_created', 'success', anonymous],
      ['login_created', 'success', alice],
      ['project_created', 'failure', anonymous],
    ])
  })

  it('records CORS refusals, 429s, uploads and compressed answers, and no preflight, as docs/express.md says', async () => {
    const app = express()
    app.use(auditMiddleware({ logger, tenant: () => 'stack' }))
    app.use(cors({ origin: (origin, done) => (origin === 'https://evil.example' ? done(new Error('origin refused')) : done(null, origin)) }))
    app.use(compression({ threshold: 0 }))
    app.use(rateLimit({ windowMs: 60_000, limit: 3, standardHeaders: true, legacyHeaders: false }))
    app.use(methodOverride('X-HTTP-Method-Override'))
    const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: 8 } })
    app.post('/projects/:projectId/files', upload.single('file'), (req, res) => {
      req.audit.after({ name: req.file?.originalname, size: req.file?.size })
      res.status(201).json({ padding: 'x'.repeat(4000) })
    })
    app.patch('/projects/:projectId', (_req, res) => res.json({ padding: 'x'.repeat(4000) }))
    app.use(((error: { code?: string }, _req, res, _next) => res.status(error.code === 'LIMIT_FILE_SIZE' ? 413 : 500).json({})) as ErrorRequestHandler)
    const running = await listen(app)
    closers.push(running.close)
    const preflight = await fetch(`${running.baseUrl}/projects/p_1`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'PATCH' },
    })
    expect(preflight.status).toBe(204)
    expect((await fetch(`${running.baseUrl}/projects/p_1`, { method: 'PATCH', headers: { origin: 'https://evil.example' } })).status).toBe(500)
    const file = (content: string) => {
      const form = new FormData()
      form.set('file', new Blob([content]), 'notes.txt')
      return form
    }
    expect((await fetch(`${running.baseUrl}/projects/p_1/files`, { method: 'POST', body: file('1234') })).status).toBe(201)
    expect((await fetch(`${running.baseUrl}/projects/p_1/files`, { method: 'POST', body: file('123456789') })).status).toBe(413)
    const overridden = await fetch(`${running.baseUrl}/projects/p_2`, { method: 'POST', headers: { 'x-http-method-override': 'PATCH', 'accept-encoding': 'gzip' } })
    expect([overridden.status, overridden.headers.get('content-encoding')]).toEqual([200, 'gzip'])
    expect((await fetch(`${running.baseUrl}/projects/p_3`, { method: 'PATCH' })).status).toBe(429)
    await new Promise((resolve) => setTimeout(resolve, 20))
    const events = await eventsOf('stack')
    expect(events.map((event) => [event.action, event.outcome, event.context?.method, event.context?.status, event.context?.route, event.changes])).toEqual([
      ['project_updated', 'failure', 'PATCH', 500, undefined, undefined],
      ['file_created', 'success', 'POST', 201, '/projects/:projectId/files', { after: { name: 'notes.txt', size: 4 } }],
      ['file_created', 'failure', 'POST', 413, '/projects/:projectId/files', undefined],
      ['project_updated', 'success', 'PATCH', 200, '/projects/:projectId', undefined],
      ['project_updated', 'failure', 'PATCH', 429, undefined, undefined],
    ])
  })

  it("records the first 429 of a client and window and skips the rest with the limiter's handler, as docs/express.md shows", async () => {
    const app = express()
    app.use(auditMiddleware({ logger, tenant: () => 'flood' }))
    app.use(
      rateLimit({
        windowMs: 60_000,
        limit: 2,
        handler: (req, res, _next, options) => {
          const { used, limit } = (req as typeof req & { rateLimit: RateLimitInfo }).rateLimit
          if (used > limit + 1) req.audit.skip()
          res.status(options.statusCode).send(options.message)
        },
      }),
    )
    app.post('/projects', (_req, res) => res.status(201).end())
    const running = await listen(app)
    closers.push(running.close)
    const statuses: number[] = []
    for (let i = 0; i < 10; i++) statuses.push((await fetch(`${running.baseUrl}/projects`, { method: 'POST' })).status)
    expect(statuses).toEqual([201, 201, 429, 429, 429, 429, 429, 429, 429, 429])
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect((await eventsOf('flood')).map((event) => [event.outcome, event.context?.status])).toEqual([
      ['success', 201],
      ['success', 201],
      ['failure', 429],
    ])
  })

  it('derives a 404 of a route whose path is a regular expression from its path: a route answered, not "no route"', async () => {
    const app = express()
    app.use(auditMiddleware({ logger, tenant: () => 'regex_404' }))
    app.delete(/^\/exports\/(\d+)$/, (_req, res) => res.status(404).end())
    const running = await listen(app)
    closers.push(running.close)
    expect((await fetch(`${running.baseUrl}/exports/12`, { method: 'DELETE' })).status).toBe(404)
    expect((await fetch(`${running.baseUrl}/nowhere/12`, { method: 'DELETE' })).status).toBe(404)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect((await eventsOf('regex_404')).map((event) => [event.action, event.resource])).toEqual([
      ['export_deleted', { type: 'export', id: '12' }],
      ['resource_deleted', { type: 'resource' }],
    ])
  })

  it('derives nothing from a request refused before routing (401, malformed JSON) on a path the app does not have', async () => {
    const app = express()
    app.use(auditMiddleware({ logger, tenant: () => 'refused' }))
    app.use(express.json())
    app.use((req, res, next) => (req.get('authorization') ? next() : res.status(401).json({ error: 'sign in' })))
    app.post('/projects', (_req, res) => res.status(201).json({ ok: true }))
    app.get('/reports', (_req, res) => res.json([]))
    const projects = express.Router()
    projects.patch('/:projectId', (_req, res) => res.json({ ok: true }))
    app.use('/workspaces/:ws/projects', projects)
    const v1 = express()
    v1.post('/things', (_req, res) => res.status(201).end())
    app.use('/v1', v1)
    app.use(((error: { status?: number }, _req, res, _next) => res.status(error.status ?? 500).end()) as ErrorRequestHandler)
    const running = await listen(app)
    closers.push(running.close)
    const malformed = { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer t' }, body: '{"name":' }
    expect((await fetch(`${running.baseUrl}/nope/123`, { method: 'POST' })).status).toBe(401)
    expect((await fetch(`${running.baseUrl}/projects`, { method: 'POST' })).status).toBe(401)
    expect((await fetch(`${running.baseUrl}/workspaces/w_1/projects/p_1`, { method: 'PATCH' })).status).toBe(401)
    // A path the app has, but not for this method.
    expect((await fetch(`${running.baseUrl}/reports`, { method: 'POST' })).status).toBe(401)
    // Behind a mounted sub-app, whose router Express hides: unknown, derived from the path.
    expect((await fetch(`${running.baseUrl}/v1/widgets`, { method: 'POST' })).status).toBe(401)
    expect((await fetch(`${running.baseUrl}/nope/123`, malformed)).status).toBe(400)
    expect((await fetch(`${running.baseUrl}/projects`, malformed)).status).toBe(400)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect((await eventsOf('refused')).map((event) => [event.action, event.resource, event.outcome, event.context?.path, event.context?.status])).toEqual([
      ['resource_created', { type: 'resource' }, 'failure', '/nope/123', 401],
      ['project_created', { type: 'project' }, 'failure', '/projects', 401],
      ['project_updated', { type: 'project', id: 'p_1' }, 'failure', '/workspaces/w_1/projects/p_1', 401],
      ['resource_created', { type: 'resource' }, 'failure', '/reports', 401],
      ['widget_created', { type: 'widget' }, 'failure', '/v1/widgets', 401],
      ['resource_created', { type: 'resource' }, 'failure', '/nope/123', 400],
      ['project_created', { type: 'project' }, 'failure', '/projects', 400],
    ])
  })

  it('records the path a route with several paths matched (app.post([...]) and in a mounted router)', async () => {
    const app = express()
    app.use(auditMiddleware({ logger, tenant: () => 'array_paths' }))
    app.post(['/projects/:projectId/archive', '/boards/:boardId/archive'], (_req, res) => res.status(201).end())
    const workspace = express.Router()
    workspace.patch(['/tasks/:taskId', '/issues/:issueId'], (_req, res) => res.json({ ok: true }))
    app.use('/workspaces/:ws', workspace)
    const running = await listen(app)
    closers.push(running.close)
    expect((await fetch(`${running.baseUrl}/boards/b_1/archive`, { method: 'POST' })).status).toBe(201)
    expect((await fetch(`${running.baseUrl}/workspaces/w_1/issues/i_2`, { method: 'PATCH' })).status).toBe(200)
    const [archived, updated] = await eventsOf('array_paths')
    expect(archived).toMatchObject({
      action: 'board_archived',
      resource: { type: 'board', id: 'b_1' },
      context: { route: '/boards/:boardId/archive', path: '/boards/b_1/archive' },
    })
    expect(updated).toMatchObject({
      action: 'issue_updated',
      resource: { type: 'issue', id: 'i_2' },
      targets: [{ type: 'workspace', id: 'w_1' }],
      context: { route: '/workspaces/:ws/issues/:issueId' },
    })
  })

  it('records a request sent with a trailing slash, an absolute-form target or a #fragment with the parameters Express routed it by', async () => {
    const app = express()
    app.use(auditMiddleware({ logger, tenant: (_req, { params }) => `target_form_${params.ws ?? 'unknown'}` }))
    const projects = express.Router()
    projects.patch('/:projectId', (_req, res) => res.json({ ok: true }))
    app.use('/workspaces/:ws/projects', projects)
    const running = await listen(app)
    closers.push(running.close)
    // Node accepts both request targets and Express routes them by their path: the change happens in workspace w_1.
    const statusLineOf = (target: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(new URL(running.baseUrl).port), '127.0.0.1', () => {
          socket.end(`PATCH ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
        })
        let received = ''
        socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')))
        socket.on('error', reject)
        socket.on('close', () => resolve(received.slice(0, received.indexOf('\r\n'))))
      })
    expect(await statusLineOf('http://elsewhere.example/workspaces/w_1/projects/p_1')).toBe('HTTP/1.1 200 OK')
    expect(await statusLineOf('/workspaces/w_1/projects/p_2#/a/b')).toBe('HTTP/1.1 200 OK')
    expect(await statusLineOf('/workspaces/w_1/projects/p_3/')).toBe('HTTP/1.1 200 OK')
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(await eventsOf('target_form_unknown')).toEqual([])
    const events = await eventsOf('target_form_w_1')
    expect(events.map((event) => [event.resource, event.targets, event.context?.route, event.context?.path])).toEqual([
      [{ type: 'project', id: 'p_1' }, [{ type: 'workspace', id: 'w_1' }], '/workspaces/:ws/projects/:projectId', '/workspaces/w_1/projects/p_1'],
      [{ type: 'project', id: 'p_2' }, [{ type: 'workspace', id: 'w_1' }], '/workspaces/:ws/projects/:projectId', '/workspaces/w_1/projects/p_2'],
      [{ type: 'project', id: 'p_3' }, [{ type: 'workspace', id: 'w_1' }], '/workspaces/:ws/projects/:projectId', '/workspaces/w_1/projects/p_3/'],
    ])
  })

  it('records the method routing used when a method override after the middleware changed it', async () => {
    const app = express()
    app.use(auditMiddleware({ logger, tenant: () => 'override' }))
    app.use(express.urlencoded({ extended: false }))
    // What the method-override package does for a form's `_method` field.
    app.use((req, _res, next) => {
      const body = req.body as { _method?: unknown } | undefined
      if (req.method === 'POST' && typeof body?._method === 'string') req.method = body._method.toUpperCase()
      next()
    })
    app.delete('/posts/:postId', (_req, res) => res.json({ ok: true }))
    const running = await listen(app)
    closers.push(running.close)
    const response = await fetch(`${running.baseUrl}/posts/p_9`, { method: 'POST', body: new URLSearchParams({ _method: 'delete' }) })
    expect(response.status).toBe(200)
    const events = await eventsOf('override')
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      action: 'post_deleted',
      resource: { type: 'post', id: 'p_9' },
      context: { method: 'DELETE', route: '/posts/:postId' },
    })
  })

  it('in await delivery, sends and records the first answer when an error handler or a second end() follows it', async () => {
    const app = express()
    app.use(auditMiddleware({ logger, delivery: 'await', tenant: () => 'first-answer' }))
    app.post('/items', (_req, res, next) => {
      res.status(201).json({ ok: true })
      next(new Error('failed after answering'))
    })
    app.post('/notes', (_req, res) => {
      res.json({ twice: true })
      res.end()
    })
    // The usual error handler: it answers unless headers went out (while the answer is held, they have not).
    app.use(((error, _req, res, next) => {
      if (res.headersSent) return next(error)
      res.status(500).type('text/plain').send('Internal error')
    }) as ErrorRequestHandler)
    const running = await listen(app)
    closers.push(running.close)
    const item = await fetch(`${running.baseUrl}/items`, { method: 'POST' })
    expect([item.status, item.headers.get('content-type'), await item.json()]).toEqual([201, 'application/json; charset=utf-8', { ok: true }])
    const note = await fetch(`${running.baseUrl}/notes`, { method: 'POST', signal: AbortSignal.timeout(5000) })
    expect(await note.json()).toEqual({ twice: true })
    const events = await eventsOf('first-answer')
    expect(events.map((event) => [event.action, event.outcome, event.context?.status])).toEqual([
      ['item_created', 'success', 201],
      ['note_created', 'success', 200],
    ])
  })

  it('follows Express trust proxy settings: hop counts and address lists', async () => {
    const ipFor = async (trust: unknown, forwardedFor: string): Promise<string | undefined> => {
      const tenant = `proxy_${String(trust).replace(/\W+/g, '_')}`
      const app = express()
      app.set('trust proxy', trust)
      app.use(auditMiddleware({ logger, tenant: () => tenant }))
      app.post('/things', (_req, res) => res.status(201).end())
      const running = await listen(app)
      closers.push(running.close)
      await fetch(`${running.baseUrl}/things`, { method: 'POST', headers: { 'x-forwarded-for': forwardedFor } })
      return (await eventsOf(tenant))[0]?.context?.ip
    }
    // One trusted hop (the loopback proxy): the address it saw is the client.
    expect(await ipFor(1, '198.51.100.1, 203.0.113.9')).toBe('203.0.113.9')
    // Only loopback proxies trusted: walk back through them to the first untrusted address.
    expect(await ipFor('loopback', '198.51.100.1, 203.0.113.9')).toBe('203.0.113.9')
    // A proxy list that does not include the peer: the header is not believed.
    expect(await ipFor('10.0.0.1', '198.51.100.1')).toBe('127.0.0.1')
  })

  it.each(['async', 'await'] as const)('records a request the client abandoned, once (%s delivery)', async (delivery) => {
    const tenant = `aborted_${delivery}`
    const app = express()
    app.use(auditMiddleware({ logger, delivery, tenant: () => tenant }))
    let release: (() => void) | undefined
    let handling = (): void => {}
    const handled = new Promise<void>((resolve) => (handling = resolve))
    const responded = new Promise<void>((resolve) => {
      app.post('/slow/:id', (req, res) => {
        handling()
        // Answers only after the client has gone: the event must not be recorded a second time.
        release = () => {
          res.status(201).json({ late: true })
          resolve()
        }
        req.on('close', () => setTimeout(() => release?.(), 20))
      })
    })
    const running = await listen(app)
    closers.push(running.close)
    const controller = new AbortController()
    const request = fetch(`${running.baseUrl}/slow/s_1`, { method: 'POST', signal: controller.signal }).catch(() => 'aborted')
    // Leaves once the handler runs (after a fixed delay, a busy machine could leave before the request arrived).
    await handled
    controller.abort()
    expect(await request).toBe('aborted')
    await responded
    await new Promise((resolve) => setTimeout(resolve, 50))
    const events = await eventsOf(tenant)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ action: 'slow_updated', outcome: 'failure', metadata: { responseAborted: true } })
  })

  it.each(['async', 'await'] as const)(
    'still records a request whose route cannot be read, and reports that as CAPTURE_FAILED (%s delivery)',
    async (delivery) => {
      const reported: AuditKitError[] = []
      const ownLogger = createAuditLogger({ store, onError: (error) => reported.push(error) })
      const tenant = `unreadable_${delivery}`
      const app = express()
      app.use(auditMiddleware({ logger: ownLogger, delivery, tenant: () => tenant }))
      app.post('/things/:id', (req, res) => {
        // What an app (or a misbehaving middleware) may do to the request after routing: reading it now throws.
        Object.defineProperty(req, 'originalUrl', {
          get() {
            throw new Error('originalUrl is gone')
          },
        })
        res.status(201).json({ ok: true })
      })
      const running = await listen(app)
      closers.push(running.close)
      expect((await fetch(`${running.baseUrl}/things/t_1`, { method: 'POST' })).status).toBe(201)
      await new Promise((resolve) => setTimeout(resolve, 20))
      await ownLogger.flush()
      const [event] = await eventsOf(tenant)
      expect(event).toMatchObject({ action: 'thing_created', outcome: 'success', context: { path: '/things/t_1', status: 201 } })
      expect(reported.map((error) => [error.code, error.message.includes('originalUrl is gone')])).toEqual([['CAPTURE_FAILED', true]])
      expect(ownLogger.stats().captureFailures).toBe(1)
      await ownLogger.close()
    },
  )

  it('exposes req.audit even on requests left out by the skip option', async () => {
    const app = express()
    app.use(auditMiddleware({ logger, tenant: () => 'skipped', skip: (req) => req.path === '/health' }))
    app.post('/health', (req, res) => {
      req.audit.set({ metadata: { ignored: true } })
      res.json({ ok: true })
    })
    const running = await listen(app)
    closers.push(running.close)
    expect((await fetch(`${running.baseUrl}/health`, { method: 'POST', headers: { authorization: `Bearer ${FIXTURE_TOKENS.user}` } })).status).toBe(200)
    expect(await eventsOf('skipped')).toEqual([])
  })
})
