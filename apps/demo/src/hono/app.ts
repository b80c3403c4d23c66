import type { AuditAdminOptions, AuditLogger, DeliveryMode, TrustProxy } from '@auditkit/core'
import { auditAdminApp, auditMiddleware } from '@auditkit/hono'
import type { HttpBindings } from '@hono/node-server'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { ContentfulStatusCode, StatusCode } from 'hono/utils/http-status'
import { authorizeDemoAdmin } from '../domain/admin-authorize.js'
import { authenticate, createDemoRoutes, demoUser, errorBody, tenantOf, type DemoUser } from '../domain/routes.js'
import { DemoError } from '../domain/workspaces.js'

export interface HonoDemoOptions {
  logger: AuditLogger
  /**
   * AuditKit delivery mode.
   * @default 'async'
   */
  delivery?: DeliveryMode
  /**
   * Which proxies may set X-Forwarded-For (AuditKit's `trustProxy`, same values as Express's `trust proxy`).
   * @default 'loopback'
   */
  trustProxy?: TrustProxy
  /**
   * Further options of the admin routes at `/admin/audit` (e.g. the `siem` and `integrity` services).
   * @default {}
   */
  admin?: Omit<AuditAdminOptions, 'authorize' | 'logger'>
}

/** `user` is what the demo's authentication sets; AuditKit's default actor resolver reads it. */
type DemoEnv = { Bindings: HttpBindings; Variables: { user?: DemoUser; body?: unknown } }

/** The demo API on Hono, with AuditKit's middleware mounted before authentication so that refusals are recorded. */
export function createHonoDemoApp(options: HonoDemoOptions): Hono<DemoEnv> {
  const app = new Hono<DemoEnv>()
  app.get('/health', (c) => c.json({ ok: true }))
  app.use(
    auditMiddleware<DemoEnv>({
      logger: options.logger,
      delivery: options.delivery ?? 'async',
      trustProxy: options.trustProxy ?? 'loopback',
      tenant: (c) => tenantOf(c.req.path, c.get('user')?.principal),
    }),
  )
  // Authentication only says who calls, for the routes and for the audit records (also of a refused admin request).
  app.use(async (c, next) => {
    const principal = authenticate(c.req.header('authorization'), c.req.header('cookie'))
    if (principal) c.set('user', demoUser(principal))
    await next()
  })
  // The admin API and page; its own authorize (owner/admin tokens) decides who may use them.
  app.route('/admin/audit', auditAdminApp({ ...options.admin, logger: options.logger, authorize: authorizeDemoAdmin }))
  // The same 100 KB as the Express and NestJS variants' body parsers: a larger body is refused (413) before it is read
  // whole, not buffered into memory.
  app.use(
    bodyLimit({
      maxSize: 100 * 1024,
      onError: () => {
        throw new DemoError(413, 'INVALID_BODY', 'The request body is larger than 100 KB')
      },
    }),
  )
  app.use(async (c, next) => {
    // After authentication, so that a malformed body is still recorded against its sender.
    if (c.req.header('content-type')?.includes('application/json')) {
      try {
        c.set('body', await c.req.json())
      } catch {
        throw new DemoError(400, 'INVALID_BODY', 'The request body is not valid JSON')
      }
    }
    await next()
  })
  for (const route of createDemoRoutes()) {
    app.on(route.method, route.path, (c) => {
      const { status, body } = route.handle({
        params: c.req.param(),
        body: c.get('body'),
        principal: c.get('user')?.principal ?? null,
        audit: c.get('audit'),
      })
      return body === undefined ? c.body(null, status as StatusCode) : c.json(body, status as ContentfulStatusCode)
    })
  }
  app.notFound((c) => c.json({ error: { code: 'NOT_FOUND', message: 'No such route' } }, 404))
  app.onError((error, c) => {
    if (error instanceof DemoError) return c.json(errorBody(error), error.status as ContentfulStatusCode)
    console.error('[demo] unexpected error', error)
    return c.json({ error: { code: 'INTERNAL', message: 'Internal error' } }, 500)
  })
  return app
}
