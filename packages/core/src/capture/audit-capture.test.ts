import { afterAll, describe, expect, it } from 'vitest'
import type { AuditKitError } from '../errors.js'
import type { AuditEvent } from '../event/schema.js'
import { createAuditLogger } from '../logger/audit-logger.js'
import { createSqliteStore } from '../stores/sqlite/sqlite-store.js'
import {
  createAuditCapture,
  createDetachedAuditContext,
  statusOfError,
  type AuditOverrides,
  type AuditRequestContext,
  type CaptureRequest,
  type CaptureResult,
  type RouteFacts,
} from './audit-capture.js'
import type { DerivedOperation } from './derive-action.js'

const store = createSqliteStore({ path: ':memory:' })
const logger = createAuditLogger({ store, onError: () => {} })
afterAll(async () => {
  await logger.close()
  await store.close()
})

interface FakeRequest {
  user?: string
}
const capture = createAuditCapture<FakeRequest>({
  logger,
  delivery: 'await',
  tenant: () => 'capture-tests',
  actor: (req) => (req.user ? { type: 'user', id: req.user } : null),
})

async function recorded(method: string, path: string, route: string | undefined, params: Record<string, string | undefined>, status = 200): Promise<AuditEvent | undefined> {
  const handle = capture.begin({ user: 'u1' }, { method, path, ip: '::ffff:10.0.0.7', userAgent: 'x'.repeat(5000) })
  const result = await handle?.end({ status, route, params })
  return result?.event
}

describe('createAuditCapture', () => {
  it('derives each request from the route pattern with its own parameter values', async () => {
    const route = '/workspaces/:ws/projects/:projectId'
    const first = await recorded('PATCH', '/workspaces/w1/projects/p1', route, { ws: 'w1', projectId: 'p1' })
    const second = await recorded('PATCH', '/workspaces/w2/projects/p2', route, { ws: 'w2', projectId: 'p2' })
    expect(first).toMatchObject({ action: 'project_updated', resource: { type: 'project', id: 'p1' }, targets: [{ type: 'workspace', id: 'w1' }] })
    expect(second).toMatchObject({ action: 'project_updated', resource: { type: 'project', id: 'p2' }, targets: [{ type: 'workspace', id: 'w2' }] })
  })

  it('names the derived action after a resource type the handler sets without an action', async () => {
    const record = async (overrides: Parameters<AuditRequestContext['set']>[0]): Promise<AuditEvent | undefined> => {
      const handle = capture.begin({ user: 'u1' }, { method: 'POST', path: '/things/t1/archive' })
      handle?.context.set(overrides)
      return (await handle?.end({ status: 200, route: '/things/:thingId/archive', params: { thingId: 't1' } }))?.event
    }
    expect(await record({ resource: { type: 'project' } })).toMatchObject({ action: 'project_archived', resource: { type: 'project', id: 't1' } })
    expect(await record({ resource: { type: 'api_key', id: 'k1' } })).toMatchObject({ action: 'api_key_archived', resource: { type: 'api_key', id: 'k1' } })
    // An explicit action wins; a resource without a type leaves the derived action as it is.
    expect(await record({ action: 'thing_shelved', resource: { type: 'project' } })).toMatchObject({ action: 'thing_shelved' })
    expect(await record({ resource: { id: 't2' } })).toMatchObject({ action: 'thing_archived', resource: { type: 'thing', id: 't2' } })
  })

  it('derives a request whose optional parameter is missing on its own', async () => {
    const event = await recorded('POST', '/projects', '/projects/:projectId', { projectId: undefined }, 201)
    expect(event).toMatchObject({ action: 'project_created', resource: { type: 'project' } })
    expect(event?.resource.id).toBeUndefined()
  })

  it('keeps client-supplied facts within the event limits and unwraps IPv4-mapped addresses', async () => {
    const longId = 'a'.repeat(400)
    // Refused before routing (401): derived from the path, whose long id is clipped.
    const event = await recorded('DELETE', `/things/${longId}`, undefined, {}, 401)
    expect(event?.context?.ip).toBe('10.0.0.7')
    expect(event?.context?.userAgent).toHaveLength(2048)
    expect(event?.resource).toEqual({ type: 'thing', id: 'a'.repeat(256) })
    expect(event?.outcome).toBe('failure')
  })

  it('derives nothing from a path no route answered with 404 (a made-up path adds no action or resource type), but does when refused before routing', async () => {
    const probe = await recorded('DELETE', '/workspaces/acme/audit_log_purge', undefined, {}, 404)
    expect(probe).toMatchObject({ action: 'resource_deleted', resource: { type: 'resource' }, context: { path: '/workspaces/acme/audit_log_purge', status: 404 } })
    expect(probe?.targets).toBeUndefined()
    const refused = await recorded('POST', '/workspaces/acme/projects', undefined, {}, 401)
    expect(refused).toMatchObject({ action: 'project_created', resource: { type: 'project' }, targets: [{ type: 'workspace', id: 'acme' }] })
    // A routed 404 (the resource was not found) keeps its route's operation.
    expect(await recorded('DELETE', '/projects/p_9', '/projects/:projectId', { projectId: 'p_9' }, 404)).toMatchObject({
      action: 'project_deleted',
      resource: { type: 'project', id: 'p_9' },
    })
    // The app's own deriveOperation still decides for every request.
    const custom = createAuditCapture<FakeRequest>({
      logger,
      delivery: 'await',
      tenant: () => 'capture-custom-derive',
      deriveOperation: ({ path }) => ({ action: 'probe_seen', resource: { type: 'probe', id: path }, targets: [] }),
    })
    const result = await custom.begin({}, { method: 'DELETE', path: '/nope' })?.end({ status: 404 })
    expect(result?.event).toMatchObject({ action: 'probe_seen', resource: { type: 'probe', id: '/nope' } })
  })

  it('derives nothing from a refusal on a path the adapter found no route for (routeExists: false), only from its failures', async () => {
    const end = async (path: string, status: number, routeExists: boolean | undefined): Promise<AuditEvent | undefined> =>
      (await capture.begin({ user: 'u1' }, { method: 'POST', path })?.end({ status, routeExists }))?.event
    expect(await end('/nope/123', 401, false)).toMatchObject({ action: 'resource_created', resource: { type: 'resource' }, context: { path: '/nope/123', status: 401 } })
    expect((await end('/nope/123', 401, false))?.targets).toBeUndefined()
    // Unknown (the adapter could not tell): derived from the path, as a refusal on a real path is.
    expect(await end('/projects', 401, undefined)).toMatchObject({ action: 'project_created', resource: { type: 'project' }, outcome: 'failure' })
    // A success a plain middleware answered (a proxy) is the app's own: derived from its path.
    expect(await end('/graphql/things', 201, false)).toMatchObject({ action: 'thing_created', resource: { type: 'thing' }, outcome: 'success' })
  })

  it("clips to the logger's own limits when they are smaller than the defaults, so the request is still recorded", async () => {
    const strict = createAuditLogger({ store, limits: { maxTextLength: 256, maxIdLength: 64 }, onError: () => {} })
    const strictCapture = createAuditCapture<FakeRequest>({ logger: strict, delivery: 'await', tenant: () => 'capture-strict' })
    const longId = 'b'.repeat(100)
    const handle = strictCapture.begin({}, { method: 'DELETE', path: `/things/${longId}`, userAgent: 'y'.repeat(1000) })
    const result = await handle?.end({ status: 200 })
    expect(result?.event?.context?.userAgent).toHaveLength(256)
    expect(result?.event?.resource).toEqual({ type: 'thing', id: 'b'.repeat(64) })
    expect(strict.stats()).toMatchObject({ written: 1, invalid: 0 })
    await strict.close()
  })

  it('records before/after and metadata as JSON would write them: Dates, ORM entities, undefined fields, BigInts', async () => {
    class ProjectEntity {
      constructor(
        public id: string,
        public name: string,
        public updatedAt: Date,
        public description?: string,
      ) {}
      get label(): string {
        return this.name.toUpperCase() // a prototype getter: not an own property, not recorded (as JSON.stringify)
      }
    }
    const handle = capture.begin({ user: 'u1' }, { method: 'PATCH', path: '/projects/p1' })
    handle?.context
      .before(new ProjectEntity('p1', 'Old', new Date('2026-01-01T00:00:00Z')))
      .after({ id: 'p1', name: 'New', description: undefined, updatedAt: new Date('2026-02-01T00:00:00Z'), tags: ['a', undefined], size: 10n })
      .set({ metadata: { reason: undefined, at: new Date('2026-02-01T00:00:00Z'), ratio: Number.NaN } })
    const event = (await handle?.end({ status: 200, route: '/projects/:projectId', params: { projectId: 'p1' } }))?.event
    expect(event?.changes).toEqual({
      before: { id: 'p1', name: 'Old', updatedAt: '2026-01-01T00:00:00.000Z' },
      after: { id: 'p1', name: 'New', updatedAt: '2026-02-01T00:00:00.000Z', tags: ['a', null], size: '10' },
    })
    expect(event?.metadata).toEqual({ at: '2026-02-01T00:00:00.000Z', ratio: null })
  })

  it('keeps a secret route parameter out of the resource id and the path, and lets the resolvers see it', async () => {
    const seenByTenant: (string | undefined)[] = []
    const withSecrets = createAuditCapture<FakeRequest>({
      logger,
      delivery: 'await',
      tenant: (_req, { params }) => (seenByTenant.push(params.token), 'capture-secrets'),
    })
    const accept = withSecrets.begin({}, { method: 'POST', path: '/workspaces/w1/invitations/inv_s3cr3t%2B1/accept' })
    const accepted = (
      await accept?.end({ status: 200, route: '/workspaces/:ws/invitations/:token/accept', params: { ws: 'w1', token: 'inv_s3cr3t+1' } })
    )?.event
    expect(accepted).toMatchObject({
      action: 'invitation_accepted',
      resource: { type: 'invitation', id: '[REDACTED]' },
      targets: [{ type: 'workspace', id: 'w1' }],
      context: { path: '/workspaces/w1/invitations/[REDACTED]/accept', route: '/workspaces/:ws/invitations/:token/accept' },
    })
    expect(JSON.stringify(accepted)).not.toContain('s3cr3t')
    expect(seenByTenant).toEqual(['inv_s3cr3t+1'])
    const long = `jwt_${'x'.repeat(400)}`
    const linked = withSecrets.begin({}, { method: 'POST', path: `/password-resets/${long}` })
    const reset = (await linked?.end({ status: 201, route: '/password-resets/:resetToken', params: { resetToken: long } }))?.event
    expect(reset?.resource).toEqual({ type: 'password_reset', id: '[REDACTED]' })
    expect(JSON.stringify(reset)).not.toContain('xxxxxxxx')
    // Inside a segment: a prefix or suffix in the route around the parameter.
    const invite = withSecrets.begin({}, { method: 'POST', path: '/join/invite-inv_s3cr3t42.json' })
    const joined = (await invite?.end({ status: 200, route: '/join/invite-:token.json', params: { token: 'inv_s3cr3t42' } }))?.event
    expect(joined?.context?.path).toBe('/join/invite-[REDACTED].json')
    const encoded = withSecrets.begin({}, { method: 'POST', path: '/join/invite-inv%20s3cr3t42' })
    const joinedEncoded = (await encoded?.end({ status: 200, route: '/join/invite-:token', params: { token: 'inv s3cr3t42' } }))?.event
    expect(joinedEncoded?.context?.path).toBe('/join/[REDACTED]')
    // A short value is not looked for inside other segments (it would blank out unrelated text).
    const short = withSecrets.begin({}, { method: 'POST', path: '/api-v1x/codes/v1' })
    expect((await short?.end({ status: 200, route: '/api-v1x/codes/:token', params: { token: 'v1' } }))?.event?.context?.path).toBe('/api-v1x/codes/[REDACTED]')
    // The id of a secret identifies it: kept.
    const revoke = withSecrets.begin({}, { method: 'POST', path: '/api-tokens/tok_42/revoke' })
    const revoked = (await revoke?.end({ status: 200, route: '/api-tokens/:tokenId/revoke', params: { tokenId: 'tok_42' } }))?.event
    expect(revoked).toMatchObject({ resource: { type: 'api_token', id: 'tok_42' }, context: { path: '/api-tokens/tok_42/revoke' } })
  })

  it('leaves a value that cannot be converted (cyclic) to validation, which refuses it with its usual code', async () => {
    const seen: AuditKitError[] = []
    const strict = createAuditLogger({ store, onError: (error) => seen.push(error) })
    const strictCapture = createAuditCapture<FakeRequest>({ logger: strict, delivery: 'await', tenant: () => 'capture-cyclic' })
    const cyclic: Record<string, unknown> = { name: 'loop' }
    cyclic.self = cyclic
    const handle = strictCapture.begin({}, { method: 'PATCH', path: '/projects/p1' })
    handle?.context.before(cyclic)
    expect(await handle?.end({ status: 200 })).toBeNull()
    expect(seen.map((error) => error.code)).toEqual(['PAYLOAD_TOO_LARGE'])
    await strict.close()
  })

  it('records once however often end() is called, and nothing for reads or skipped requests', async () => {
    const handle = capture.begin({}, { method: 'POST', path: '/projects' })
    const [a, b] = await Promise.all([handle?.end({ status: 201 }), handle?.end({ status: 500 })])
    expect(a?.id).toBe(b?.id)
    expect(a?.event).toMatchObject({ actor: { type: 'user', id: 'anonymous' }, context: { status: 201 } })
    expect(await capture.begin({}, { method: 'GET', path: '/projects' })?.end({ status: 200 })).toBeNull()
    const skipped = capture.begin({}, { method: 'POST', path: '/projects' })
    skipped?.context.skip()
    expect(await skipped?.end({ status: 201 })).toBeNull()
  })

  it('calls onRecordable at once for a mutating request, and for a read only once something forces it', () => {
    const calls: string[] = []
    const post = capture.begin({}, { method: 'post', path: '/projects' })
    post?.onRecordable(() => calls.push('post'))
    expect(calls).toEqual(['post'])

    const read = capture.begin({}, { method: 'GET', path: '/projects' })
    read?.onRecordable(() => calls.push('read: first'))
    read?.onRecordable(() => calls.push('read: second'))
    expect(calls).toEqual(['post'])
    read?.context.force()
    read?.context.force()
    expect(calls).toEqual(['post', 'read: first', 'read: second'])
    read?.onRecordable(() => calls.push('read: after force'))
    expect(calls.at(-1)).toBe('read: after force')

    const readsToo = createAuditCapture<FakeRequest>({ logger, recordReads: true })
    readsToo.begin({}, { method: 'HEAD', path: '/projects' })?.onRecordable(() => calls.push('recordReads'))
    expect(calls.at(-1)).toBe('recordReads')
  })

  it('leaves CORS preflights out under recordReads unless forced, and still records a plain OPTIONS as a read', async () => {
    const readsToo = createAuditCapture<{ headers?: Record<string, string> }>({ logger, delivery: 'await', recordReads: true, tenant: () => 'capture-preflight' })
    const preflight = { origin: 'https://app.example.com', 'access-control-request-method': 'DELETE' }
    const request = { method: 'OPTIONS', path: '/projects/p1' }
    // Node's `req.headers` (Express, NestJS), read by core itself.
    expect(await readsToo.begin({ headers: preflight }, request)?.end({ status: 204 })).toBeNull()
    // Fetch `Headers`, handed over by an adapter whose request object has none (Hono's context).
    expect(await readsToo.begin({}, { ...request, method: 'options', headers: new Headers(preflight) })?.end({ status: 204 })).toBeNull()
    const forced = readsToo.begin({ headers: preflight }, request)
    let recordable = false
    forced?.onRecordable(() => (recordable = true))
    expect(recordable).toBe(false)
    forced?.context.force()
    expect(recordable).toBe(true)
    expect((await forced?.end({ status: 204 }))?.event).toMatchObject({ context: { method: 'OPTIONS', status: 204 } })
    // Without both headers it is no preflight: a read, recorded as before.
    for (const headers of [{}, { origin: preflight.origin }, { 'access-control-request-method': 'DELETE' }] as Record<string, string>[])
      expect((await readsToo.begin({ headers }, request)?.end({ status: 200 }))?.event).toMatchObject({ context: { method: 'OPTIONS', status: 200 } })
    // And a preflight is a read as ever without recordReads.
    expect(await capture.begin({ user: 'u1' }, { ...request, headers: new Headers(preflight) })?.end({ status: 204 })).toBeNull()
  })

  it('records a thrown error as a failure with its status, even when the response status still says 200', async () => {
    const end = (error: unknown) => capture.begin({ user: 'u3' }, { method: 'POST', path: '/projects' })?.end({ status: 200, error })
    expect((await end(new Error('boom')))?.event).toMatchObject({ outcome: 'failure', context: { status: 500 } })
    expect((await end(Object.assign(new Error('taken'), { status: 409 })))?.event).toMatchObject({ outcome: 'failure', context: { status: 409 } })
    expect((await end({ getStatus: () => 422 }))?.event).toMatchObject({ outcome: 'failure', context: { status: 422 } })
  })

  it('marks a response the client abandoned as a failure', async () => {
    const event = (await capture.begin({ user: 'u2' }, { method: 'POST', path: '/projects' })?.end({ status: 200, aborted: true }))?.event
    expect(event).toMatchObject({ outcome: 'failure', metadata: { responseAborted: true } })
  })

  it('reports a resolver that throws to onError as CAPTURE_FAILED and counts it, instead of only logging it', async () => {
    const reported: AuditKitError[] = []
    const ownLogger = createAuditLogger({ store, onError: (error) => reported.push(error) })
    const failing = createAuditCapture<FakeRequest>({
      logger: ownLogger,
      tenant: () => 'capture-tests',
      actor: () => {
        throw new Error('session store down')
      },
      skip: () => {
        throw new Error('skip rule broken')
      },
    })
    const handle = failing.begin({}, { method: 'POST', path: '/projects' })
    expect(await handle?.end({ status: 201 })).toBeNull()
    expect(reported.map((error) => error.code)).toEqual(['CAPTURE_FAILED', 'CAPTURE_FAILED'])
    expect(reported[0]?.message).toContain('skip rule broken')
    expect(reported[1]?.message).toContain('session store down')
    expect(reported.map((error) => (error.cause as Error | undefined)?.message)).toEqual(['skip rule broken', 'session store down'])
    expect(ownLogger.stats()).toMatchObject({ captureFailures: 2, accepted: 0 })
    await ownLogger.close()
  })

  it('waits for resolvers that answer with a promise, and reports one that rejects without asking the next', async () => {
    const reported: AuditKitError[] = []
    const ownLogger = createAuditLogger({ store, onError: (error) => reported.push(error) })
    const asked: string[] = []
    const asyncCapture = createAuditCapture<FakeRequest>({
      logger: ownLogger,
      delivery: 'await',
      tenant: async (req) => {
        asked.push(`tenant ${req.user}`)
        if (req.user === 'nobody') throw new Error('tenant lookup failed')
        return 'capture-async'
      },
      actor: async (req) => {
        asked.push(`actor ${req.user}`)
        return { type: 'user', id: req.user ?? 'anonymous' }
      },
    })
    const event = (await asyncCapture.begin({ user: 'u3' }, { method: 'POST', path: '/projects' })?.end({ status: 201 }))?.event
    expect(event).toMatchObject({ tenantId: 'capture-async', actor: { type: 'user', id: 'u3' }, action: 'project_created' })
    expect(await asyncCapture.begin({ user: 'nobody' }, { method: 'POST', path: '/projects' })?.end({ status: 201 })).toBeNull()
    expect(asked).toEqual(['tenant u3', 'actor u3', 'tenant nobody'])
    expect(reported.map((error) => [error.code, error.message.includes('tenant lookup failed')])).toEqual([['CAPTURE_FAILED', true]])
    await ownLogger.close()
  })

  it('answers null for an event the pipeline refuses, which the logger reports once (not as a capture failure)', async () => {
    const reported: AuditKitError[] = []
    const ownLogger = createAuditLogger({ store, onError: (error) => reported.push(error) })
    const invalid = createAuditCapture<FakeRequest>({ logger: ownLogger, tenant: () => 'x'.repeat(1000) })
    expect(await invalid.begin({}, { method: 'POST', path: '/projects' })?.end({ status: 201 })).toBeNull()
    expect(reported.map((error) => error.code)).toEqual(['INVALID_EVENT'])
    expect(ownLogger.stats()).toMatchObject({ invalid: 1, captureFailures: 0 })
    await ownLogger.close()
  })
})

describe('what a request records, by default and as the handler overrides it', () => {
  it('takes the tenant and actor a handler sets over the resolvers, and adds its targets to the derived ones', async () => {
    const asked: string[] = []
    const resolving = createAuditCapture<FakeRequest>({
      logger,
      delivery: 'await',
      tenant: () => (asked.push('tenant'), 'capture-resolved'),
      actor: () => (asked.push('actor'), { type: 'user', id: 'resolved' }),
    })
    const handle = resolving.begin({}, { method: 'POST', path: '/workspaces/w1/projects' })
    handle?.context.set({ tenantId: 'capture-override', actor: { type: 'api_key', id: 'k1' } }).addTarget({ type: 'member', id: 'm1' })
    const event = (await handle?.end({ status: 201, route: '/workspaces/:ws/projects', params: { ws: 'w1' } }))?.event
    expect(event).toMatchObject({ tenantId: 'capture-override', actor: { type: 'api_key', id: 'k1' } })
    expect(event?.targets).toEqual([{ type: 'workspace', id: 'w1' }, { type: 'member', id: 'm1' }])
    expect(asked).toEqual([])
    // Without overrides the resolvers decide; without resolvers, 'default' and the anonymous user.
    expect((await resolving.begin({}, { method: 'POST', path: '/projects' })?.end({ status: 201 }))?.event).toMatchObject({
      tenantId: 'capture-resolved',
      actor: { type: 'user', id: 'resolved' },
    })
    const bare = createAuditCapture<FakeRequest>({ logger, delivery: 'await' })
    expect((await bare.begin({}, { method: 'POST', path: '/projects' })?.end({ status: 201 }))?.event).toMatchObject({
      tenantId: 'default',
      actor: { type: 'user', id: 'anonymous' },
    })
  })

  it('records 400 and above as a failure, 399 as a success, and the request id the app settled on', async () => {
    const end = async (status: number, requestIds: { header?: string; settled?: string } = {}): Promise<AuditEvent | undefined> =>
      (
        await capture
          .begin({ user: 'u1' }, { method: 'POST', path: '/projects', requestId: requestIds.header })
          ?.end({ status, route: '/projects', params: {}, requestId: requestIds.settled })
      )?.event
    expect((await end(400))?.outcome).toBe('failure')
    expect((await end(399))?.outcome).toBe('success')
    expect((await end(201, { header: 'from-header', settled: 'settled' }))?.context?.requestId).toBe('settled')
    expect((await end(201, { header: 'from-header' }))?.context?.requestId).toBe('from-header')
  })

  it('refuses a delivery mode other than async or await', () => {
    const unknownMode: string = 'later'
    expect(() => createAuditCapture({ logger, delivery: unknownMode as 'async' })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    expect(() => createAuditCapture({ logger, delivery: unknownMode as 'async' })).toThrow("delivery must be 'async' or 'await', got later")
    expect(createAuditCapture({ logger }).delivery).toBe('async')
    expect(createAuditCapture({ logger, delivery: 'await' }).delivery).toBe('await')
  })
})

describe('what the capture records at the edges (mutation-testing gaps)', () => {
  const end = async (request: Partial<CaptureRequest>, result: CaptureResult, set?: AuditOverrides): Promise<AuditEvent | undefined> => {
    const handle = capture.begin({ user: 'u1' }, { method: 'POST', path: '/projects', ...request })
    if (set) handle?.context.set(set)
    return (await handle?.end(result))?.event
  }

  it('skips a request the skip option picks, handing it the request, and records the others', async () => {
    const seen: FakeRequest[] = []
    const skipping = createAuditCapture<FakeRequest>({ logger, delivery: 'await', tenant: () => 'capture-skip', skip: (req) => (seen.push(req), req.user === 'health') })
    expect(skipping.begin({ user: 'health' }, { method: 'POST', path: '/projects' })).toBeNull()
    expect(seen).toEqual([{ user: 'health' }])
    expect((await skipping.begin({ user: 'u1' }, { method: 'POST', path: '/projects' })?.end({ status: 201 }))?.event).toMatchObject({ action: 'project_created' })
  })

  it('gives requests skipped up front a context that records nothing but accepts every call', () => {
    const detached = createDetachedAuditContext()
    expect(detached.skipped).toBe(true)
    expect(detached.set({ action: 'x_y' }).before(1).after(2).addTarget({ type: 'a' }).force()).toBe(detached)
  })

  it('takes the status of a thrown error from getStatus(), status or statusCode, only when it is an HTTP error status', async () => {
    const status = async (error: unknown): Promise<number | undefined> => (await end({}, { status: 200, error }))?.context?.status
    expect(await status(Object.assign(new Error('bad'), { statusCode: 400 }))).toBe(400)
    expect(await status({ status: 599 })).toBe(599)
    expect(await status({ status: 399 })).toBe(500)
    expect(await status({ status: 600, statusCode: 404 })).toBe(404)
    expect(await status({ status: '404' })).toBe(500)
    expect(await status({ status: '404', statusCode: 409 })).toBe(409)
    expect(await status({ getStatus: () => 'teapot', status: 418 })).toBe(418)
    expect(await status({ getStatus: 503 })).toBe(500)
    expect(await status('a string')).toBe(500)
    expect(await status(null)).toBe(500)
    expect(statusOfError(undefined)).toBeUndefined()
  })

  it('records the method routing used, upper-cased, for the action and the context', async () => {
    const event = await end({ method: 'post', path: '/projects/p1' }, { status: 200, route: '/projects/:projectId', params: { projectId: 'p1' }, method: 'delete' })
    expect(event).toMatchObject({ action: 'project_deleted', context: { method: 'DELETE' } })
    expect((await end({ method: 'post' }, { status: 201 }))?.context?.method).toBe('POST')
  })

  it('records a status outside 100-599 as 500, a failure, and keeps those at the bounds', async () => {
    const recorded = async (value: number): Promise<[number | undefined, string | undefined]> => {
      const event = await end({}, { status: value })
      return [event?.context?.status, event?.outcome]
    }
    expect(await recorded(100)).toEqual([100, 'success'])
    expect(await recorded(599)).toEqual([599, 'failure'])
    expect(await recorded(99)).toEqual([500, 'failure'])
    expect(await recorded(600)).toEqual([500, 'failure'])
    expect(await recorded(201.5)).toEqual([500, 'failure'])
    // Hono's `Response.error()` (a network error) answers status 0: not a success recorded with status 500.
    expect(await recorded(0)).toEqual([500, 'failure'])
    expect(await recorded(Number.NaN)).toEqual([500, 'failure'])
  })

  it('replaces the derived targets with the handler\'s, still adding those of addTarget()', async () => {
    const handle = capture.begin({ user: 'u1' }, { method: 'POST', path: '/workspaces/w1/projects' })
    handle?.context.set({ targets: [{ type: 'team', id: 't1' }] }).addTarget({ type: 'member', id: 'm1' })
    const event = (await handle?.end({ status: 201, route: '/workspaces/:ws/projects', params: { ws: 'w1' } }))?.event
    expect(event?.targets).toEqual([{ type: 'team', id: 't1' }, { type: 'member', id: 'm1' }])
    expect((await end({}, { status: 201 }, { targets: [] }))?.targets).toBeUndefined()
  })

  it('keeps the derived resource fields a handler leaves undefined', async () => {
    const event = await end({ path: '/projects/p1' }, { status: 200, route: '/projects/:projectId', params: { projectId: 'p1' } }, { resource: { id: undefined, name: 'Roadmap' } })
    expect(event?.resource).toEqual({ type: 'project', id: 'p1', name: 'Roadmap' })
  })

  it('merges metadata and changes over earlier set() calls, keeping a later value of the same key', async () => {
    const handle = capture.begin({ user: 'u1' }, { method: 'POST', path: '/projects' })
    handle?.context.set({ metadata: { a: 1, b: 1 } }).set({ metadata: { b: 2 } }).set({ outcome: 'failure' }).after({ v: 2 }).before({ v: 1 }).set({ changes: { after: { v: 3 } } })
    const event = (await handle?.end({ status: 201, aborted: true }))?.event
    expect(event).toMatchObject({ outcome: 'failure', metadata: { a: 1, b: 2, responseAborted: true }, changes: { before: { v: 1 }, after: { v: 3 } } })
  })

  it('records only the side of the changes that was given, and no changes when neither was', async () => {
    expect((await end({}, { status: 201 }, { changes: { after: { v: 1 } } }))?.changes).toStrictEqual({ after: { v: 1 } })
    expect((await end({}, { status: 201 }, { changes: { before: { v: 1 } } }))?.changes).toStrictEqual({ before: { v: 1 } })
    expect((await end({}, { status: 201 }, { changes: { before: undefined, after: undefined } }))?.changes).toBeUndefined()
    expect((await end({}, { status: 201 }, { outcome: 'success' }))?.metadata).toBeUndefined()
  })

  it('lets the outcome a handler sets win over the status', async () => {
    expect((await end({}, { status: 500 }, { outcome: 'success' }))?.outcome).toBe('success')
    expect((await end({}, { status: 201 }))?.outcome).toBe('success')
  })

  it('waits for an async tenant with a sync actor, and for an async actor with a sync tenant', async () => {
    const mixed = (tenantAsync: boolean) =>
      createAuditCapture<FakeRequest>({
        logger,
        delivery: 'await',
        tenant: tenantAsync ? async () => 'capture-async-tenant' : () => 'capture-sync-tenant',
        actor: tenantAsync ? () => ({ type: 'user', id: 'sync-actor' }) : async () => ({ type: 'user', id: 'async-actor' }),
      })
    const first = (await mixed(true).begin({}, { method: 'POST', path: '/projects' })?.end({ status: 201 }))?.event
    expect(first).toMatchObject({ tenantId: 'capture-async-tenant', actor: { id: 'sync-actor' } })
    const second = (await mixed(false).begin({}, { method: 'POST', path: '/projects' })?.end({ status: 201 }))?.event
    expect(second).toMatchObject({ tenantId: 'capture-sync-tenant', actor: { id: 'async-actor' } })
  })

  it('keeps the derived action when the resource type a handler sets would not make a valid one', async () => {
    const archived = (type: string, verb = 'archive') =>
      end({ path: `/things/t1/${verb}` }, { status: 200, route: `/things/:thingId/${verb}`, params: { thingId: 't1' } }, { resource: { type } })
    const type = 't'.repeat(64)
    // `${type}_${61 a's}ed` is 128 characters, the longest valid action; one more and the derived action stays.
    expect((await archived(type, 'a'.repeat(61)))?.action).toBe(`${type}_${'a'.repeat(61)}ed`)
    expect((await archived(type, 'a'.repeat(62)))?.action).toBe(`thing_${'a'.repeat(62)}ed`)
    // A valid type that makes no valid action (`project__archived`): the derived action stays.
    expect(await archived('project_')).toMatchObject({ action: 'thing_archived', resource: { type: 'project_' } })
    // Same type as derived: unchanged.
    expect((await archived('thing'))?.action).toBe('thing_archived')
  })

  it('leaves an action that does not start with the derived resource type alone when the handler sets a type', async () => {
    const custom = createAuditCapture<FakeRequest>({
      logger,
      delivery: 'await',
      tenant: () => 'capture-custom-action',
      deriveOperation: () => ({ action: 'login_succeeded', resource: { type: 'session' }, targets: [] }),
    })
    const handle = custom.begin({}, { method: 'POST', path: '/login' })
    handle?.context.set({ resource: { type: 'user' } })
    expect((await handle?.end({ status: 200 }))?.event).toMatchObject({ action: 'login_succeeded', resource: { type: 'user' } })
  })

  it("keeps a custom deriveOperation's answer valid: an invalid type becomes 'resource' with the method's action, ids and names clipped, targets bounded", async () => {
    const strict = createAuditLogger({ store, limits: { maxIdLength: 12, maxTextLength: 16, maxTargets: 2 }, onError: () => {} })
    const custom = (derived: DerivedOperation) =>
      createAuditCapture<FakeRequest>({ logger: strict, delivery: 'await', tenant: () => 't1', deriveOperation: () => derived })
    const event = async (derived: DerivedOperation): Promise<AuditEvent | undefined> =>
      (await custom(derived).begin({}, { method: 'PATCH', path: '/x' })?.end({ status: 200 }))?.event
    expect(await event({ action: 'Bad_Type_updated', resource: { type: 'Bad Type', id: '' }, targets: [] })).toMatchObject({ action: 'resource_updated', resource: { type: 'resource' } })
    expect((await event({ action: 'Bad_Type_updated', resource: { type: 'Bad Type', id: '' }, targets: [] }))?.resource).toEqual({ type: 'resource' })
    const clipped = await event({
      action: 'doc_updated',
      resource: { type: 'doc', id: 'd'.repeat(20), name: 'n'.repeat(40) },
      targets: [{ type: 'a' }, { type: 'b' }, { type: 'c' }],
    })
    expect(clipped).toMatchObject({ action: 'doc_updated', resource: { type: 'doc', id: 'd'.repeat(12), name: 'n'.repeat(16) } })
    expect(clipped?.targets).toEqual([{ type: 'a' }, { type: 'b' }])
    expect((await event({ action: 'Doc-Updated', resource: { type: 'doc' }, targets: [] }))?.action).toBe('resource_updated')
    // A valid action whose type is not valid: both fall back, so that action and resource agree.
    expect(await event({ action: 'doc_updated', resource: { type: 'Doc' }, targets: [] })).toMatchObject({ action: 'resource_updated', resource: { type: 'resource' } })
    expect((await event({ action: `doc_${'u'.repeat(124)}`, resource: { type: 'doc' }, targets: [] }))?.action).toBe(`doc_${'u'.repeat(124)}`)
    expect((await event({ action: `doc_${'u'.repeat(125)}`, resource: { type: 'doc' }, targets: [] }))?.action).toBe('resource_updated')
    await strict.close()
  })

  it('clips an over-long route parameter to the id limit, on every request of the route', async () => {
    const strict = createAuditLogger({ store, limits: { maxIdLength: 12 }, onError: () => {} })
    const strictCapture = createAuditCapture<FakeRequest>({ logger: strict, delivery: 'await', tenant: () => 't1' })
    const patch = async (id: string): Promise<AuditEvent | undefined> =>
      (await strictCapture.begin({}, { method: 'PATCH', path: `/projects/${id}` })?.end({ status: 200, route: '/projects/:projectId', params: { projectId: id } }))?.event
    expect((await patch('p'.repeat(20)))?.resource).toEqual({ type: 'project', id: 'p'.repeat(12) })
    expect((await patch('q'.repeat(20)))?.resource).toEqual({ type: 'project', id: 'q'.repeat(12) })
    await strict.close()
  })

  it('derives each method and route pattern on its own, also when they share parameter names', async () => {
    const fresh = createAuditCapture<FakeRequest>({ logger, delivery: 'await', tenant: () => 'capture-fresh' })
    const action = async (method: string, route: string): Promise<string | undefined> =>
      (await fresh.begin({}, { method, path: route.replace(':projectId', 'p1') })?.end({ status: 200, route, params: { projectId: 'p1' } }))?.event?.action
    expect(await action('PATCH', '/projects/:projectId')).toBe('project_updated')
    expect(await action('DELETE', '/projects/:projectId')).toBe('project_deleted')
    expect(await action('POST', '/projects/:projectId/archive')).toBe('project_archived')
  })
  it('redacts a secret parameter that names a target, and looks for values of 6 characters or more inside segments', async () => {
    const secrets = createAuditCapture<FakeRequest>({ logger, delivery: 'await', tenant: () => 'capture-secrets-2' })
    const post = async (path: string, route: string, params: Record<string, string | undefined>): Promise<AuditEvent | undefined> =>
      (await secrets.begin({}, { method: 'POST', path })?.end({ status: 201, route, params }))?.event
    const member = await post('/invitations/inv_abc/members', '/invitations/:token/members', { token: 'inv_abc' })
    expect(member).toMatchObject({ action: 'member_created', targets: [{ type: 'invitation', id: '[REDACTED]' }], context: { path: '/invitations/[REDACTED]/members' } })
    expect((await post('/join/x-abcdef-abcdef', '/join/x-:token-:token2', { token: 'abcdef', token2: 'abcdef' }))?.context?.path).toBe('/join/x-[REDACTED]-[REDACTED]')
    expect((await post('/join/x-abcde', '/join/x-:token', { token: 'abcde' }))?.context?.path).toBe('/join/x-abcde')
    // `:tokenIds`, `:TokenID`: ids of secrets, kept; an empty value hides nothing.
    expect((await post('/tokens/t1,t2/revoke', '/tokens/:tokenIds/revoke', { tokenIds: 't1,t2' }))?.context?.path).toBe('/tokens/t1,t2/revoke')
    expect((await post('/tokens/t1/revoke', '/tokens/:TokenID/revoke', { TokenID: 't1' }))?.context?.path).toBe('/tokens/t1/revoke')
    expect((await post('/sessions/', '/sessions/:token?', { token: '' }))?.context?.path).toBe('/sessions/')
    // `:idToken` is a token, not the id of one; a short value sent percent-encoded still hides its whole segment.
    expect((await post('/oidc/eyJabc/verify', '/oidc/:idToken/verify', { idToken: 'eyJabc' }))?.context?.path).toBe('/oidc/[REDACTED]/verify')
    expect((await post('/codes/a%2Bb', '/codes/:token', { token: 'a+b' }))?.context?.path).toBe('/codes/[REDACTED]')
  })

  it('records a parameter that matched nothing (Hono\'s `:path{.*}`) as a missing one: a POST creates, no id', async () => {
    const event = await end({ path: '/files/' }, { status: 201, route: '/files/:path{.*}', params: { path: '' } })
    expect(event).toMatchObject({ action: 'file_created', resource: { type: 'file' } })
    expect(event?.resource.id).toBeUndefined()
    // As the same request is recorded when the parameter is missing (an Express optional parameter).
    expect(await end({ path: '/files' }, { status: 201, route: '/files/:path?', params: { path: undefined } })).toMatchObject({ action: 'file_created' })
    expect(await end({ path: '/files/f1' }, { status: 201, route: '/files/:path{.*}', params: { path: 'f1' } })).toMatchObject({
      action: 'file_updated',
      resource: { type: 'file', id: 'f1' },
    })
  })

  it("derives a 404 from its path when a route answered without a pattern (routed), and a refusal on a path no route takes only from 400 up", async () => {
    expect(await end({ path: '/projects/p1', method: 'DELETE' }, { status: 404, routed: true })).toMatchObject({ action: 'project_deleted', resource: { type: 'project', id: 'p1' } })
    expect(await end({ path: '/projects' }, { status: 400, routeExists: false })).toMatchObject({ action: 'resource_created', resource: { type: 'resource' } })
    expect(await end({ path: '/projects' }, { status: 399, routeExists: false })).toMatchObject({ action: 'project_created', resource: { type: 'project' } })
  })

  it('hands the resolvers the routing facts: the upper-cased method, path, route and parameters (empty when none)', async () => {
    const seen: RouteFacts[] = []
    const resolving = createAuditCapture<FakeRequest>({ logger, delivery: 'await', tenant: () => 'capture-facts', actor: (_req, facts) => (seen.push(facts), null) })
    await resolving.begin({}, { method: 'post', path: '/projects' })?.end({ status: 201 })
    await resolving.begin({}, { method: 'PATCH', path: '/projects/p1', route: '/projects/:projectId', params: { projectId: 'p1' } })?.end({ status: 200 })
    expect(seen).toEqual([
      { method: 'POST', path: '/projects', route: undefined, params: {} },
      { method: 'PATCH', path: '/projects/p1', route: '/projects/:projectId', params: { projectId: 'p1' } },
    ])
  })

  it('reports a resolver that throws something other than an Error with what it threw', async () => {
    const reported: AuditKitError[] = []
    const ownLogger = createAuditLogger({ store, onError: (error) => reported.push(error) })
    const failing = createAuditCapture<FakeRequest>({
      logger: ownLogger,
      delivery: 'await',
      tenant: () => {
        throw 'tenant table missing'
      },
    })
    expect(await failing.begin({}, { method: 'POST', path: '/projects' })?.end({ status: 201 })).toBeNull()
    expect(reported[0]?.message).toContain('tenant table missing')
    await ownLogger.close()
  })

  it('reads the preflight headers of a request object that has none, or is null', async () => {
    const readsToo = createAuditCapture<unknown>({ logger, delivery: 'await', recordReads: true, tenant: () => 'capture-null-req' })
    const request = { method: 'OPTIONS', path: '/projects' }
    expect((await readsToo.begin(null, request)?.end({ status: 204 }))?.event).toMatchObject({ context: { method: 'OPTIONS' } })
    expect((await readsToo.begin({ headers: null }, request)?.end({ status: 204 }))?.event).toMatchObject({ context: { method: 'OPTIONS' } })
    expect((await readsToo.begin({ headers: 'x' }, request)?.end({ status: 204 }))?.event).toMatchObject({ context: { method: 'OPTIONS' } })
  })
})
