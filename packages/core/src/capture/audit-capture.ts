import { AuditKitError, isAuditKitError } from '../errors.js'
import type { EventLimits } from '../event/limits.js'
import { ACTION_PATTERN, RESOURCE_TYPE_PATTERN } from '../event/schema.js'
import type { Actor, AuditEventInput, JsonObject, JsonValue, Outcome, ResourceRef } from '../event/schema.js'
import type { AuditLogger, DeliveryMode, RecordResult } from '../logger/audit-logger.js'
import { deriveOperation, type DerivedOperation } from './derive-action.js'
import { READ_METHODS, boundRequestContext, clip, decodedSegment, isCorsPreflight, normalizeIp, type HeaderSource } from './request-facts.js'
import { toJsonValue } from './to-json-value.js'

/**
 * The framework-neutral request an adapter hands to core at `begin()`.
 * Facts a framework only knows after routing (route pattern, params) may instead be given to `end()`.
 * Client-supplied strings are clipped to the event limits and IPv4-mapped IPv6 addresses are unwrapped by core,
 * so adapters pass the raw values.
 */
export interface CaptureRequest {
  method: string
  /** URL path without the query string. */
  path: string
  /** Matched route pattern, e.g. `/projects/:projectId` (the full pattern, including mounted prefixes); absent when no route matched. */
  route?: string | undefined
  /** Route parameters by name. */
  params?: Record<string, string | undefined>
  /** Client IP as the framework resolved it (socket address, or a trusted proxy's forwarded address). */
  ip?: string | undefined
  userAgent?: string | undefined
  /** Request id from the incoming header (see `DEFAULT_REQUEST_ID_HEADER`), if any. */
  requestId?: string | undefined
  /**
   * The request's headers, for adapters whose request object does not carry them as `req.headers` (Node's request,
   * which Express and NestJS hand over, or a Fetch `Request`): Hono's context. Only read for `OPTIONS` requests, to
   * tell a CORS preflight.
   */
  headers?: HeaderSource | undefined
}

/** How the request ended, as the adapter saw it. */
export interface CaptureResult {
  /** The final HTTP status sent (or about to be sent). */
  status: number
  /** An exception the handler threw, if any: recorded as a failure with its status (`statusOfError`, else 500). */
  error?: unknown
  /** The matched route pattern when only known after routing; wins over `CaptureRequest.route`. */
  route?: string | undefined
  /** Route parameters when only known after routing; win over `CaptureRequest.params`. */
  params?: Record<string, string | undefined>
  /**
   * A route of the app answered, although it has no pattern to record (an Express route whose path is a regular
   * expression): its 404 is the route's own (a resource not found), derived from the path as usual.
   * @default route !== undefined
   */
  routed?: boolean
  /**
   * Whether any route of the app takes this method and path, when no route answered: the adapter looked them up in
   * the app's routes. `false` (no route takes them) makes a failure (status >= 400) generic, as an unrouted 404 is: a
   * request refused before routing (authentication in `app.use`, a body parser's 400 or 413) on a path the app does
   * not have names nothing of the app. Left undefined when the adapter cannot tell; ignored when a route answered.
   * @default undefined
   */
  routeExists?: boolean
  /**
   * The method routing used, when the app may change it after the request came in (a method override such as a
   * form's `_method`); wins over `CaptureRequest.method` for the action and `context.method`.
   */
  method?: string | undefined
  /**
   * The request id the app settled on, when it may differ from the header read when the request came in (Hono's
   * `requestId()` generates one, or replaces a malformed one); wins over `CaptureRequest.requestId`.
   */
  requestId?: string | undefined
  /**
   * The connection closed before the response was complete. Whether the change happened is unknown, so the event is
   * recorded as a `failure` with `metadata.responseAborted = true`.
   */
  aborted?: boolean
}

/**
 * What routing decided, handed to the `tenant` and `actor` resolvers: `params` holds every parameter of the full
 * pattern, including those of parent routers a framework hides from the handler (`:ws` of a mounted router).
 */
export interface RouteFacts {
  method: string
  path: string
  /** The full route pattern, absent when no route matched. */
  route?: string | undefined
  params: Record<string, string | undefined>
}

/** What a handler may set on the event (`req.audit.set(...)`, `c.get('audit').set(...)`, `@Audit(...)`). */
export interface AuditOverrides {
  /**
   * The tenant the event belongs to; when set, the `tenant` resolver is not called.
   * @default the `tenant` option's answer, else 'default'
   */
  tenantId?: string
  /**
   * Who did it; when set, the `actor` resolver is not called.
   * @default the `actor` option's answer, else `ANONYMOUS_ACTOR`
   */
  actor?: Actor
  /**
   * The action, snake_case `<resource>_<past verb>` (e.g. `report_exported`).
   * @default derived from the method and route (`deriveOperation`), its prefix following `resource.type` when that is set
   */
  action?: string
  /**
   * The object acted on; the fields given replace those of the derived resource.
   * @default derived from the route (`deriveOperation`)
   */
  resource?: Partial<ResourceRef>
  /**
   * Further objects involved; replaces the derived targets (`addTarget()` adds to them instead).
   * @default derived from the route (`deriveOperation`)
   */
  targets?: ResourceRef[]
  /**
   * Whether the action succeeded.
   * @default 'failure' when the status is 400 or above (or the connection closed early), else 'success'
   */
  outcome?: Outcome
  /**
   * Free-form facts about the event, merged over earlier `set()` calls; recorded as `JSON.stringify` would write it
   * (see {@link AuditRequestContext.before}).
   * @default undefined (no metadata)
   */
  metadata?: Record<string, unknown>
  /**
   * The values before and after the change, merged over earlier `set()` calls; recorded as `JSON.stringify` would
   * write them (see {@link AuditRequestContext.before}).
   * @default undefined (no changes)
   */
  changes?: { before?: unknown; after?: unknown }
}

/** The per-request handle exposed to handlers. */
export interface AuditRequestContext {
  /** Merges overrides into the event; later calls win, `metadata` and `changes` are merged. */
  set(overrides: AuditOverrides): this
  /**
   * The value before the change (redacted before it is stored). Any value: it is recorded as `JSON.stringify` would
   * write it, so a `Date` becomes its ISO string, an ORM entity its own properties, and `undefined` fields are left out.
   */
  before(value: unknown): this
  /** The value after the change (redacted before it is stored), recorded as {@link AuditRequestContext.before} says. */
  after(value: unknown): this
  /** Adds a further object involved (member invited, reviewer added, ...). */
  addTarget(target: ResourceRef): this
  /** Do not record this request. */
  skip(): this
  /** Record this request even if it is a read. */
  force(): this
  readonly skipped: boolean
}

export interface AuditCaptureOptions<Req> {
  /** The logger events are recorded through. Required. */
  logger: AuditLogger
  /**
   * The tenant (workspace) a request belongs to.
   * @default () => 'default'
   */
  tenant?: (req: Req, facts: RouteFacts) => string | undefined | Promise<string | undefined>
  /**
   * Who made the request; `null`/`undefined` records an anonymous user. Adapters default to `req.user`.
   * @default adapter-specific
   */
  actor?: (req: Req, facts: RouteFacts) => Actor | null | undefined | Promise<Actor | null | undefined>
  /**
   * Record GET, HEAD and OPTIONS requests too. CORS preflights (`OPTIONS` with `Origin` and
   * `Access-Control-Request-Method`) are still left out, unless a handler calls `force()`: the browser sends them by
   * itself, without credentials, so they are no user's action.
   * @default false
   */
  recordReads?: boolean
  /**
   * `async` records after the response without delaying it; `await` holds the response until the event is durable
   * (at most the logger's `awaitTimeoutMs`, after which the response goes out and the event stays queued).
   * @default 'async'
   */
  delivery?: DeliveryMode
  /**
   * Return true to leave a request out entirely (health checks). Not the admin routes: their mounts already leave
   * their successful answers out, and a refused admin change is recorded only through this middleware.
   * @default () => false
   */
  skip?: (req: Req) => boolean
  /**
   * Replaces the derived action/resource for a request.
   * @default deriveOperation
   */
  deriveOperation?: typeof deriveOperation
}

/** The anonymous actor of requests without credentials (401s are recorded too). */
export const ANONYMOUS_ACTOR: Actor = { type: 'user', id: 'anonymous' }

/**
 * One capture per mounted middleware / interceptor. Usage by an adapter:
 *
 * ```ts
 * const capture = createAuditCapture<FrameworkRequest>({ logger, actor, tenant, recordReads, delivery, skip })
 * // when a request arrives:
 * const handle = capture.begin(req, { method, path, ip, userAgent, requestId })
 * if (handle) expose(handle.context) // req.audit, c.get('audit'), ...
 * // only for requests that are recorded (reads are not, unless forced):
 * handle.onRecordable(() => {
 *   // when the response is final (in `await` delivery: before releasing it):
 *   onResponseDone(() => handle.end({ status, route, params, error }))
 * })
 * ```
 */
export interface AuditCapture<Req> {
  /** Starts capturing one request; returns null when the request is skipped up front (the `skip` option). */
  begin(req: Req, request: CaptureRequest): CaptureHandle | null
  readonly delivery: DeliveryMode
  readonly logger: AuditLogger
}

export interface CaptureHandle {
  /** What handlers use; adapters expose it as `req.audit` / `c.get('audit')`. */
  readonly context: AuditRequestContext
  /**
   * Calls `listener` once the request is to be recorded: at once for a mutating request (or any request with
   * `recordReads`), else when something calls `context.force()`. Adapters attach their response listeners there, so that a
   * read, which is not recorded, costs next to nothing. A handler forcing a read in `await` delivery must do it before
   * it responds for the response to be held.
   */
  onRecordable(listener: () => void): void
  /**
   * Builds and records the event; resolves with null when nothing is recorded (a read, or skipped by the handler).
   * In `await` delivery resolves once durable (or the logger's `awaitTimeoutMs` passed); never rejects: failures go
   * to the logger's `onError` and counters. Only the first call records; later calls resolve with the first result.
   */
  end(result: CaptureResult): Promise<RecordResult | null>
}

class RequestContext implements AuditRequestContext {
  overrides: AuditOverrides = {}
  extraTargets: ResourceRef[] = []
  isSkipped = false
  isForced = false
  /** The adapter's `onRecordable` listener, waiting for `force()` on a request not recorded by default. */
  whenForced: (() => void) | undefined = undefined

  set(overrides: AuditOverrides): this {
    const { metadata, changes, ...rest } = overrides
    Object.assign(this.overrides, rest)
    if (metadata) this.overrides.metadata = { ...this.overrides.metadata, ...metadata }
    if (changes) this.overrides.changes = { ...this.overrides.changes, ...changes }
    return this
  }
  before(value: unknown): this {
    return this.set({ changes: { before: value } })
  }
  after(value: unknown): this {
    return this.set({ changes: { after: value } })
  }
  addTarget(target: ResourceRef): this {
    this.extraTargets.push(target)
    return this
  }
  skip(): this {
    this.isSkipped = true
    return this
  }
  force(): this {
    this.isForced = true
    const listener = this.whenForced
    this.whenForced = undefined
    listener?.()
    return this
  }
  get skipped(): boolean {
    return this.isSkipped
  }
}

/**
 * A request context that records nothing, for requests the capture skipped up front (the `skip` option):
 * adapters still expose it so that handler code calling `req.audit.set(...)` works on every request.
 */
export function createDetachedAuditContext(): AuditRequestContext {
  return new RequestContext().skip()
}

/** Status of a thrown error, when it carries one (HttpException, http-errors, HTTPException). */
export function statusOfError(error: unknown): number | undefined {
  if (error && typeof error === 'object') {
    const candidate = error as { status?: unknown; statusCode?: unknown; getStatus?: unknown }
    if (typeof candidate.getStatus === 'function') {
      const status: unknown = (candidate.getStatus as () => unknown)()
      if (typeof status === 'number') return status
    }
    for (const value of [candidate.status, candidate.statusCode])
      if (typeof value === 'number' && value >= 400 && value <= 599) return value
  }
  return undefined
}

/**
 * The behaviour every adapter shares: which requests are recorded, how the event is built from the request
 * and the handler's overrides, and how it is delivered. Adapters only translate.
 */
export function createAuditCapture<Req>(options: AuditCaptureOptions<Req>): AuditCapture<Req> {
  const { logger } = options
  const delivery = options.delivery ?? 'async'
  if (delivery !== 'async' && delivery !== 'await')
    throw new AuditKitError('INVALID_OPTIONS', `delivery must be 'async' or 'await', got ${String(delivery)}`)
  // Request facts are clipped to the logger's own bounds: clipped to larger ones, a long user agent would make the
  // whole event invalid and the request unaudited.
  const limits = logger.limits
  const derive = options.deriveOperation ? uncachedDerive(options.deriveOperation, limits) : createCachedDerive(limits)
  const customDerive = options.deriveOperation !== undefined
  const recordReads = options.recordReads ?? false

  return {
    delivery,
    logger,
    begin(req, request) {
      if (isSkippedUpFront(req)) return null
      const context = new RequestContext()
      const recordedByDefault = READ_METHODS.has(request.method.toUpperCase())
        ? recordReads && !isCorsPreflight(request.method, request.headers ?? headersOf(req))
        : true
      let ended: Promise<RecordResult | null> | null = null
      return {
        context,
        onRecordable(listener) {
          if (recordedByDefault || context.isForced) {
            listener()
            return
          }
          const earlier = context.whenForced
          context.whenForced = earlier
            ? () => {
                earlier()
                listener()
              }
            : listener
        },
        end(result) {
          ended ??= recordedByDefault || context.isForced ? record(req, request, result, context) : Promise.resolve(null)
          return ended
        },
      }
    },
  }

  function isSkippedUpFront(req: Req): boolean {
    if (!options.skip) return false
    try {
      return options.skip(req)
    } catch (error) {
      logger.report(captureFailure(`the skip option threw; the request is recorded: ${messageOf(error)}`, error))
      return false
    }
  }

  /** Never rejects: a failure is reported (resolvers here, the pipeline by `logger.record` itself) and answers null. */
  function record(req: Req, request: CaptureRequest, result: CaptureResult, context: RequestContext): Promise<RecordResult | null> {
    if (context.isSkipped) return NOTHING_RECORDED
    // Synchronous resolvers (the usual case) build and queue the event without a promise of ours: on a busy API each
    // async step costs every request.
    try {
      const event = buildEvent(req, request, result, context)
      if (isPromise(event)) return event.then((built) => logger.record(built, { delivery })).catch(notRecorded)
      return logger.record(event, { delivery }).catch(notRecorded)
    } catch (error) {
      return Promise.resolve(notRecorded(error))
    }
  }

  function notRecorded(error: unknown): null {
    // record() already reported its own errors; resolvers that throw are reported here.
    if (!isAuditKitError(error))
      logger.report(captureFailure(`the request's event could not be built (a tenant or actor option threw): ${messageOf(error)}`, error))
    return null
  }

  /**
   * Values of route parameters that name a secret under the logger's redaction (`/invitations/:token/accept`,
   * `/password-resets/:resetToken`), null when there are none (the usual case). A parameter naming an id of a secret
   * (`:tokenId`, `:apiKeyId`) identifies it and is kept. The resolvers still get every parameter as routed.
   */
  function secretParamValues(params: Record<string, string | undefined>): string[] | null {
    let values: string[] | null = null
    for (const name in params) {
      const value = params[name]
      if (!value || /ids?$/i.test(name) || !logger.redaction.isSecretKey(name)) continue
      // The derived id is clipped to the id bound: a long token would otherwise keep its first part.
      ;(values ??= []).push(value, clip(value, limits.maxIdLength) as string)
    }
    return values
  }

  function withoutSecrets(derived: DerivedOperation, secrets: readonly string[]): DerivedOperation {
    const hide = (ref: ResourceRef): ResourceRef =>
      ref.id !== undefined && secrets.includes(ref.id) ? { ...ref, id: logger.redaction.replacement } : ref
    return { action: derived.action, resource: hide(derived.resource), targets: derived.targets.map(hide) }
  }

  /**
   * The path with secret parameter values replaced: whole segments (`/invitations/:token`), and values inside a
   * segment (`/invite-:token`, `/reset/:token.json`). Inside a segment only values of 6 characters or more are
   * looked for, so that a short value cannot blank out unrelated parts of the path.
   */
  function pathWithoutSecrets(path: string, secrets: readonly string[]): string {
    const { replacement } = logger.redaction
    return path
      .split('/')
      .map((segment) => {
        const decoded = decodedSegment(segment)
        if (secrets.includes(segment) || secrets.includes(decoded)) return replacement
        let kept = segment
        for (const secret of secrets) {
          if (secret.length < 6) continue
          if (segment.includes(secret)) kept = kept.replaceAll(secret, replacement)
          else if (decoded.includes(secret)) return replacement // sent percent-encoded: the whole segment goes
        }
        return kept
      })
      .join('/')
  }

  /** `before`/`after` as JSON would write them (`undefined` sides left out): see `toJsonValue`. */
  function jsonChanges(changes: { before?: unknown; after?: unknown }): { before?: JsonValue; after?: JsonValue } {
    const out: { before?: JsonValue; after?: JsonValue } = {}
    if (changes.before !== undefined) out.before = toJsonValue(changes.before, limits) as JsonValue
    if (changes.after !== undefined) out.after = toJsonValue(changes.after, limits) as JsonValue
    return out
  }

  /** The event, or a promise of it when the tenant or actor resolver answers with one (awaited in that order). */
  function buildEvent(req: Req, request: CaptureRequest, result: CaptureResult, context: RequestContext): AuditEventInput | Promise<AuditEventInput> {
    const o = context.overrides
    const route = result.route ?? request.route
    const params = result.params ?? request.params
    const method = (result.method ?? request.method).toUpperCase()
    const secrets = route === undefined || params === undefined ? null : secretParamValues(params)
    const errorStatus = result.error === undefined ? undefined : (statusOfError(result.error) ?? 500)
    const answered = errorStatus ?? result.status
    // A status no HTTP answer has (Hono's `Response.error()` answers 0) is recorded as 500, and so judged a failure.
    const status = Number.isInteger(answered) && answered >= 100 && answered <= 599 ? answered : 500
    // A 404 no route answered names nothing of the app: its path is the client's invention, and deriving from it would
    // let anyone add action names and resource types to the log's filter menus. Nor does a refusal before routing (401,
    // 400, 413) on a path the adapter found no route for. Its path stays in the context. A success a plain middleware
    // answered (a proxy) is the app's own, and a refusal on a path the app has keeps its derivation.
    const unrouted = route === undefined && result.routed !== true && !customDerive
    const operation =
      unrouted && (status === 404 || (result.routeExists === false && status >= 400))
        ? methodOperation(method)
        : derive({ method, path: request.path, route, params })
    const derived = secrets === null ? operation : withoutSecrets(operation, secrets)
    const facts: RouteFacts = { method, path: request.path, route, params: params ?? {} }
    const resolveActor = (): Actor | null | undefined | Promise<Actor | null | undefined> => (o.actor === undefined ? options.actor?.(req, facts) : o.actor)
    const eventWith = (tenantAnswer: string | undefined, actorAnswer: Actor | null | undefined): AuditEventInput => {
      const tenantId = tenantAnswer ?? 'default'
      const actor = actorAnswer ?? ANONYMOUS_ACTOR
      // Spreads here although Object.assign is faster on Node 20: the override is the handler's, perhaps parsed from a
      // request, and a spread copies an own `__proto__` key as data where Object.assign would set the prototype.
      const resource: ResourceRef = o.resource ? ({ ...derived.resource, ...stripUndefined(o.resource) } as ResourceRef) : derived.resource
      const baseTargets = o.targets ?? derived.targets
      const targets = context.extraTargets.length === 0 ? baseTargets : [...baseTargets, ...context.extraTargets]
      const requestContext = boundRequestContext(
        {
          method,
          path: secrets === null ? request.path : pathWithoutSecrets(request.path, secrets),
          status,
          ip: normalizeIp(request.ip),
          userAgent: request.userAgent,
          route,
          requestId: result.requestId ?? request.requestId,
        },
        limits,
      )
      const event: AuditEventInput = {
        tenantId,
        actor,
        action: o.action ?? actionForType(derived, o.resource?.type),
        resource,
        outcome: o.outcome ?? (result.aborted || status >= 400 ? 'failure' : 'success'),
        context: requestContext,
      }
      if (targets.length > 0) event.targets = targets
      if (o.changes && (o.changes.before !== undefined || o.changes.after !== undefined)) event.changes = jsonChanges(o.changes)
      if (o.metadata) event.metadata = toJsonValue(o.metadata, limits) as JsonObject
      if (result.aborted) event.metadata = { ...event.metadata, responseAborted: true }
      return event
    }
    const tenantAnswer = o.tenantId === undefined ? options.tenant?.(req, facts) : o.tenantId
    if (isPromise(tenantAnswer))
      return tenantAnswer.then((tenantId) => {
        const actorAnswer = resolveActor()
        return isPromise(actorAnswer) ? actorAnswer.then((actor) => eventWith(tenantId, actor)) : eventWith(tenantId, actorAnswer)
      })
    const actorAnswer = resolveActor()
    if (isPromise(actorAnswer)) return actorAnswer.then((actor) => eventWith(tenantAnswer, actor))
    return eventWith(tenantAnswer, actorAnswer)
  }
}

type DeriveInput = Parameters<typeof deriveOperation>[0]

const NOTHING_RECORDED: Promise<null> = Promise.resolve(null)

/**
 * The derived action for the resource type a handler set without an action: `thing_archived` of
 * `/things/:id/archive` becomes `project_archived` when the handler says the resource is a `project`, so that action
 * and resource agree (and a filter by `project_archived` finds it).
 */
function actionForType(derived: DerivedOperation, type: string | undefined): string {
  const prefix = `${derived.resource.type}_`
  if (type === undefined || type === derived.resource.type || !derived.action.startsWith(prefix)) return derived.action
  const action = `${type}_${derived.action.slice(prefix.length)}`
  return ACTION_PATTERN.test(action) && action.length <= 128 ? action : derived.action
}

/** The headers the request object carries: Node's `req.headers` (Express, NestJS on Express or Fastify), a Fetch `Request`'s. */
function headersOf(req: unknown): HeaderSource | undefined {
  const headers = (req as { headers?: unknown } | null | undefined)?.headers
  return typeof headers === 'object' && headers !== null ? (headers as HeaderSource) : undefined
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function'
}

function uncachedDerive(derive: typeof deriveOperation, limits: EventLimits): (input: DeriveInput & { method: string }) => DerivedOperation {
  return (input) => safeDerived(derive(input), input.method, limits)
}

const methodOperations = new Map<string, DerivedOperation>()

/**
 * A request's operation by its method alone, `resource_created` on `{ type: 'resource' }`: for a request no route
 * answered, and in place of a derivation that gave no valid action.
 */
function methodOperation(method: string): DerivedOperation {
  let operation = methodOperations.get(method)
  if (!operation) {
    operation = deriveOperation({ method, path: '/resources' })
    // Bounded: methods are a handful, but a client may send any token as one.
    if (methodOperations.size < 64) methodOperations.set(method, operation)
  }
  return operation
}

const PLACEHOLDER = '\u0000'
const PARAM_NAME = /:([A-Za-z0-9_$]+)/g

/**
 * The default derivation, once per (method, route pattern): the pattern is derived with placeholder parameter
 * values, and each request only fills in its own values. Unmatched routes (no pattern) are derived each time.
 */
function createCachedDerive(limits: EventLimits): (input: DeriveInput & { method: string }) => DerivedOperation {
  const templates = new Map<string, DerivedOperation>()
  return (input) => {
    const { method, route, params = {} } = input
    if (route === undefined) return safeDerived(deriveOperation(input), method, limits)
    const key = `${method} ${route}`
    let template = templates.get(key)
    if (!template) {
      const placeholders: Record<string, string> = {}
      for (const match of route.matchAll(PARAM_NAME)) if (match[1]) placeholders[match[1]] = `${PLACEHOLDER}${match[1]}`
      template = safeDerived(deriveOperation({ method, path: route, route, params: placeholders }), method, limits)
      // Bounded: patterns are finite in an app, but a misbehaving adapter must not grow memory without end.
      if (templates.size < 5000) templates.set(key, template)
    }
    let complete = true
    const fill = (ref: ResourceRef): ResourceRef => {
      if (ref.id === undefined || !ref.id.startsWith(PLACEHOLDER)) return ref
      const value = params[ref.id.slice(1)]
      if (value === undefined || value === '') complete = false
      // Object.assign, not a spread with an extra key, which Node 20 runs several times slower (bench:capture).
      return Object.assign({}, ref, { id: clip(value, limits.maxIdLength) })
    }
    const resource = fill(template.resource)
    const targets = template.targets.map(fill)
    // A parameter without a value (optional segments) can change the verb: derive this request on its own.
    if (!complete) return safeDerived(deriveOperation(input), method, limits)
    return { action: template.action, resource, targets }
  }
}

/**
 * Keeps a derived operation valid whatever the client sent: ids from the URL are clipped to the id limit, and a
 * path that yields no valid resource type (`/123`, unmatched routes) falls back to the generic `resource`.
 */
function safeDerived(derived: DerivedOperation, method: string, limits: EventLimits): DerivedOperation {
  const fix = (ref: ResourceRef): ResourceRef => {
    const type = RESOURCE_TYPE_PATTERN.test(ref.type) ? ref.type : 'resource'
    const fixed: ResourceRef = { type }
    if (ref.id !== undefined && ref.id !== '') fixed.id = clip(ref.id, limits.maxIdLength)
    if (ref.name !== undefined) fixed.name = clip(ref.name, limits.maxTextLength)
    return fixed
  }
  const resource = fix(derived.resource)
  const targets = derived.targets.slice(0, limits.maxTargets).map(fix)
  const action =
    ACTION_PATTERN.test(derived.action) && derived.action.length <= 128 && resource.type === derived.resource.type
      ? derived.action
      : methodOperation(method).action
  return { action, resource, targets }
}

function captureFailure(message: string, cause: unknown): AuditKitError {
  return new AuditKitError('CAPTURE_FAILED', message, { cause })
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}
