import { DEFAULT_REQUEST_ID_HEADER, firstHeaderValue, type AuditOverrides, type CaptureRequest } from '@auditkit/core'
import type { AuditHttpRequest, AuditModuleOptions } from './interfaces/audit-module-options.interface.js'

/** The parts of Express's and Fastify's requests the translation reads. */
interface PlatformRequest extends AuditHttpRequest {
  /** Express: the URL before any router rewrote `url`. */
  originalUrl?: string
  /** Express: the matched route and the path the router was mounted at. */
  route?: { path?: unknown }
  baseUrl?: string
  /** Fastify: the matched route pattern. */
  routeOptions?: { url?: string }
  /** Fastify: Node's request underneath. */
  raw?: object
}

/**
 * Translates the platform's request (Express or Fastify) into core's framework-neutral request. `unrouted`: no
 * handler took the request, whatever route the platform still shows (see `AuditMiddleware.record`).
 */
export function toCaptureRequest(req: AuditHttpRequest, options: Pick<AuditModuleOptions, 'requestIdHeader'>, unrouted = false): CaptureRequest {
  const platform = req as PlatformRequest
  const url = platform.originalUrl ?? platform.url
  const notFound = unrouted || isNestNotFoundRoute(platform)
  const route = notFound ? undefined : routeOf(platform)
  const queryAt = url.indexOf('?')
  return {
    method: platform.method,
    path: queryAt === -1 ? url : url.slice(0, queryAt),
    route,
    params: notFound ? undefined : platform.params,
    ip: platform.ip,
    userAgent: firstHeaderValue(platform.headers['user-agent']),
    requestId: firstHeaderValue(platform.headers[(options.requestIdHeader ?? DEFAULT_REQUEST_ID_HEADER).toLowerCase()]),
  }
}

/**
 * With a global prefix, platform-express answers unknown paths under it with a catch-all route, `*path` on a router
 * mounted at the prefix: not a route of the app (Nest's own routes always start with a slash), so such a 404 is
 * recorded from its path, as without a prefix and on Fastify.
 */
function isNestNotFoundRoute(req: PlatformRequest): boolean {
  return req.route?.path === '*path'
}

/** The route pattern as registered with the router (controller path and global prefix included). */
function routeOf(req: PlatformRequest): string | undefined {
  if (typeof req.route?.path === 'string') return `${req.baseUrl ?? ''}${req.route.path}`
  return req.routeOptions?.url
}

/**
 * On platform-fastify, middleware sees Node's request, which knows neither the matched route, nor its params, nor
 * the `user` a guard attached before another refused: a Fastify hook (`rememberFastifyRoutes`) notes Fastify's request
 * there, so that the requests guards deny are recorded, and given to the `tenant`/`actor` callbacks, as Fastify's.
 */
const FASTIFY_REQUEST = Symbol('auditkit:fastify-request')

interface FastifyRequestLike extends AuditHttpRequest {
  raw: { [FASTIFY_REQUEST]?: FastifyRequestLike }
}
interface FastifyLike {
  addHook(name: 'onRequest', hook: (request: FastifyRequestLike, reply: unknown, done: () => void) => void): unknown
  addHook(name: 'onResponse', hook: (request: FastifyRequestLike, reply: { statusCode: number }, done: () => void) => void): unknown
}

/**
 * Notes Fastify's request on Node's (see above), and hands `onUnwatched` the responses of requests AuditKit's
 * middleware never saw: Nest's platform-fastify runs request hooks of its own ahead of all middleware
 * (`app.enableCsrfProtection()`'s 403), and an app may add hooks that answer before middie runs. Fastify runs
 * `onResponse` hooks for those responses too.
 */
export function rememberFastifyRoutes(fastify: FastifyLike, onUnwatched?: (request: AuditHttpRequest, status: number) => void): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    request.raw[FASTIFY_REQUEST] = request
    done()
  })
  if (!onUnwatched) return
  fastify.addHook('onResponse', (request, reply, done) => {
    if (!watched.has(rawOf(request)) && !isClaimed(request)) onUnwatched(request, reply.statusCode)
    done()
  })
}

/** The platform's request: under Fastify middleware, the Fastify request the hook noted on Node's (else `req`). */
export function platformRequestOf(req: AuditHttpRequest): AuditHttpRequest {
  return (req as { [FASTIFY_REQUEST]?: FastifyRequestLike })[FASTIFY_REQUEST] ?? req
}

const claimed = new WeakSet<object>()
const watched = new WeakSet<object>()
const routedTo = new WeakMap<object, RoutedTo>()

/** The handler (the method) and the controller class a request was routed to. */
export interface RoutedTo {
  readonly handler: object
  readonly controller: object
}

/** Node's request under the platform's (they differ on Fastify), so the interceptor and middleware see one key. */
function rawOf(req: object): object {
  return (req as PlatformRequest).raw ?? req
}

/** Marks a request as recorded by the interceptor, so the middleware's fallback leaves it alone. */
export function claimRequest(req: object): void {
  claimed.add(rawOf(req))
}

const overridden = new WeakMap<object, AuditOverrides>()

/** Notes what the middleware records of a request instead of what it derives (a refused admin request). */
export function overrideRequest(req: object, overrides: AuditOverrides): void {
  overridden.set(rawOf(req), overrides)
}

/** The overrides noted for a request, if any. */
export function overridesOf(req: object): AuditOverrides | undefined {
  return overridden.get(rawOf(req))
}

/** Notes the handler a request was routed to (see `AuditHandlerGuard`). */
export function rememberTargets(req: object, handler: object, controller: object): void {
  routedTo.set(rawOf(req), { handler, controller })
}

/** The handler a request was routed to, if a guard saw it before it was refused. */
export function targetsOf(req: object): RoutedTo | undefined {
  return routedTo.get(rawOf(req))
}

/** Marks a request as seen by AuditKit's middleware, which records it unless the interceptor claims it. */
export function watchRequest(req: object): void {
  watched.add(rawOf(req))
}

/** Whether the interceptor recorded this request (false when a guard or an unmatched route ended it first). */
export function isClaimed(req: object): boolean {
  return claimed.has(rawOf(req))
}
