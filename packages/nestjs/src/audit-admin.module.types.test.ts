// Type-level: how apps write `authorize(request, req)` under Nest, checked by `tsc -p packages/nestjs` (nothing runs).
import type { IncomingMessage } from 'node:http'
import { createAuditAdmin, type AdminAuthorization, type AuditLogger, type AuthorizeAdmin } from '@auditkit/core'
import type { Request as ExpressRequest } from 'express'
import { describe, expectTypeOf, it } from 'vitest'
import { AUDIT_LOGGER, AuditAdminModule } from './index.js'

declare const logger: AuditLogger
interface SignedIn {
  user?: { id: string; isAdmin: boolean }
}
const decide = (user: SignedIn['user']): AdminAuthorization => (user ? (user.isAdmin ? { tenantId: 't1', actor: { type: 'user', id: user.id } } : 'forbidden') : null)

describe('AuditAdminModule types', () => {
  it('forRoot and forRootAsync name the request type', () => {
    // Compiled, never run: the apps are only built for the type checker.
    expectTypeOf(() => {
      AuditAdminModule.forRoot<ExpressRequest & SignedIn>({
        path: 'admin/audit',
        logger,
        authorize: (_request, req) => {
          expectTypeOf(req.originalUrl).toEqualTypeOf<string>()
          return decide(req.user)
        },
      })
      AuditAdminModule.forRoot({ path: 'admin/audit', logger, authorize: (_request, req: IncomingMessage & SignedIn) => decide(req.user) })
      AuditAdminModule.forRoot({ path: 'admin/audit', logger, authorize: (_request, req) => (req.headers.cookie ? 'forbidden' : null) })
      AuditAdminModule.forRootAsync<ExpressRequest & SignedIn>({
        path: 'admin/audit',
        inject: [AUDIT_LOGGER],
        useFactory: (injected: AuditLogger) => ({ logger: injected, authorize: (_request, req) => decide(req.user) }),
      })
      AuditAdminModule.forRootAsync<ExpressRequest & SignedIn>({
        path: 'admin/audit',
        inject: [AUDIT_LOGGER],
        useFactory: async (injected: AuditLogger) => ({ logger: injected, authorize: (_request, req) => decide(req.user) }),
      })
    }).toBeFunction()
  })

  it('takes an authorize declared apart, a prebuilt handler, and untyped options', () => {
    // Compiled, never run: the apps are only built for the type checker.
    expectTypeOf(() => {
      const declared: AuthorizeAdmin = () => null
      const forExpress: AuthorizeAdmin<ExpressRequest & SignedIn> = (_request, req) => decide(req.user)
      AuditAdminModule.forRoot({ path: 'a', logger, authorize: declared })
      AuditAdminModule.forRoot({ path: 'b', logger, authorize: forExpress })
      AuditAdminModule.forRoot({ path: 'c', logger, authorize: async () => ({ tenantId: 't', actor: { type: 'user' as const, id: 'u' } }) })
      AuditAdminModule.forRootAsync({ path: 'd', useFactory: () => ({ logger, authorize: declared }) })
      AuditAdminModule.forRootAsync({ path: 'e', useFactory: () => createAuditAdmin({ logger, authorize: declared }) })
      AuditAdminModule.forRootAsync({ path: 'f', useFactory: () => createAuditAdmin({ logger, authorize: forExpress }) })
      AuditAdminModule.forRootAsync<ExpressRequest>({ path: 'g', useFactory: () => ({ logger, authorize: forExpress }) })
    }).toBeFunction()
  })

  it('forRootAsync takes the inject entries of a Nest factory provider, optional ones included', () => {
    // Compiled, never run: as AuditModule.forRootAsync and Nest's own `{ provide, useFactory, inject }`.
    class SessionService {
      userOf(_cookie: string | null): SignedIn['user'] {
        return undefined
      }
    }
    expectTypeOf(() => {
      AuditAdminModule.forRootAsync({
        path: 'admin/audit',
        inject: [AUDIT_LOGGER, { token: SessionService, optional: true }, 'SESSION_COOKIE'],
        useFactory: (injected: AuditLogger, sessions?: SessionService) => ({
          logger: injected,
          authorize: (request) => decide(sessions?.userOf(request.headers.get('cookie'))),
        }),
      })
    }).toBeFunction()
  })
})
