// Type-level: how apps write `authorize(request, req)`, checked by `tsc -p packages/express` (nothing runs).
import { createAuditAdmin, type AdminAuthorization, type AuditLogger, type AuthorizeAdmin } from '@auditkit/core'
import express, { type Request as ExpressRequest } from 'express'
import 'express-session'
import express4 from 'express4'
import 'passport'
import { describe, expectTypeOf, it } from 'vitest'
import { auditAdminRouter } from './index.js'

// As an app declares them. Augmentations reach the whole package's type check: the optional fields keep the users of
// express.test.ts valid.
declare global {
  namespace Express {
    interface User {
      id: string
      workspaceId?: string
      isAdmin?: boolean
    }
  }
}
declare module 'express-session' {
  interface SessionData {
    adminId?: string
  }
}

declare const logger: AuditLogger

describe('auditAdminRouter types', () => {
  it('types req as the Express request, with Passport and express-session augmentations', () => {
    // Compiled, never run: the apps are only built for the type checker.
    expectTypeOf(() => {
      for (const createApp of [express, express4]) {
        const app = createApp()
        const router = createApp.Router()
        router.use(
          '/audit',
          auditAdminRouter({
            logger,
            authorize: (request, req) => {
              expectTypeOf(request).toEqualTypeOf<Request>()
              expectTypeOf(req).toEqualTypeOf<ExpressRequest>()
              expectTypeOf(req.session.adminId).toEqualTypeOf<string | undefined>()
              const user = req.user
              if (!user) return null
              if (!user.isAdmin) return 'forbidden'
              return { tenantId: user.workspaceId ?? '', actor: { type: 'user', id: user.id } }
            },
          }),
        )
        app.use('/admin', router)
      }
    }).toBeFunction()
  })

  it('takes an authorize declared apart (the README form), a prebuilt handler, and untyped JavaScript-style options', () => {
    // Compiled, never run: the apps are only built for the type checker.
    expectTypeOf(() => {
      const declared: AuthorizeAdmin = () => null
      const forExpress: AuthorizeAdmin<ExpressRequest> = (_request, req) => (req.user ? 'forbidden' : null)
      const plain = (request: Request): AdminAuthorization => (request.headers.has('authorization') ? 'forbidden' : null)
      const app = express()
      app.use('/a', auditAdminRouter({ logger, authorize: declared }))
      app.use('/b', auditAdminRouter({ logger, authorize: forExpress }))
      app.use('/c', auditAdminRouter({ logger, authorize: plain }))
      app.use('/d', auditAdminRouter({ logger, authorize: async () => ({ tenantId: 't', actor: { type: 'user' as const, id: 'u' } }) }))
      app.use('/e', auditAdminRouter(createAuditAdmin({ logger, authorize: declared })))
      app.use('/f', auditAdminRouter(createAuditAdmin({ logger, authorize: forExpress })))
      app.use('/g', auditAdminRouter(createAuditAdmin<ExpressRequest>({ logger, authorize: (_request, req) => (req.user ? 'forbidden' : null) })))
      express4().use('/h', auditAdminRouter({ logger, authorize: forExpress }))
      // A handler whose authorize needs more than an Express request carries (a payload set by another framework's
      // middleware) would read undefined and answer 401 to everyone at run time: it must not compile.
      const needsMore = createAuditAdmin<ExpressRequest & { jwtPayload: { sub: string } }>({ logger, authorize: (_request, req) => (req.jwtPayload.sub ? 'forbidden' : null) })
      // @ts-expect-error an AuditAdmin for a narrower request is not an AuditAdmin<express.Request>
      app.use('/i', auditAdminRouter(needsMore))
    }).toBeFunction()
  })
})
