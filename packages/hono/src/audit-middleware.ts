import {
  actorFromUser,
  clientLeft,
  compileTrustProxy,
  createAuditCapture,
  createDetachedAuditContext,
  DEFAULT_REQUEST_ID_HEADER,
  holdEndUntilSettled,
  resolveClientIp,
  whenResponseClosed,
  type Actor,
  type AuditCaptureOptions,
  type AuditRequestContext,
  type CaptureHandle,
  type CaptureResult,
  type HoldableResponse,
  type TrustProxy,
} from '@auditkit/core'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { Context, Env, MiddlewareHandler } from 'hono'
import { matchedRoutes, routePath } from 'hono/route'
import { METHOD_NAME_ALL } from 'hono/router'
import type { RouterRoute } from 'hono/types'
import { COMPOSED_HANDLER } from 'hono/utils/constants'

declare module 'hono' {
  interface ContextVariableMap {
    /** This request's audit event: `c.get('audit').set({...})`, `.before()`, `.after()`, `.skip()`. */
    audit: AuditRequestContext
  }
}

/** Typed by the app's `Env`, so resolvers read its variables: `new Hono<{ Variables: { user: User } }>()`. */
export interface AuditMiddlewareOptions<E extends Env = Env> extends Omit<AuditCaptureOptions<Context<E>>, 'actor'> {
  /**
   * Who made the request; `null`/`undefined` records an anonymous user.
   * @default `c.get('user')` mapped by core's `actorFromUser` (`{ id, name?, email?, type? }`), as set by the app's auth middleware
   */
  actor?: AuditCaptureOptions<Context<E>>['actor']
  /**
   * Which proxies may set `X-Forwarded-For` (same meaning as Express's `trust proxy`). Without it the client IP is
   * the socket address, so a client cannot forge its IP.
   * @default false
   */
  trustProxy?: TrustProxy
  /**
   * Header carrying the request id recorded in `context.requestId`.
   * @default 'x-request-id'
   */
  requestIdHeader?: string
}

/**
 * Records every mutating request as an audit event. Mount it before the routes (`app.use(auditMiddleware({ logger }))`).
 * Handlers enrich the event through `c.get('audit')`.
 */
export function auditMiddleware<E extends Env = Env>(options: AuditMiddlewareOptions<E>): MiddlewareHandler<E> {
  const { trustProxy, requestIdHeader = DEFAULT_REQUEST_ID_HEADER, actor = actorFromContext, ...captureOptions } = options
  const isTrusted = compileTrustProxy(trustProxy)
  const capture = createAuditCapture<Context<E>>({ ...captureOptions, actor })

  return async function audit(c, next) {
    const handle = capture.begin(c, {
      method: c.req.method,
      path: rawPathOf(c.req.url),
      ip: resolveClientIp({ socketIp: socketAddress(c), forwardedFor: c.req.header('x-forwarded-for') }, isTrusted),
      userAgent: c.req.header('user-agent'),
      requestId: c.req.header(requestIdHeader),
      // The context has no Node-style `headers`: core reads these to tell a CORS preflight.
      headers: c.req.raw.headers,
    })
    // A request skipped up front still gets a context, so handler code calling c.get('audit') works everywhere.
    c.set('audit', handle?.context ?? createDetachedAuditContext())
    if (!handle) return next()
    supersedeOuterCapture(c, handle)
    const ownPattern = routePath(c)
    let answered = false
    // The chain returned no Response (a handler or middleware without `return`): see statusUnanswered().
    let unanswered = false
    // Reads are not recorded unless a handler forces them: until then nothing more is read from the request. One
    // forced after the response was returned (from a timer, say) is recorded at once, with what was answered.
    let recordable = false
    handle.onRecordable(() => {
      recordable = true
      if (answered) void handle.end(resultOf(c, ownPattern, leftEarly(c), unanswered ? statusUnanswered(c) : undefined))
    })
    try {
      await next()
    } catch (error) {
      // What Hono's error handling lets through (a thrown non-Error, an onError that throws) is answered by the server
      // itself, with a 500 on node-server: recorded as that, not lost.
      answered = true
      if (recordable) {
        const ended = handle.end(resultOf(c, ownPattern, leftEarly(c), 500))
        if (capture.delivery === 'await') await ended
      }
      throw error
    }
    answered = true
    unanswered = !c.finalized
    if (!recordable) return
    const outgoing = nodeResponseOf(c)
    if (capture.delivery === 'await') {
      // Unanswered, the answer is only made after this returns: on node-server its end is held instead, until the
      // event recording the status it was given is durable.
      if (unanswered && outgoing !== undefined)
        holdEndUntilSettled(outgoing, (aborted) => handle.end(resultOf(c, ownPattern, aborted, statusUnanswered(c))))
      else await handle.end(resultOf(c, ownPattern, leftEarly(c), unanswered ? statusUnanswered(c) : undefined))
      return
    }
    // The response is only written once this returns, and a streamed body (stream(), streamSSE(), a ReadableStream)
    // long after: on node-server the event is recorded once the response is closed, as in the other adapters, so
    // what the stream callback sets is kept and a client that leaves mid-stream is recorded as such.
    if (outgoing === undefined) void handle.end(resultOf(c, ownPattern, c.req.raw.signal.aborted, unanswered ? 500 : undefined))
    else whenResponseClosed(outgoing, (aborted) => void handle.end(resultOf(c, ownPattern, aborted, unanswered ? statusUnanswered(c) : undefined)))
  }
}

/** node-server's `ServerResponse` (`c.env.outgoing`), absent on other runtimes and in `app.request()`. */
function nodeResponseOf<E extends Env>(c: Context<E>): HoldableResponse | undefined {
  const outgoing = (c.env as { outgoing?: Partial<HoldableResponse> } | undefined)?.outgoing
  return typeof outgoing?.on === 'function' ? (outgoing as HoldableResponse) : undefined
}

/**
 * What the client got when the chain returned no Response (a handler or middleware without `return`, an async one
 * resolving undefined). `c.res` is then an unused default 200: Hono itself answers after the middleware returns, by
 * handing "Context is not finalized" to app.onError (a 500 from its default one), so on node-server the status is
 * the one written. Elsewhere, or when nothing was written (the client left first), the 500 Hono's default answers.
 */
function statusUnanswered<E extends Env>(c: Context<E>): number {
  const outgoing = nodeResponseOf(c)
  return outgoing?.headersSent ? outgoing.statusCode : 500
}

/**
 * What the client got. Called after next(), when the route index points at the handler that answered: its pattern
 * and params are known only then. Still the middleware's own pattern, or another middleware's (`app.use('/api/*',
 * jwt(...))` refusing, or the last middleware before a 404): no route matched, and the event is derived from the
 * path as in the other adapters, unless no route takes the method and path (`routeExists`: Hono matches every handler
 * of the request up front, so a route a middleware refused before is among them). Errors were answered by app.onError
 * already: its status is what the client got.
 */
function resultOf<E extends Env>(c: Context<E>, ownPattern: string, aborted: boolean, status = c.res.status): CaptureResult {
  const route = routePath(c)
  const routes = matchedRoutes(c)
  const matched = route !== ownPattern && !isMiddleware(routes[c.req.routeIndex])
  if (matched) return { status, route, params: c.req.param(), aborted, requestId: requestIdOfApp(c) }
  return { status, route: undefined, params: undefined, aborted, requestId: requestIdOfApp(c), routeExists: routes.some((r) => !isMiddleware(r)) }
}

/**
 * Hono's `requestId()` middleware replaces a missing or malformed incoming id with one it generates, and the app logs
 * and answers that one (`c.get('requestId')`, the `X-Request-Id` response header): the event records it too. Read when
 * the request is recorded, as `requestId()` may run after this middleware.
 */
function requestIdOfApp<E extends Env>(c: Context<E>): string | undefined {
  const id = (c.get as (key: string) => unknown)('requestId')
  return typeof id === 'string' ? id : undefined
}

/**
 * The client left before the answer, recorded as the other adapters do (a failure marked responseAborted). On
 * node-server, from its `ServerResponse`: the request's `signal` says the same, but reading it costs an
 * AbortController a request there. Elsewhere, from the signal.
 */
function leftEarly<E extends Env>(c: Context<E>): boolean {
  const outgoing = nodeResponseOf(c)
  return outgoing === undefined ? c.req.raw.signal.aborted : clientLeft(outgoing)
}

/**
 * `app.use()` registers middleware for every method, as `(c, next)`; route handlers take only `c` (the distinction
 * hono/route's own documentation draws). Route-level middleware (`app.post(path, validator, handler)`) shares its
 * route's method and pattern, so its pattern is kept. `app.route()` wraps each handler of a sub-app with its own
 * `onError` in a `(c, next)` function: the handler the app registered is the one under `COMPOSED_HANDLER`.
 */
function isMiddleware(route: RouterRoute | undefined): boolean {
  if (route === undefined || route.method !== METHOD_NAME_ALL) return false
  let handler = route.handler as Composed
  while (typeof handler[COMPOSED_HANDLER] === 'function') handler = handler[COMPOSED_HANDLER]
  return handler.length >= 2
}

type Composed = ((...args: never[]) => unknown) & { [COMPOSED_HANDLER]?: Composed }

/**
 * The capture of a Node request in flight, on node-server's `IncomingMessage`. Hono's `methodOverride` answers a
 * form's `POST` by dispatching a second `Request` (the `DELETE` it stands for) through the app for the same HTTP
 * request: the inner capture, with the real method and route, is the one recorded, not both. A symbol property, not a
 * WeakMap: an entry whose value (the capture, holding the context) leads back to its key cost about 13 µs a request in
 * GC (bench:hono-overhead).
 */
const CAPTURE_OF_REQUEST = Symbol('auditkit.capture')

function supersedeOuterCapture<E extends Env>(c: Context<E>, handle: CaptureHandle): void {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming
  if (typeof incoming !== 'object' || incoming === null) return
  const request = incoming as { [CAPTURE_OF_REQUEST]?: CaptureHandle }
  request[CAPTURE_OF_REQUEST]?.context.skip()
  request[CAPTURE_OF_REQUEST] = handle
}

/** The TCP peer; absent when the app is not served by `@hono/node-server` (e.g. `app.request()` in tests). */
function socketAddress<E extends Env>(c: Context<E>): string | undefined {
  try {
    return getConnInfo(c).remote.address
  } catch {
    return undefined
  }
}

/** The user the app's auth middleware stored with `c.set('user', ...)`, mapped by core's `actorFromUser`. */
function actorFromContext<E extends Env>(c: Context<E>): Actor | undefined {
  // c.get, not c.var: Hono builds c.var afresh from all the variables at every read.
  return actorFromUser((c.get as (key: string) => unknown)('user'))
}

/**
 * The path as the client sent it, percent-encoding kept (`c.req.path` is decoded): what the other adapters record,
 * so that `/admin/audit/%61pi/...` is not filed as the `/admin/audit/api/...` it was not written as.
 */
function rawPathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('://') + 3)
  if (start === -1) return '/'
  const query = url.indexOf('?', start)
  return query === -1 ? url.slice(start) : url.slice(start, query)
}
