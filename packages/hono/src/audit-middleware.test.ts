import { mkdtempSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAuditLogger, type AuditEvent, type AuditLogger, type AuditStore } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { serve, type ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import { cors } from 'hono/cors'
import { createMiddleware } from 'hono/factory'
import { HTTPException } from 'hono/http-exception'
import { methodOverride } from 'hono/method-override'
import { requestId } from 'hono/request-id'
import { stream, streamSSE } from 'hono/streaming'
import { validator } from 'hono/validator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auditMiddleware, type AuditMiddlewareOptions } from './index.js'

class QuotaExceeded extends Error {}

// Hono-specific behaviour; the shared behaviour is covered by the adapter contract (test/adapter-contract.test.ts).
describe('auditMiddleware (Hono on Node)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'auditkit-hono-'))
  let store: AuditStore
  let logger: AuditLogger
  const servers: ServerType[] = []

  beforeAll(() => {
    store = createSqliteStore({ path: join(dir, 'audit.db') })
    logger = createAuditLogger({ store })
  })
  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
    await logger.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  async function start(options: Partial<AuditMiddlewareOptions>, tenant: string): Promise<string> {
    const app = new Hono<{ Variables: { user: { id: string; type?: string } } }>()
    app.use(async (c, next) => {
      const user = c.req.header('x-user')
      if (user) c.set('user', { id: user })
      await next()
    })
    app.use(auditMiddleware({ logger, tenant: () => tenant, ...options }))
    app.post('/projects/:projectId/archive', (c) => {
      c.get('audit').before({ archived: false }).after({ archived: true, apiKey: 'sk-live-123' })
      return c.json({ ok: true })
    })
    app.delete('/projects/:projectId', () => {
      throw new HTTPException(409, { message: 'still in use' })
    })
    app.post('/projects/:projectId/copies', () => {
      throw new QuotaExceeded('too many copies')
    })
    app.onError((error, c) => {
      if (error instanceof HTTPException) return error.getResponse()
      return error instanceof QuotaExceeded ? c.json({ error: 'quota' }, 422) : c.json({ error: 'internal' }, 500)
    })
    return listen(app)
  }

  async function listen(app: { fetch: (request: Request) => Response | Promise<Response> }): Promise<string> {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 })
    servers.push(server)
    await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())))
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  async function eventsOf(tenant: string): Promise<AuditEvent[]> {
    await logger.flush()
    const page = await store.query({ tenantId: tenant, from: '2000-01-01T00:00:00.000Z', to: '2999-01-01T00:00:00.000Z', limit: 50 })
    return page.items.sort((a, b) => a.seq - b.seq)
  }

  it('records the route pattern, params, connection IP, actor and handler changes', async () => {
    const base = await start({}, 't-route')
    const res = await fetch(`${base}/projects/p-7/archive`, {
      method: 'POST',
      headers: { 'x-user': 'u-1', 'x-forwarded-for': '203.0.113.9', 'x-request-id': 'req-1', 'user-agent': 'hono-test' },
    })
    expect(res.status).toBe(200)
    const [event] = await eventsOf('t-route')
    expect(event).toMatchObject({
      action: 'project_archived',
      resource: { type: 'project', id: 'p-7' },
      actor: { type: 'user', id: 'u-1' },
      outcome: 'success',
      changes: { before: { archived: false }, after: { archived: true, apiKey: '[REDACTED]' } },
      context: { ip: '127.0.0.1', route: '/projects/:projectId/archive', status: 200, requestId: 'req-1', userAgent: 'hono-test' },
    })
  })

  it('records the full pattern of routes in mounted sub-apps, with parent params', async () => {
    const projects = new Hono().patch('/:projectId', (c) => c.json({ ok: true }))
    const app = new Hono().basePath('/api')
    app.use(auditMiddleware({ logger, tenant: () => 't-mounted' }))
    app.route('/workspaces/:ws/projects', projects)
    const base = await listen(app)
    await fetch(`${base}/api/workspaces/w_1/projects/p_2`, { method: 'PATCH' })
    expect((await fetch(`${base}/api/widgets/12345`, { method: 'PUT' })).status).toBe(404)
    const [event, unmatched] = await eventsOf('t-mounted')
    expect(unmatched).toMatchObject({ action: 'resource_updated', resource: { type: 'resource' }, outcome: 'failure', context: { path: '/api/widgets/12345', status: 404 } })
    expect(unmatched?.context?.route).toBeUndefined()
    expect(event).toMatchObject({
      action: 'project_updated',
      resource: { type: 'project', id: 'p_2' },
      targets: [{ type: 'workspace', id: 'w_1' }],
      context: { route: '/api/workspaces/:ws/projects/:projectId', path: '/api/workspaces/w_1/projects/p_2' },
    })
  })

  it('records requests refused by path-scoped middleware, or unmatched behind it, by their path rather than the middleware pattern', async () => {
    const app = new Hono()
    app.use(auditMiddleware({ logger, tenant: () => 't-scoped' }))
    // The usual `app.use('/api/*', jwt(...))`: it throws a 401 before any route runs.
    app.use('/api/*', async (c, next) => {
      if (!c.req.header('authorization')) throw new HTTPException(401, { message: 'sign in' })
      await next()
    })
    const lock = createMiddleware(async (c, next) => (c.req.header('x-role') === 'admin' ? next() : c.json({ error: 'forbidden' }, 403)))
    app.patch('/api/projects/:projectId', (c) => c.json({ ok: true }))
    app.post('/api/projects/:projectId/lock', lock, (c) => c.json({ ok: true }))
    app.all('/api/hooks/:hookId', (c) => c.json({ ok: true }))
    app.onError((error, c) => (error instanceof HTTPException ? error.getResponse() : c.json({ error: 'internal' }, 500)))
    const base = await listen(app)
    const auth = { authorization: 'Bearer t' }
    expect((await fetch(`${base}/api/projects/42`, { method: 'PATCH' })).status).toBe(401)
    expect((await fetch(`${base}/api/widgets/12345`, { method: 'PUT', headers: auth })).status).toBe(404)
    expect((await fetch(`${base}/api/projects/p_2/lock`, { method: 'POST', headers: auth })).status).toBe(403)
    expect((await fetch(`${base}/api/hooks/h_1`, { method: 'POST', headers: auth })).status).toBe(200)
    const events = await eventsOf('t-scoped')
    expect(events.map((e) => [e.action, e.resource, e.context?.status, e.context?.route])).toEqual([
      ['project_updated', { type: 'project', id: '42' }, 401, undefined],
      // A path no route answered (404): nothing is derived from the client's invention.
      ['resource_updated', { type: 'resource' }, 404, undefined],
      // Route-level middleware shares its route's pattern; app.all() handlers are routes too.
      ['project_locked', { type: 'project', id: 'p_2' }, 403, '/api/projects/:projectId/lock'],
      ['hook_updated', { type: 'hook', id: 'h_1' }, 200, '/api/hooks/:hookId'],
    ])
  })

  it('records app.all() routes of a sub-app with its own onError by their pattern', async () => {
    // app.route() wraps every handler of a sub-app with an onError in a (c, next) function.
    const hooks = new Hono()
    hooks.onError((_error, c) => c.json({ error: 'hook failed' }, 502))
    hooks.all('/:hookId', (c) => c.json({ ok: true }))
    hooks.post('/:hookId/replay', () => {
      throw new Error('upstream down')
    })
    const app = new Hono()
    app.use(auditMiddleware({ logger, tenant: () => 't-sub-onerror' }))
    app.route('/workspaces/:ws/hooks', hooks)
    const base = await listen(app)
    expect((await fetch(`${base}/workspaces/w_1/hooks/h_1`, { method: 'POST' })).status).toBe(200)
    expect((await fetch(`${base}/workspaces/w_1/hooks/h_1/replay`, { method: 'POST' })).status).toBe(502)
    const events = await eventsOf('t-sub-onerror')
    expect(events.map((e) => [e.action, e.resource, e.context?.status, e.context?.route])).toEqual([
      ['hook_updated', { type: 'hook', id: 'h_1' }, 200, '/workspaces/:ws/hooks/:hookId'],
      ['hook_replayed', { type: 'hook', id: 'h_1' }, 502, '/workspaces/:ws/hooks/:hookId/replay'],
    ])
  })

  it('records a streamed response once it ends: what the stream callback set, and a client that left mid-stream', async () => {
    const app = new Hono()
    app.use(auditMiddleware({ logger, tenant: () => 't-stream' }))
    app.post('/chats/:chatId/messages', (c) =>
      streamSSE(c, async (sse) => {
        await sse.writeSSE({ data: 'Hel' })
        await sse.sleep(20)
        await sse.writeSSE({ data: 'lo' })
        c.get('audit').set({ metadata: { chunks: 2 } })
      }),
    )
    app.post('/imports/:importId/run', (c) =>
      stream(c, async (body) => {
        for (let i = 0; i < 50 && !body.aborted; i++) {
          await body.write('row\n')
          await body.sleep(10)
        }
      }),
    )
    const base = await listen(app)
    expect(await (await fetch(`${base}/chats/c_1/messages`, { method: 'POST' })).text()).toBe('data: Hel\n\ndata: lo\n\n')
    // The client reads the first rows and goes away.
    await new Promise<void>((resolve, reject) => {
      const req = request(`${base}/imports/i_1/run`, { method: 'POST' }, (res) => res.once('data', () => req.destroy()))
      req.on('close', () => setTimeout(resolve, 100))
      req.on('error', (error) => (error.message === 'socket hang up' ? undefined : reject(error)))
      req.end()
    })
    // The server sees the client go on its own time (a busy machine may take longer than the wait above).
    await expect.poll(async () => (await eventsOf('t-stream')).length, { timeout: 10_000, interval: 50 }).toBeGreaterThanOrEqual(2)
    const events = await eventsOf('t-stream')
    expect(events.map((e) => [e.action, e.outcome, e.context?.status, e.metadata])).toEqual([
      ['message_created', 'success', 200, { chunks: 2 }],
      ['import_run', 'failure', 200, { responseAborted: true }],
    ])
  })

  it('records a form submission that methodOverride dispatches again once, as the method it stands for', async () => {
    const app = new Hono()
    app.use(auditMiddleware({ logger, tenant: () => 't-override' }))
    app.use('/posts/*', methodOverride({ app }))
    app.delete('/posts/:postId', (c) => c.json({ deleted: true }))
    const base = await listen(app)
    const res = await fetch(`${base}/posts/123`, { method: 'POST', body: new URLSearchParams({ _method: 'DELETE' }) })
    expect(res.status).toBe(200)
    const events = await eventsOf('t-override')
    expect(events.map((e) => [e.action, e.context?.method, e.context?.route])).toEqual([['post_deleted', 'DELETE', '/posts/:postId']])
  })

  it("records the id Hono's requestId() gave the request, generated or replacing a malformed one", async () => {
    const app = new Hono()
    app.use(auditMiddleware({ logger, tenant: () => 't-request-id' }))
    app.use(requestId())
    app.post('/projects', (c) => c.json({ ok: true }, 201))
    const base = await listen(app)
    const generated = await fetch(`${base}/projects`, { method: 'POST' })
    const replaced = await fetch(`${base}/projects`, { method: 'POST', headers: { 'x-request-id': 'not an id; <script>' } })
    const kept = await fetch(`${base}/projects`, { method: 'POST', headers: { 'x-request-id': 'req-42' } })
    const answered = [generated, replaced, kept].map((res) => res.headers.get('x-request-id'))
    expect(answered[2]).toBe('req-42')
    expect((await eventsOf('t-request-id')).map((e) => e.context?.requestId)).toEqual(answered)
  })

  for (const delivery of ['async', 'await'] as const)
    it(`records, as the 500 answered, an error Hono's error handling lets through (${delivery} delivery)`, async () => {
      const app = new Hono()
      app.use(auditMiddleware({ logger, tenant: () => `t-escaped-${delivery}`, delivery }))
      app.post('/projects/:projectId/copies', () => {
        throw 'quota exceeded' // not an Error: compose() rethrows it past app.onError
      })
      app.delete('/projects/:projectId', () => {
        throw new HTTPException(409, { message: 'still in use' })
      })
      // An onError that handles only what it knows and rethrows the rest.
      app.onError((error, c) => {
        if (error instanceof QuotaExceeded) return c.json({ error: 'quota' }, 422)
        throw error
      })
      const base = await listen(app)
      expect((await fetch(`${base}/projects/p-1/copies`, { method: 'POST' })).status).toBe(500)
      expect((await fetch(`${base}/projects/p-1`, { method: 'DELETE' })).status).toBe(500)
      const events = await eventsOf(`t-escaped-${delivery}`)
      expect(events.map((e) => [e.action, e.outcome, e.context?.status, e.context?.route])).toEqual([
        ['copy_created', 'failure', 500, '/projects/:projectId/copies'],
        ['project_deleted', 'failure', 500, '/projects/:projectId'],
      ])
    })

  // A handler that returns no Response (a forgotten `return`) leaves the context unfinalized: Hono hands "Context is
  // not finalized" to app.onError, or answers 500 itself. The event records that answer, not the unused default 200.
  for (const delivery of ['async', 'await'] as const)
    for (const onError of [undefined, 503] as const)
      it(`records a request no handler answered with the status the client got (${delivery} delivery, ${onError ? 'app.onError' : 'no onError'})`, async () => {
        const tenant = `t-unanswered-${delivery}-${onError ?? 'none'}`
        const app = new Hono()
        app.use(auditMiddleware({ logger, tenant: () => tenant, delivery }))
        // A guard that neither calls next() nor answers when it refuses.
        app.use('/locked/*', async (c, next) => {
          if (c.req.header('x-role') === 'admin') await next()
        })
        // @ts-expect-error -- the mistake under test: Hono's types require a Response
        app.post('/projects/:projectId/archive', () => {
          void 0
        })
        // The same from an async handler, which Hono's types let through (a Promise<void> is what middleware returns).
        app.delete('/projects/:projectId', async () => {
          await Promise.resolve()
        })
        app.put('/locked/projects/:projectId', (c) => c.json({ ok: true }))
        if (onError) app.onError((_error, c) => c.json({ error: 'unavailable' }, onError))
        const base = await listen(app)
        const expected = onError ?? 500
        expect((await fetch(`${base}/projects/p-1/archive`, { method: 'POST' })).status).toBe(expected)
        expect((await fetch(`${base}/projects/p-1`, { method: 'DELETE' })).status).toBe(expected)
        expect((await fetch(`${base}/locked/projects/p-1`, { method: 'PUT' })).status).toBe(expected)
        expect((await fetch(`${base}/locked/projects/p-1`, { method: 'PUT', headers: { 'x-role': 'admin' } })).status).toBe(200)
        await expect.poll(async () => (await eventsOf(tenant)).length, { timeout: 5_000, interval: 20 }).toBe(4)
        const events = await eventsOf(tenant)
        expect(events.map((e) => [e.action, e.outcome, e.context?.status, e.context?.route])).toEqual([
          ['project_archived', 'failure', expected, '/projects/:projectId/archive'],
          ['project_deleted', 'failure', expected, '/projects/:projectId'],
          ['project_updated', 'failure', expected, undefined],
          ['project_updated', 'success', 200, '/locked/projects/:projectId'],
        ])
      })

  it("leaves cors() preflights out under recordReads, unless the app forces one, and records the views", async () => {
    const app = new Hono()
    app.use(auditMiddleware({ logger, tenant: () => 't-preflight', recordReads: true }))
    // A preflight the app itself wants on record (before cors() answers it).
    app.options('/keys/*', async (c, next) => {
      c.get('audit').force()
      await next()
    })
    app.use(cors({ origin: 'https://app.example.com' }))
    app.get('/projects/:projectId', (c) => c.json({ ok: true }))
    app.get('/keys/:keyId', (c) => c.json({ ok: true }))
    const base = await listen(app)
    const preflight = { origin: 'https://app.example.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' }
    expect((await fetch(`${base}/projects/p-1`, { method: 'OPTIONS', headers: preflight })).status).toBe(204)
    expect((await fetch(`${base}/projects/p-1`, { headers: { origin: preflight.origin } })).status).toBe(200)
    expect((await fetch(`${base}/keys/k-1`, { method: 'OPTIONS', headers: preflight })).status).toBe(204)
    const events = await eventsOf('t-preflight')
    expect(events.map((e) => [e.action, e.context?.method, e.context?.status])).toEqual([
      ['project_viewed', 'GET', 200],
      ['key_viewed', 'OPTIONS', 204],
    ])
  })

  it('honours X-Forwarded-For only from a trusted proxy', async () => {
    const base = await start({ trustProxy: 'loopback' }, 't-proxy')
    await fetch(`${base}/projects/p-1/archive`, { method: 'POST', headers: { 'x-forwarded-for': '198.51.100.4' } })
    const [event] = await eventsOf('t-proxy')
    expect(event?.context?.ip).toBe('198.51.100.4')
    expect(event?.actor).toEqual({ type: 'user', id: 'anonymous' })
  })

  it('records thrown errors with the status the client got (HTTPException, app.onError)', async () => {
    const base = await start({}, 't-error')
    expect((await fetch(`${base}/projects/p-2`, { method: 'DELETE' })).status).toBe(409)
    expect((await fetch(`${base}/projects/p-2/copies`, { method: 'POST' })).status).toBe(422)
    const events = await eventsOf('t-error')
    expect(events.map((e) => [e.action, e.outcome, e.context?.status, e.context?.route])).toEqual([
      ['project_deleted', 'failure', 409, '/projects/:projectId'],
      ['copy_created', 'failure', 422, '/projects/:projectId/copies'],
    ])
  })

  it('records a request no route matched under a generic action, its path in the context', async () => {
    const base = await start({}, 't-404')
    const res = await fetch(`${base}/widgets/12345`, { method: 'PUT' })
    expect(res.status).toBe(404)
    const [event] = await eventsOf('t-404')
    expect(event).toMatchObject({ action: 'resource_updated', resource: { type: 'resource' }, outcome: 'failure', context: { path: '/widgets/12345' } })
    expect(event?.context?.route).toBeUndefined()
  })

  it('derives nothing from a request refused before routing (401, malformed JSON) on a path the app does not have', async () => {
    const app = new Hono()
    app.use(auditMiddleware({ logger, tenant: () => 't-refused' }))
    app.use(async (c, next) => (c.req.header('authorization') ? next() : c.json({ error: 'sign in' }, 401)))
    app.use(validator('json', (value) => value))
    app.post('/projects', (c) => c.json({ ok: true }, 201))
    app.get('/reports', (c) => c.json([]))
    app.onError((error, c) => (error instanceof HTTPException ? error.getResponse() : c.json({ error: 'internal' }, 500)))
    const base = await listen(app)
    const malformed = { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer t' }, body: '{"name":' }
    expect((await fetch(`${base}/nope/123`, { method: 'POST' })).status).toBe(401)
    expect((await fetch(`${base}/projects`, { method: 'POST' })).status).toBe(401)
    // A path the app has, but not for this method.
    expect((await fetch(`${base}/reports`, { method: 'POST' })).status).toBe(401)
    expect((await fetch(`${base}/nope/123`, malformed)).status).toBe(400)
    expect((await fetch(`${base}/projects`, malformed)).status).toBe(400)
    expect((await eventsOf('t-refused')).map((e) => [e.action, e.resource, e.outcome, e.context?.path, e.context?.status])).toEqual([
      ['resource_created', { type: 'resource' }, 'failure', '/nope/123', 401],
      ['project_created', { type: 'project' }, 'failure', '/projects', 401],
      ['resource_created', { type: 'resource' }, 'failure', '/reports', 401],
      ['resource_created', { type: 'resource' }, 'failure', '/nope/123', 400],
      ['project_created', { type: 'project' }, 'failure', '/projects', 400],
    ])
  })

  it('leaves out requests the skip option names, while c.get(\'audit\') keeps working in their handlers', async () => {
    const base = await start({ skip: (c) => c.req.header('x-health') === '1' }, 't-skip')
    expect((await fetch(`${base}/projects/p-4/archive`, { method: 'POST', headers: { 'x-health': '1' } })).status).toBe(200)
    expect(await eventsOf('t-skip')).toEqual([])
    await fetch(`${base}/projects/p-4/archive`, { method: 'POST' })
    expect(await eventsOf('t-skip')).toHaveLength(1)
  })
})
