import { createAuditAdmin, leftOutOfCapture, type AuditAdmin, type AuditAdminOptions } from '@auditkit/core'
import { Hono, type Context } from 'hono'
import { basePath } from 'hono/route'

export interface AuditAdminAppOptions extends AuditAdminOptions {
  /**
   * The client IP recorded on exports (behind a proxy, read it from the header your proxy sets).
   * @default the socket address under `@hono/node-server` (`c.env.incoming`), else none
   */
  clientIp?: (c: Context) => string | undefined
}

function socketAddress(c: Context): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined
  return env?.incoming?.socket?.remoteAddress
}

function isAdmin(value: AuditAdmin | AuditAdminAppOptions): value is AuditAdmin {
  return 'fetch' in value && typeof value.fetch === 'function'
}

/**
 * The admin routes and page as a Hono sub-app: `app.route('/admin/audit', auditAdminApp({ logger, authorize }))`.
 * Takes the options of `createAuditAdmin` (plus `clientIp`), or a handler already made with it; the mount path is
 * read from the route.
 */
export function auditAdminApp(options: AuditAdminAppOptions | AuditAdmin): Hono {
  const handler = isAdmin(options) ? options : createAuditAdmin(options)
  const clientIp = (isAdmin(options) ? undefined : options.clientIp) ?? socketAddress
  const app = new Hono()
  const serve = async (c: Context): Promise<Response> => {
    const ip = clientIp(c)
    const response = await handler.fetch(c.req.raw, { basePath: basePath(c), ...(ip === undefined ? {} : { ip }) })
    // The admin routes record their own events: not again through auditMiddleware (present when mounted before).
    if (leftOutOfCapture(response)) c.get('audit')?.skip()
    return response
  }
  app.all('/', serve)
  app.all('/*', serve)
  return app
}
