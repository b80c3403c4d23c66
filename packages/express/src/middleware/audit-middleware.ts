import {
  AuditKitError,
  DEFAULT_REQUEST_ID_HEADER,
  actorFromUser,
  createAuditCapture,
  createDetachedAuditContext,
  firstHeaderValue,
  holdEndUntilSettled,
  whenResponseClosed,
  type Actor,
  type AuditCaptureOptions,
  type AuditLogger,
  type AuditRequestContext,
  type CaptureHandle,
  type DeliveryMode,
  type RouteFacts,
} from '@auditkit/core'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { mountsSubApps, pathOnly, routeExistsFor, routeParamsOf, routePatternOf } from './route-pattern.js'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /**
       * The audit record of this request, set by `auditMiddleware`: override or enrich it
       * (`req.audit.set({ action, resource, targets, metadata })`, `.before(value)`, `.after(value)`,
       * `.addTarget(ref)`), record a read (`.force()`) or leave the request out (`.skip()`).
       */
      audit: AuditRequestContext
    }
  }
}

/** Core's capture options (`deriveOperation` among them), with what they mean in Express. */
export interface AuditMiddlewareOptions extends AuditCaptureOptions<Request> {
  /** The logger events are recorded through (`createAuditLogger({ store })`). Required. */
  logger: AuditLogger
  /**
   * Who made the request. Return `null`/`undefined` for the anonymous actor `{ type: 'user', id: 'anonymous' }`.
   * The default reads `req.user` (Passport and most auth middleware put the user there) with `actorFromUser`:
   * an object that already is an Actor (`{ type: 'user' | 'api_key' | 'system', id, name?, email? }`) is kept,
   * any other object with an `id` becomes `{ type: 'user', id, name, email }` (`name` from `name`, `displayName`
   * or `username`). Set `type: 'api_key'` on what your API-key authentication attaches, or supply this resolver.
   * Runs when the response is final; `facts` has the full route pattern and all its parameters.
   * @default (req) => actorFromUser(req.user)
   */
  actor?: (req: Request, facts: RouteFacts) => Actor | null | undefined | Promise<Actor | null | undefined>
  /**
   * The tenant (workspace, organisation) the request belongs to; each tenant has its own hash chain and every
   * admin query is scoped to one. Runs when the response is final; `facts.params` has every parameter of the full
   * route pattern, including a parent router's (`(req, { params }) => params.ws` works for
   * `app.use('/workspaces/:ws', router)` without `mergeParams`).
   * @default () => 'default'
   */
  tenant?: (req: Request, facts: RouteFacts) => string | undefined | Promise<string | undefined>
  /**
   * Record GET, HEAD and OPTIONS requests too, but not CORS preflights, which the browser sends by itself (a handler
   * can also record one read, or a preflight, with `req.audit.force()`).
   * @default false
   */
  recordReads?: boolean
  /**
   * `async` records after the response without delaying it. `await` holds the end of the response until the event
   * is durable in the store (at most the logger's `awaitTimeoutMs`; after that the response goes out and the event
   * stays queued).
   * @default 'async'
   */
  delivery?: DeliveryMode
  /**
   * Return true to leave a request out entirely (health checks). `req.audit` is still set, so handlers need no
   * checks, but nothing is recorded. Not the admin routes: `auditAdminRouter` already leaves its successful answers
   * out, and a refused admin change is recorded only through this middleware.
   * @default () => false
   */
  skip?: (req: Request) => boolean
  /**
   * The request header a request id is read from (case-insensitive), e.g. one set by your proxy.
   * @default 'x-request-id'
   */
  requestIdHeader?: string
}

const defaultActor = (req: Request): Actor | undefined => actorFromUser((req as { user?: unknown }).user)

/**
 * Records every mutating request as an audit event: who (actor), from where (IP, honouring Express's
 * `trust proxy` setting), what (action and resource from method + route pattern), the outcome (from the status)
 * and the request's user agent and id. Mount it before your routes: `app.use(auditMiddleware({ logger }))`.
 */
export function auditMiddleware(options: AuditMiddlewareOptions): RequestHandler {
  const { requestIdHeader: requestIdHeaderOption = DEFAULT_REQUEST_ID_HEADER, actor = defaultActor, ...captureOptions } = options
  const capture = createAuditCapture<Request>({ ...captureOptions, actor })
  const requestIdHeader = requestIdHeaderOption.toLowerCase()
  const holdUntilDurable = capture.delivery === 'await'

  return function auditKit(req: Request, res: Response, next: NextFunction): void {
    const handle = capture.begin(req, {
      method: req.method,
      path: pathOnly(req.originalUrl),
      ip: clientIpOf(req),
      userAgent: firstHeaderValue(req.headers['user-agent']),
      requestId: firstHeaderValue(req.headers[requestIdHeader]),
    })
    if (!handle) {
      req.audit = createDetachedAuditContext()
      next()
      return
    }
    req.audit = handle.context
    // The app this middleware runs in: a sub-app the request enters (and answers from) replaces `req.app`.
    const app = req.app
    // Reads are not recorded unless a handler forces them: until then they get no response listeners at all.
    handle.onRecordable(() => {
      // Only apps that mount sub-apps need to know which app routed the request (a property accessor on every request
      // would cost about 15 µs on Node 20).
      const routingApp = mountsSubApps(req.app) ? trackRoutingApp(req) : undefined
      // A read forced after its response ended cannot be held any more: holdEndUntilSettled records it once sent.
      if (holdUntilDurable) holdEndUntilRecorded(req, res, handle, capture.logger, app, routingApp)
      else recordWhenDone(req, res, handle, capture.logger, app, routingApp)
    })
    next()
  }
}

/**
 * `req.ip`, which honours the `trust proxy` setting. With the setting off (Express's default) that is the socket's
 * address, read here without parsing `X-Forwarded-For` only to discard it (a few µs of every recorded request).
 */
function clientIpOf(req: Request): string | undefined {
  return req.app.get('trust proxy') === false ? req.socket.remoteAddress : req.ip
}

/**
 * The app whose router set `req.route`. An error or `next()` leaving a sub-app (`app.use('/orgs/:org', orgApp)`) puts
 * `req.app` back to the parent, whose router stack does not reach into the sub-app: read from `req.app` at the end, a
 * failure answered by the main app's error handler would lose the mount pattern and its parameters (the tenant).
 */
function trackRoutingApp(req: Request): () => Request['app'] {
  let route: unknown = req.route
  let app = req.app
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set: (value: unknown) => {
      route = value
      app = req.app
    },
  })
  return () => app
}

function endOf(
  req: Request,
  res: Response,
  handle: CaptureHandle,
  aborted: boolean,
  logger: AuditLogger,
  app: Request['app'],
  routingApp: (() => Request['app']) | undefined,
): Promise<unknown> {
  let route: string | undefined
  let params: Record<string, string | undefined> | undefined
  // A route of the app answered, although it may have no pattern to record (a regular expression): its 404 is not an
  // unrouted one.
  const routed = req.route !== undefined
  let routeExists: boolean | undefined
  try {
    route = routePatternOf(req, routingApp?.() ?? req.app)
    params = routeParamsOf(req, route, pathOnly(req.originalUrl))
    // Refused before routing (401 from `app.use(auth)`, a body parser's 400 or 413): whether the app has the path decides
    // if core derives from it. Only such refusals pay for the walk (a 404 is unrouted already).
    const status = res.statusCode
    if (!routed && status >= 400 && status !== 404) routeExists = routeExistsFor(app, req.method, pathOnly(req.originalUrl))
  } catch (error) {
    // Reading Express internals (or what the app put in their place) must never crash the app: the event is still
    // recorded, from the path read when the request came in, and the failure is reported and counted.
    const reason = error instanceof Error ? error.message : String(error)
    logger.report(new AuditKitError('CAPTURE_FAILED', `could not read the route, its parameters or whether the app has one of a ${req.method} request; recorded with what was read: ${reason}`, { cause: error }))
  }
  // req.method as routed: a method override mounted after this middleware changes it.
  return handle.end({ status: res.statusCode, route, params, aborted, method: req.method, routed, ...(routeExists === undefined ? {} : { routeExists }) })
}

/** `async` delivery: record once the response is sent, or when the client went away before that. */
function recordWhenDone(req: Request, res: Response, handle: CaptureHandle, logger: AuditLogger, app: Request['app'], routingApp: (() => Request['app']) | undefined): void {
  whenResponseClosed(res, (aborted) => void endOf(req, res, handle, aborted, logger, app, routingApp))
}

/** `await` delivery: the real `res.end` runs only after the event is durable (bounded by `awaitTimeoutMs`). */
function holdEndUntilRecorded(req: Request, res: Response, handle: CaptureHandle, logger: AuditLogger, app: Request['app'], routingApp: (() => Request['app']) | undefined): void {
  holdEndUntilSettled(res, (aborted) => endOf(req, res, handle, aborted, logger, app, routingApp))
}
