import { isIP } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createAuditLogger, type AuditCaptureOptions, type AuditEvent, type AuditLogger, type AuditStore, type DeliveryMode } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ALL_TIME } from '../fixtures/contract-queries.js'
import { expectIntactChain } from '../store-contract/run-store-contract.js'
import { storeWithAppend } from '../store-contract/store-with-append.js'
import { FIXTURE_SYSTEM_ACTOR, FIXTURE_TENANT_HEADER, FIXTURE_TOKENS, LATE_FORCE_DELAY_MS, slowHandlerStarts } from './fixture-app.js'

/** What the contract hands a harness when it starts the fixture app (see `fixture-app.ts` for the app itself). */
export interface AdapterAppOptions {
  /** The logger to pass to the adapter (a real SQLite store behind it). */
  logger: AuditLogger
  /** The adapter's `delivery` option. */
  delivery: DeliveryMode
  /** Trust `X-Forwarded-For` from any proxy (`true`) or use the socket address (`false`). */
  trustProxy: boolean
  /** The adapter's `recordReads` option. */
  recordReads: boolean
  /** The adapter's `deriveOperation` option (unset: core's). */
  deriveOperation?: AuditCaptureOptions<unknown>['deriveOperation']
}

export interface RunningAdapterApp {
  /** e.g. `http://127.0.0.1:43121`, no trailing slash. */
  baseUrl: string
  close(): Promise<void>
}

/** The only framework-specific part: serve the fixture app over real HTTP on 127.0.0.1, port 0. */
export interface AdapterHarness {
  startApp(options: AdapterAppOptions): Promise<RunningAdapterApp>
}

interface Send {
  method?: string
  token?: string
  tenant?: string
  body?: unknown
  headers?: Record<string, string>
  signal?: AbortSignal
}

/** A store whose appends take `delayMs` longer, or wait until `gate` resolves: shows whether a response waits for durability. */
function slowStore(store: AuditStore, delay: number | Promise<void>): AuditStore {
  return storeWithAppend(store, async (...args) => {
    await (typeof delay === 'number' ? sleep(delay) : delay)
    return store.append(...args)
  })
}

interface Fixture {
  app: RunningAdapterApp
  logger: AuditLogger
  store: AuditStore
  send(path: string, options?: Send): Promise<Response>
  /** Every stored event of a tenant, oldest first (after flushing the logger unless `flush` is false). */
  events(tenant: string, options?: { flush?: boolean }): Promise<AuditEvent[]>
}

let tenantCounter = 0
/** A fresh tenant per case: its own chain, so each case sees exactly its own events. */
const freshTenant = (label: string): string => `t_${label}_${++tenantCounter}`

/**
 * The behaviour every adapter must show over real HTTP, against the real SQLite store: what is recorded, with which
 * actor, IP, action, resource, outcome and request facts; what is not; overrides; redaction; failures; proxies;
 * `await` delivery; and chain integrity under concurrency.
 */
export function runAdapterContract(name: string, harness: AdapterHarness): void {
  describe(`adapter contract: ${name}`, () => {
    const dir = mkdtempSync(join(tmpdir(), `auditkit-adapter-${name.replace(/\W+/g, '-')}-`))
    const started: Fixture[] = []
    let fileCounter = 0

    async function start(options: Partial<Omit<AdapterAppOptions, 'logger'>> & { appendDelayMs?: number; appendGate?: Promise<void> } = {}): Promise<Fixture> {
      const sqlite = createSqliteStore({ path: join(dir, `audit-${++fileCounter}.db`) })
      const delay = options.appendGate ?? options.appendDelayMs
      const store = delay ? slowStore(sqlite, delay) : sqlite
      const logger = createAuditLogger({ store, onError: () => {} })
      const app = await harness.startApp({
        logger,
        delivery: options.delivery ?? 'async',
        trustProxy: options.trustProxy ?? false,
        recordReads: options.recordReads ?? false,
        ...(options.deriveOperation ? { deriveOperation: options.deriveOperation } : {}),
      })
      const fixture: Fixture = {
        app,
        logger,
        store: sqlite,
        send: (path, { method = 'POST', token, tenant, body, headers = {}, signal } = {}) =>
          fetch(`${app.baseUrl}${path}`, {
            method,
            headers: {
              ...(body === undefined ? {} : { 'content-type': 'application/json' }),
              ...(token ? { authorization: `Bearer ${token}` } : {}),
              ...(tenant ? { [FIXTURE_TENANT_HEADER]: tenant } : {}),
              ...headers,
            },
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
            ...(signal ? { signal } : {}),
          }),
        async events(tenant, { flush = true } = {}) {
          if (flush) await logger.flush()
          const page = await sqlite.query({ tenantId: tenant, ...ALL_TIME, limit: 1000 })
          return page.items.sort((a, b) => a.seq - b.seq)
        },
      }
      started.push(fixture)
      return fixture
    }

    afterAll(async () => {
      for (const { app, logger, store } of started) {
        await app.close()
        await logger.close()
        await store.close()
      }
      rmSync(dir, { recursive: true, force: true })
    })

    describe('default options (async delivery, no trusted proxy, reads skipped)', () => {
      let f: Fixture
      beforeAll(async () => {
        f = await start()
      })

      it('records a mutating request with actor, IP, action, resource, outcome, user agent and request id', async () => {
        const tenant = freshTenant('create')
        const res = await f.send('/projects', {
          token: FIXTURE_TOKENS.user,
          tenant,
          body: { name: 'Apollo' },
          headers: { 'user-agent': 'contract-agent/1.0', 'x-request-id': 'req-contract-1' },
        })
        expect(res.status).toBe(201)
        const created = (await res.json()) as { id: string }
        const events = await f.events(tenant)
        expect(events).toHaveLength(1)
        expect(events[0]).toMatchObject({
          tenantId: tenant,
          actor: { type: 'user', id: 'user_ada', name: 'Ada Admin', email: 'ada@example.com' },
          action: 'project_created',
          resource: { type: 'project', id: created.id, name: 'Apollo' },
          outcome: 'success',
          context: {
            ip: '127.0.0.1',
            userAgent: 'contract-agent/1.0',
            requestId: 'req-contract-1',
            method: 'POST',
            path: '/projects',
            route: '/projects',
            status: 201,
          },
          seq: 1,
        })
        expect(Date.now() - Date.parse(events[0]?.occurredAt ?? '')).toBeLessThan(60_000)
      })

      it('derives action and resource from the route pattern for updates and deletes', async () => {
        const tenant = freshTenant('delete')
        expect((await f.send('/projects/p_77', { method: 'DELETE', token: FIXTURE_TOKENS.user, tenant })).status).toBe(204)
        const [event] = await f.events(tenant)
        expect(event).toMatchObject({
          action: 'project_deleted',
          resource: { type: 'project', id: 'p_77' },
          context: { route: '/projects/:projectId', path: '/projects/p_77', status: 204, method: 'DELETE' },
        })
      })

      it('skips reads', async () => {
        const tenant = freshTenant('read')
        expect((await f.send('/projects', { method: 'GET', token: FIXTURE_TOKENS.user, tenant })).status).toBe(200)
        expect(await f.events(tenant)).toEqual([])
      })

      it('records a read that the handler forces, with the status sent', async () => {
        const tenant = freshTenant('forced-read')
        expect((await f.send('/projects/p_3/export', { method: 'GET', token: FIXTURE_TOKENS.user, tenant })).status).toBe(200)
        expect((await f.send('/projects', { method: 'GET', token: FIXTURE_TOKENS.user, tenant })).status).toBe(200)
        const events = await f.events(tenant)
        expect(events).toHaveLength(1)
        expect(events[0]).toMatchObject({
          actor: { type: 'user', id: 'user_ada' },
          action: 'project_export_viewed',
          resource: { type: 'project', id: 'p_3' },
          outcome: 'success',
          context: { method: 'GET', route: '/projects/:projectId/export', path: '/projects/p_3/export', status: 200 },
        })
      })

      it('records a read the handler forces after it has answered, with the status sent', async () => {
        const tenant = freshTenant('late-force')
        expect((await f.send('/projects/p_8/download', { method: 'GET', token: FIXTURE_TOKENS.user, tenant })).status).toBe(200)
        // The handler forces the record LATE_FORCE_DELAY_MS after answering: by then the response has closed. Waited
        // for (bounded) rather than for a fixed time, then a moment more for a second record that must not come.
        await expect.poll(async () => (await f.events(tenant)).length, { timeout: 10_000, interval: 25 }).toBeGreaterThan(0)
        await sleep(LATE_FORCE_DELAY_MS * 4)
        const events = await f.events(tenant)
        expect(events.map((e) => [e.action, e.resource.id, e.outcome, e.context?.status, e.context?.route])).toEqual([
          ['project_download_viewed', 'p_8', 'success', 200, '/projects/:projectId/download'],
        ])
      })

      it('lets explicit overrides win over the derived action and resource', async () => {
        const tenant = freshTenant('override')
        expect((await f.send('/projects/p_5/override', { token: FIXTURE_TOKENS.user, tenant })).status).toBe(200)
        const events = await f.events(tenant)
        expect(events).toHaveLength(1)
        expect(events[0]).toMatchObject({
          action: 'project_archived',
          resource: { type: 'project', id: 'p_5', name: 'Archived by override' },
          targets: [{ type: 'user', id: 'user_bob', name: 'Bob' }],
          metadata: { reason: 'contract' },
          outcome: 'success',
        })
      })

      it('records before/after values, redacted', async () => {
        const tenant = freshTenant('changes')
        const res = await f.send('/projects/p_9', { method: 'PATCH', token: FIXTURE_TOKENS.user, tenant, body: { name: 'Renamed', password: 'hunter2' } })
        expect(res.status).toBe(200)
        const [event] = await f.events(tenant)
        expect(event?.action).toBe('project_updated')
        expect(event?.changes).toEqual({
          before: { id: 'p_9', name: 'Project p_9', password: '[REDACTED]' },
          after: { id: 'p_9', name: 'Renamed', password: '[REDACTED]' },
        })
        expect(JSON.stringify(event)).not.toContain('hunter2')
        expect(JSON.stringify(event)).not.toContain('stored-secret')
      })

      it('keeps a secret route parameter (/invitations/:token/accept) out of the resource id and the path', async () => {
        const tenant = freshTenant('url-secret')
        const res = await f.send('/invitations/inv_s3cr3t_value/accept', { method: 'POST', token: FIXTURE_TOKENS.user, tenant })
        expect(res.status).toBe(200)
        const [event] = await f.events(tenant)
        expect(event).toMatchObject({
          action: 'invitation_accepted',
          resource: { type: 'invitation', id: '[REDACTED]' },
          context: { path: '/invitations/[REDACTED]/accept', route: '/invitations/:token/accept' },
        })
        expect(JSON.stringify(event)).not.toContain('s3cr3t')
      })

      it('records failures: 401, 403, 404, a thrown error (500) and a validation error (400)', async () => {
        const tenant = freshTenant('failures')
        const statuses = [
          (await f.send('/needs-auth', { tenant })).status,
          (await f.send('/projects', { tenant, token: 'not-a-valid-token', body: { name: 'x' } })).status,
          (await f.send('/forbidden', { tenant, token: FIXTURE_TOKENS.user })).status,
          (await f.send('/no/such/route', { tenant, token: FIXTURE_TOKENS.user })).status,
          (await f.send('/boom', { tenant, token: FIXTURE_TOKENS.user })).status,
          (await f.send('/validate', { tenant, token: FIXTURE_TOKENS.user, body: { name: 42 } })).status,
        ]
        expect(statuses).toEqual([401, 401, 403, 404, 500, 400])
        const events = await f.events(tenant)
        expect(events.map((e) => [e.outcome, e.context?.status, e.actor.id])).toEqual([
          ['failure', 401, 'anonymous'],
          ['failure', 401, 'anonymous'],
          ['failure', 403, 'user_ada'],
          ['failure', 404, 'user_ada'],
          ['failure', 500, 'user_ada'],
          ['failure', 400, 'user_ada'],
        ])
        expect(events[2]).toMatchObject({ action: 'forbidden_created', context: { route: '/forbidden' } })
        expect(events[3]?.context?.route).toBeUndefined()
        expect(events[3]?.context?.path).toBe('/no/such/route')
        // A path no route answered is the client's invention: no action or resource type is made of it.
        expect(events[3]).toMatchObject({ action: 'resource_created', resource: { type: 'resource' } })
        expect(events[3]?.targets).toBeUndefined()
        expect(events[4]).toMatchObject({ context: { route: '/boom', method: 'POST' } })
      })

      it('uses the socket address and ignores X-Forwarded-For when no proxy is trusted', async () => {
        const tenant = freshTenant('ip')
        await f.send('/projects', { tenant, token: FIXTURE_TOKENS.user, body: { name: 'x' }, headers: { 'x-forwarded-for': '203.0.113.7' } })
        const [event] = await f.events(tenant)
        expect(event?.context?.ip).toBe('127.0.0.1')
      })

      it('records user, API key and system actors', async () => {
        const tenant = freshTenant('actors')
        await f.send('/projects', { tenant, token: FIXTURE_TOKENS.user, body: { name: 'by user' } })
        await f.send('/projects', { tenant, token: FIXTURE_TOKENS.apiKey, body: { name: 'by key' } })
        expect((await f.send('/jobs/run', { tenant })).status).toBe(202)
        const events = await f.events(tenant)
        expect(events.map((e) => e.actor)).toEqual([
          { type: 'user', id: 'user_ada', name: 'Ada Admin', email: 'ada@example.com' },
          { type: 'api_key', id: 'key_ci', name: 'CI deploy key' },
          FIXTURE_SYSTEM_ACTOR,
        ])
        expect(events[2]).toMatchObject({ action: 'job_run_started', resource: { type: 'job', id: 'nightly_cleanup' } })
      })

      it('skips one request when the handler says so, and only that one', async () => {
        const tenant = freshTenant('skip')
        expect((await f.send('/projects/p_1/skip', { tenant, token: FIXTURE_TOKENS.user })).status).toBe(200)
        await f.send('/projects/p_1', { method: 'DELETE', tenant, token: FIXTURE_TOKENS.user })
        const events = await f.events(tenant)
        expect(events.map((e) => e.action)).toEqual(['project_deleted'])
      })

      it('records 100 concurrent mutating requests as 100 events in a gapless, linked chain', async () => {
        const tenant = freshTenant('concurrent')
        const responses = await Promise.all(
          Array.from({ length: 100 }, (_, i) => f.send('/projects', { tenant, token: FIXTURE_TOKENS.user, body: { name: `p${i}` } })),
        )
        expect(responses.every((r) => r.status === 201)).toBe(true)
        const events = await f.events(tenant)
        expect(events).toHaveLength(100)
        expect(new Set(events.map((e) => e.resource.id)).size).toBe(100)
        expect(await expectIntactChain(f.store, tenant)).toBe(100)
      })
    })

    it('records reads when recordReads is set', async () => {
      const f = await start({ recordReads: true })
      const tenant = freshTenant('reads')
      await f.send('/projects', { method: 'GET', tenant, token: FIXTURE_TOKENS.user })
      const events = await f.events(tenant)
      expect(events).toHaveLength(1)
      expect(events[0]).toMatchObject({ action: 'project_viewed', outcome: 'success', context: { method: 'GET', status: 200 } })
    })

    it('leaves CORS preflights out when recordReads is set, and records a plain OPTIONS as the read it is', async () => {
      const f = await start({ recordReads: true })
      const tenant = freshTenant('preflight')
      // What a browser sends before a cross-origin DELETE: no credentials, and no action of the user's.
      const preflight = { origin: 'https://app.example.com', 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization' }
      await f.send('/projects/p_1', { method: 'OPTIONS', tenant, headers: preflight })
      await f.send('/projects', { method: 'OPTIONS', tenant })
      await f.send('/projects', { method: 'GET', tenant, token: FIXTURE_TOKENS.user, headers: { origin: preflight.origin } })
      const events = await f.events(tenant)
      // The plain OPTIONS is answered by the framework (200 with Allow, or 404): only its method and path are shared.
      expect(events.map((e) => [e.context?.method, e.context?.path])).toEqual([
        ['OPTIONS', '/projects'],
        ['GET', '/projects'],
      ])
    })

    it("names the action and resource with the app's deriveOperation, from the route pattern and its parameters", async () => {
      const f = await start({
        deriveOperation: ({ method, route, params }) => ({
          action: `${method}_${route ?? 'unrouted'}`.toLowerCase().replace(/[^a-z]+/g, '_'),
          resource: { type: 'widget', id: params?.projectId ?? 'none' },
          targets: [],
        }),
      })
      const tenant = freshTenant('derive')
      expect((await f.send('/projects/p_7', { method: 'PATCH', tenant, token: FIXTURE_TOKENS.user, body: { name: 'x' } })).status).toBe(200)
      const [event] = await f.events(tenant)
      expect(event).toMatchObject({ action: 'patch_projects_projectid', resource: { type: 'widget', id: 'p_7' } })
    })

    it('takes the client address from X-Forwarded-For behind a trusted proxy', async () => {
      const f = await start({ trustProxy: true })
      const tenant = freshTenant('proxy')
      await f.send('/projects', { tenant, token: FIXTURE_TOKENS.user, body: { name: 'x' }, headers: { 'x-forwarded-for': '203.0.113.7' } })
      const [event] = await f.events(tenant)
      expect(event?.context?.ip).toBe('203.0.113.7')
    })

    it('records the path as the client sent it (percent-encoding kept) and the resource id as routed (decoded)', async () => {
      const f = await start({})
      const tenant = freshTenant('encoded')
      expect((await f.send('/projects/p%41', { method: 'PATCH', tenant, token: FIXTURE_TOKENS.user, body: { name: 'x' } })).status).toBe(200)
      const [event] = await f.events(tenant)
      expect(event).toMatchObject({ action: 'project_updated', resource: { type: 'project', id: 'pA' }, context: { path: '/projects/p%41' } })
    })

    it('never records a forwarded value that is no IP address as the IP, even behind a trusted proxy', async () => {
      const f = await start({ trustProxy: true })
      const tenant = freshTenant('proxy-garbage')
      for (const forwarded of ['8.8.8.8 evil', '<img src=x onerror=alert(4)>', 'unknown', '203.0.113.7:443'])
        await f.send('/projects', { tenant, token: FIXTURE_TOKENS.user, body: { name: 'x' }, headers: { 'x-forwarded-for': forwarded } })
      const events = await f.events(tenant)
      expect(events).toHaveLength(4)
      // Left out, or the nearest address that is one (the trusted proxy's): never the client's text.
      for (const event of events) if (event.context?.ip !== undefined) expect(isIP(event.context.ip), event.context.ip).not.toBe(0)
    })

    /** Sends a request to the slow handler and leaves while it runs (once it has started, not before). */
    async function abandon(f: Fixture, tenant: string): Promise<void> {
      const leaving = new AbortController()
      const started = slowHandlerStarts()
      const sent = f.send('/projects/p_9/publish', { tenant, token: FIXTURE_TOKENS.user, signal: leaving.signal }).catch((error: unknown) => error)
      await started
      leaving.abort()
      expect(await sent).toMatchObject({ name: 'AbortError' })
    }

    /** The tenant's events once there are some (the handler ends on its own time), then a moment more for any extra. */
    async function eventsOnceRecorded(f: Fixture, tenant: string): Promise<AuditEvent[]> {
      for (let waited = 0; waited < 10_000; waited += 50) {
        if ((await f.events(tenant)).length > 0) break
        await sleep(50)
      }
      await sleep(200)
      return f.events(tenant)
    }

    for (const delivery of ['async', 'await'] as const) {
      it(`in ${delivery} delivery, records a request the client left before the answer once, as a failure marked responseAborted`, async () => {
        const f = await start({ delivery })
        const tenant = freshTenant(`left-${delivery}`)
        await abandon(f, tenant)
        const events = await eventsOnceRecorded(f, tenant)
        expect(events).toHaveLength(1)
        // Whether the client saw the change is unknown: the same answer from every adapter.
        expect(events[0]).toMatchObject({ action: 'project_published', outcome: 'failure', metadata: { responseAborted: true } })
      })
    }

    it('in await delivery, holds the response until the event is durable', async () => {
      const f = await start({ delivery: 'await', appendDelayMs: 300 })
      const tenant = freshTenant('await')
      const res = await f.send('/projects', { tenant, token: FIXTURE_TOKENS.user, body: { name: 'durable' } })
      expect(res.status).toBe(201)
      // Read the store without flushing: the event must already be there when the response arrives.
      const events = await f.events(tenant, { flush: false })
      expect(events.map((e) => e.action)).toEqual(['project_created'])
      expect(await res.json()).toMatchObject({ name: 'durable' })
    })

    it('in await delivery, holds the response of a read the handler forces until the event is durable', async () => {
      const f = await start({ delivery: 'await', appendDelayMs: 300 })
      const tenant = freshTenant('await-read')
      const res = await f.send('/projects/p_4/export', { method: 'GET', tenant, token: FIXTURE_TOKENS.user })
      expect(res.status).toBe(200)
      const events = await f.events(tenant, { flush: false })
      expect(events.map((e) => [e.action, e.context?.status])).toEqual([['project_export_viewed', 200]])
    })

    it('in async delivery, does not hold the response for a slow store', async () => {
      // The store's append waits until the test lets it go (a fixed delay could pass on a busy machine before the
      // store is read): the response arrives while the event cannot have been written.
      let letAppendsThrough = (): void => {}
      const appendGate = new Promise<void>((resolve) => (letAppendsThrough = resolve))
      const f = await start({ delivery: 'async', appendGate })
      try {
        const tenant = freshTenant('async')
        const res = await f.send('/projects', { tenant, token: FIXTURE_TOKENS.user, body: { name: 'queued' } })
        expect(res.status).toBe(201)
        expect(await f.events(tenant, { flush: false })).toEqual([])
        letAppendsThrough()
        expect((await f.events(tenant)).map((e) => e.action)).toEqual(['project_created'])
      } finally {
        letAppendsThrough()
      }
    })
  })
}
