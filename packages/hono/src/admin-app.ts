import { adminCaptureOverrides, createAuditAdmin, leftOutOfCapture, type AuditAdmin, type AuditAdminOptions } from '@auditkit/core'
import { Hono, type Context, type Env } from 'hono'
import { basePath } from 'hono/route'

/** `authorize(request, c)` gets the route's `Context`: `c.get('jwtPayload')` or your own variables decide. */
export interface AuditAdminAppOptions<E extends Env = Env> extends AuditAdminOptions<Context<E>> {
  /**
   * The client IP recorded on exports (behind a proxy, read it from the header your proxy sets).
   * @default the socket address under `@hono/node-server` (`c.env.incoming`), else none
   */
  clientIp?: (c: Context<E>) => string | undefined
}

function socketAddress<E extends Env>(c: Context<E>): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined
  return env?.incoming?.socket?.remoteAddress
}

/**
 * The request to hand to the admin handler. A middleware before it may have read the body (`c.req.json()`): Hono
 * keeps what it read, but the raw stream is used up, so the settings routes get the cached bytes instead.
 */
async function requestOf<E extends Env>(c: Context<E>): Promise<Request> {
  const raw = c.req.raw
  if (!raw.bodyUsed) return raw
  let body: ArrayBuffer
  try {
    body = await c.req.arrayBuffer()
  } catch {
    return raw // read outside Hono's cache: the handler cannot read it either
  }
  return new Request(raw.url, { method: raw.method, headers: raw.headers, body, signal: raw.signal })
}

/**
 * The mount path as the client sent it. `basePath(c)` is decoded (`/workspaces/a b/admin`) while the handler matches
 * the URL as sent (`/workspaces/a%20b/admin`): take as many segments of the raw path (decoding keeps `%2F`).
 */
function mountPath<E extends Env>(c: Context<E>): string {
  const segments = basePath(c).split('/').length
  return new URL(c.req.url).pathname.split('/').slice(0, segments).join('/')
}

function isAdmin<E extends Env>(value: AuditAdmin<Context<E>> | AuditAdminAppOptions<E>): value is AuditAdmin<Context<E>> {
  return 'fetch' in value && typeof value.fetch === 'function'
}

/**
 * The admin routes and page as a Hono sub-app: `app.route('/admin/audit', auditAdminApp({ logger, authorize }))`.
 * Takes the options of `createAuditAdmin` (plus `clientIp`), or a handler already made with it; the mount path is
 * read from the route. `authorize(request, c)` gets the `Context`, with the variables your middleware set before
 * (`auditAdminApp<AppEnv>(...)` types them).
 */
export function auditAdminApp<E extends Env = Env>(options: AuditAdminAppOptions<E> | AuditAdmin<Context<E>>): Hono<E> {
  const handler = isAdmin(options) ? options : createAuditAdmin(options)
  const clientIp = (isAdmin(options) ? undefined : options.clientIp) ?? socketAddress
  const app = new Hono<E>()
  const serve = async (c: Context<E>): Promise<Response> => {
    const ip = clientIp(c)
    // The id Hono's requestId() middleware settled on (it makes one when the client sent none), as auditMiddleware records it.
    const requestId = (c.get as (key: string) => unknown)('requestId')
    const response = await handler.fetch(await requestOf(c), {
      native: c,
      basePath: mountPath(c),
      ...(ip === undefined ? {} : { ip }),
      ...(typeof requestId === 'string' ? { requestId } : {}),
    })
    // The admin routes record their own events: not again through auditMiddleware (present when mounted before).
    if (leftOutOfCapture(response)) c.get('audit')?.skip()
    else {
      // A refused or failed admin request: recorded under the action the route stands for, not one derived from its path.
      const overrides = adminCaptureOverrides(response)
      if (overrides) c.get('audit')?.set(overrides)
    }
    return response
  }
  app.all('/', serve)
  app.all('/*', serve)
  return app
}
