import type { AuditAdminOptions, AuditLogger, DeliveryMode } from '@auditkit/core'
import { auditAdminRouter, auditMiddleware } from '@auditkit/express'
import express, { type ErrorRequestHandler, type Express, type Request } from 'express'
import { authenticate, createDemoRoutes, demoUser, errorBody, tenantOf, type DemoUser } from '../domain/routes.js'
import { authorizeDemoAdmin } from '../domain/admin-authorize.js'
import { DemoError } from '../domain/workspaces.js'

export interface ExpressDemoOptions {
  logger: AuditLogger
  /**
   * AuditKit delivery mode.
   * @default 'async'
   */
  delivery?: DeliveryMode
  /**
   * Express's `trust proxy` setting (which proxies may set X-Forwarded-For).
   * @default 'loopback'
   */
  trustProxy?: boolean | number | string
  /**
   * Further options of the admin routes at `/admin/audit` (e.g. the `siem` and `integrity` services).
   * @default {}
   */
  admin?: Omit<AuditAdminOptions, 'authorize' | 'logger'>
}

const userOf = (req: Request): DemoUser | undefined => (req as { user?: DemoUser }).user

/** The demo API on Express, with AuditKit's middleware mounted before authentication so that refusals are recorded. */
export function createExpressDemoApp(options: ExpressDemoOptions): Express {
  const app = express()
  app.set('trust proxy', options.trustProxy ?? 'loopback')
  app.disable('x-powered-by')
  app.get('/health', (_req, res) => {
    res.json({ ok: true })
  })
  app.use(
    auditMiddleware({
      logger: options.logger,
      delivery: options.delivery ?? 'async',
      // req.user holds the actor fields; the default resolver maps it to the Actor.
      tenant: (req) => tenantOf(req.path, userOf(req)?.principal),
    }),
  )
  app.use((req, _res, next) => {
    const principal = authenticate(req.get('authorization'), req.get('cookie'))
    if (principal) (req as { user?: DemoUser }).user = demoUser(principal)
    next()
  })
  // After authentication, so that a malformed body is still recorded against its sender.
  app.use(express.json({ limit: '100kb' }))
  // The admin API and page; its own authorize (owner/admin tokens) decides, before the demo's authentication.
  app.use('/admin/audit', auditAdminRouter({ ...options.admin, logger: options.logger, authorize: authorizeDemoAdmin }))
  for (const route of createDemoRoutes()) {
    app[route.method.toLowerCase() as 'get' | 'post' | 'patch' | 'delete'](route.path, (req, res) => {
      const { status, body } = route.handle({
        params: req.params as Record<string, string>,
        body: req.body as unknown,
        principal: userOf(req)?.principal ?? null,
        audit: req.audit,
      })
      if (body === undefined) res.status(status).end()
      else res.status(status).json(body)
    })
  }
  app.use((_req, res) => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: 'No such route' } })
  })
  const onError: ErrorRequestHandler = (error: unknown, _req, res, _next) => {
    if (error instanceof DemoError) {
      res.status(error.status).json(errorBody(error))
      return
    }
    const status = (error as { status?: unknown }).status
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // body-parser's errors (malformed JSON, too large) carry a 4xx status.
      res.status(status).json({ error: { code: 'INVALID_BODY', message: 'The request body is not valid JSON' } })
      return
    }
    console.error('[demo] unexpected error', error)
    res.status(500).json({ error: { code: 'INTERNAL', message: 'Internal error' } })
  }
  app.use(onError)
  return app
}
