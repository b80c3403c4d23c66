import { AuditKitError, isAuditKitError } from '../errors.js'
import type { Actor, AuditEventInput, JsonObject, JsonValue, Outcome, ResourceRef } from '../event/schema.js'
import type { AuditLogger, DeliveryMode, RecordResult } from '../logger/audit-logger.js'
import { deriveOperation } from './derive-action.js'

/** The framework-neutral request an adapter hands to core. */
export interface CaptureRequest {
  method: string
  /** URL path without the query string. */
  path: string
  /** Matched route pattern, e.g. `/projects/:projectId`; absent when no route matched. */
  route?: string | undefined
  /** Route parameters by name. */
  params?: Record<string, string | undefined>
  /** Client IP as the framework resolved it (socket address, or a trusted proxy's forwarded address). */
  ip?: string | undefined
  userAgent?: string | undefined
  /** Request id from the incoming header (see `requestIdHeader`), if any. */
  requestId?: string | undefined
}

/** How the request ended, as the adapter saw it. */
export interface CaptureResult {
  status: number
  /** An exception the handler threw, if any (recorded as a failure). */
  error?: unknown
}

/** What a handler may set on the event (`req.audit.set(...)`, `c.get('audit').set(...)`, `@Audit(...)`). */
export interface AuditOverrides {
  tenantId?: string
  actor?: Actor
  action?: string
  resource?: Partial<ResourceRef>
  targets?: ResourceRef[]
  outcome?: Outcome
  metadata?: JsonObject
  changes?: { before?: JsonValue; after?: JsonValue }
}

/** The per-request handle exposed to handlers. */
export interface AuditRequestContext {
  /** Merges overrides into the event; later calls win, `metadata` and `changes` are merged. */
  set(overrides: AuditOverrides): this
  /** The value before the change (redacted before it is stored). */
  before(value: JsonValue): this
  /** The value after the change (redacted before it is stored). */
  after(value: JsonValue): this
  /** Adds a further object involved (member invited, reviewer added, ...). */
  addTarget(target: ResourceRef): this
  /** Do not record this request. */
  skip(): this
  /** Record this request even if it is a read. */
  force(): this
  readonly skipped: boolean
}

export interface AuditCaptureOptions<Req> {
  /** The logger events are recorded through. */
  logger: AuditLogger
  /**
   * The tenant (workspace) a request belongs to.
   * @default () => 'default'
   */
  tenant?: (req: Req) => string | undefined | Promise<string | undefined>
  /**
   * Who made the request; `null`/`undefined` records an anonymous user. Adapters default to `req.user`.
   * @default adapter-specific
   */
  actor?: (req: Req) => Actor | null | undefined | Promise<Actor | null | undefined>
  /**
   * Record GET, HEAD and OPTIONS requests too.
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
   * Return true to leave a request out entirely (health checks, the admin routes themselves).
   * @default () => false
   */
  skip?: (req: Req) => boolean
  /**
   * Replaces the derived action/resource for a request.
   * @default deriveOperation
   */
  deriveOperation?: typeof deriveOperation
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** The anonymous actor of requests without credentials (401s are recorded too). */
export const ANONYMOUS_ACTOR: Actor = { type: 'user', id: 'anonymous' }

export interface AuditCapture<Req> {
  /** Starts capturing one request; returns null when the request is skipped up front (e.g. `skip`). */
  begin(req: Req, request: CaptureRequest): CaptureHandle | null
  readonly delivery: DeliveryMode
  readonly logger: AuditLogger
}

export interface CaptureHandle {
  /** What handlers use; adapters expose it as `req.audit` / `c.get('audit')`. */
  readonly context: AuditRequestContext
  /**
   * Builds and records the event. In `await` delivery resolves once durable (or the timeout passed);
   * never rejects: failures go to the logger's `onError` and counters.
   */
  end(result: CaptureResult): Promise<RecordResult | null>
}

class RequestContext implements AuditRequestContext {
  overrides: AuditOverrides = {}
  extraTargets: ResourceRef[] = []
  isSkipped = false
  isForced = false

  set(overrides: AuditOverrides): this {
    const { metadata, changes, ...rest } = overrides
    Object.assign(this.overrides, rest)
    if (metadata) this.overrides.metadata = { ...this.overrides.metadata, ...metadata }
    if (changes) this.overrides.changes = { ...this.overrides.changes, ...changes }
    return this
  }
  before(value: JsonValue): this {
    return this.set({ changes: { before: value } })
  }
  after(value: JsonValue): this {
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
    return this
  }
  get skipped(): boolean {
    return this.isSkipped
  }
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
  const derive = options.deriveOperation ?? deriveOperation
  const recordReads = options.recordReads ?? false

  return {
    delivery,
    logger,
    begin(req, request) {
      if (options.skip?.(req)) return null
      const context = new RequestContext()
      return {
        context,
        async end(result) {
          if (context.isSkipped) return null
          if (READ_METHODS.has(request.method.toUpperCase()) && !recordReads && !context.isForced) return null
          try {
            const event = await buildEvent(req, request, result, context)
            return await logger.record(event, { delivery })
          } catch (error) {
            // record() already reported its own errors; resolvers that throw are reported here.
            if (!isAuditKitError(error)) {
              console.error(`[auditkit] could not build the audit event: ${error instanceof Error ? error.message : String(error)}`)
            }
            return null
          }
        },
      }
    },
  }

  async function buildEvent(req: Req, request: CaptureRequest, result: CaptureResult, context: RequestContext): Promise<AuditEventInput> {
    const o = context.overrides
    const derived = derive({ method: request.method, path: request.path, route: request.route, params: request.params })
    const errorStatus = result.error === undefined ? undefined : (statusOfError(result.error) ?? 500)
    const status = errorStatus ?? result.status
    const tenantId = o.tenantId ?? (await options.tenant?.(req)) ?? 'default'
    const actor = o.actor ?? (await options.actor?.(req)) ?? ANONYMOUS_ACTOR
    const resource: ResourceRef = { ...derived.resource, ...stripUndefined(o.resource ?? {}) } as ResourceRef
    const targets = [...(o.targets ?? derived.targets), ...context.extraTargets]
    const event: AuditEventInput = {
      tenantId,
      actor,
      action: o.action ?? derived.action,
      resource,
      outcome: o.outcome ?? (status >= 400 ? 'failure' : 'success'),
      context: stripUndefined({
        ip: request.ip,
        userAgent: request.userAgent,
        method: request.method.toUpperCase(),
        path: request.path,
        route: request.route,
        status,
        requestId: request.requestId,
      }),
    }
    if (targets.length > 0) event.targets = targets
    if (o.changes && (o.changes.before !== undefined || o.changes.after !== undefined)) event.changes = stripUndefined(o.changes)
    if (o.metadata) event.metadata = o.metadata
    return event
  }
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}
