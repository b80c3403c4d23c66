import { createAuditAdmin, serveNodeRequest, type AuditAdmin, type AuditAdminOptions } from '@auditkit/core'
import type { NextFunction, Request, Response } from 'express'

/**
 * Mounts the admin routes and page: `app.use('/admin/audit', auditAdminRouter({ logger, authorize }))`.
 * Takes the options of `createAuditAdmin`, or a handler already made with it; `authorize(request, req)` gets the
 * Express request as its second argument, so what your auth middleware mounted before resolved (`req.user`,
 * `req.session`) decides. The mount path is read from
 * the request (`req.baseUrl`) and the client IP from `req.ip` (so `trust proxy` applies). `auditMiddleware` mounted
 * before leaves its successful answers out (they record their own events) and records refusals as failures.
 */
export function auditAdminRouter(
  admin: AuditAdmin<Request> | AuditAdminOptions<Request>,
): (req: Request, res: Response, next: NextFunction) => void {
  const handler = 'fetch' in admin && typeof admin.fetch === 'function' ? admin : createAuditAdmin(admin as AuditAdminOptions<Request>)
  return (req, res, next) => {
    serveNodeRequest(handler, req, res, {
      originalUrl: req.originalUrl,
      basePath: req.baseUrl,
      ...(req.ip === undefined ? {} : { ip: req.ip }),
      // A body parser mounted before the admin routes has consumed the stream already. Only then: Express 4's
      // parsers set `req.body = {}` for a type they do not parse (a JSON PUT behind `express.urlencoded()` alone).
      ...(req.body === undefined || !req.readableEnded ? {} : { parsedBody: req.body as unknown }),
      // The admin routes record their own events: not again through auditMiddleware (present when mounted before).
      onLeftOutOfCapture: () => req.audit?.skip(),
      onCaptureOverrides: (overrides) => req.audit?.set(overrides),
    }).catch(next)
  }
}
