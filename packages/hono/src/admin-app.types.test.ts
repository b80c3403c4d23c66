// Type-level: how apps write `authorize(request, c)`, checked by `tsc -p packages/hono` (nothing runs).
import { createAuditAdmin, type AdminAuthorization, type AuditLogger, type AuthorizeAdmin } from '@auditkit/core'
import { Hono, type Context } from 'hono'
import { jwt } from 'hono/jwt'
import { describe, expectTypeOf, it } from 'vitest'
import { auditAdminApp } from './index.js'

declare const logger: AuditLogger
interface AppEnv {
  Variables: { user: { id: string; isAdmin: boolean } | undefined }
}
const admit = (id: string): AdminAuthorization => ({ tenantId: 't1', actor: { type: 'user', id } })

describe('auditAdminApp types', () => {
  it('default Env: c.get("jwtPayload") after jwt()', () => {
    // Compiled, never run: the apps are only built for the type checker.
    expectTypeOf(() => {
      const app = new Hono()
      app.use('/admin/*', jwt({ secret: 's', alg: 'HS256' }))
      app.route(
        '/admin/audit',
        auditAdminApp({
          logger,
          authorize: (_request, c) => {
            expectTypeOf(c.req.raw).toEqualTypeOf<Request>()
            const payload = c.get('jwtPayload') as { sub?: string } | undefined
            return payload?.sub ? admit(payload.sub) : null
          },
        }),
      )
    }).toBeFunction()
  })

  it('typed Env: with auditAdminApp<AppEnv>, and without it when c is annotated', () => {
    // Compiled, never run: the apps are only built for the type checker.
    expectTypeOf(() => {
      const app = new Hono<AppEnv>()
      app.route(
        '/admin/audit',
        auditAdminApp<AppEnv>({
          logger,
          authorize: (_request, c) => {
            const user = c.get('user')
            expectTypeOf(user).toEqualTypeOf<{ id: string; isAdmin: boolean } | undefined>()
            return user ? (user.isAdmin ? admit(user.id) : 'forbidden') : null
          },
          clientIp: (c) => c.req.header('x-real-ip'),
        }),
      )
      app.route(
        '/admin/audit2',
        auditAdminApp({
          logger,
          authorize: (_request, c: Context<AppEnv>) => {
            const user = c.get('user')
            return user ? admit(user.id) : null
          },
        }),
      )
      const nested = new Hono<AppEnv>().basePath('/api')
      const admin = new Hono<AppEnv>()
      admin.route('/audit', auditAdminApp<AppEnv>({ logger, authorize: (_request, c) => (c.get('user') ? 'forbidden' : null) }))
      nested.route('/admin', admin)
    }).toBeFunction()
  })

  it('takes an authorize declared apart, a prebuilt handler, and untyped options', () => {
    // Compiled, never run: the apps are only built for the type checker.
    expectTypeOf(() => {
      const declared: AuthorizeAdmin = () => null
      const forHono: AuthorizeAdmin<Context<AppEnv>> = (_request, c) => (c.get('user') ? 'forbidden' : null)
      const plain = (request: Request): AdminAuthorization => (request.headers.has('authorization') ? 'forbidden' : null)
      const app = new Hono<AppEnv>()
      app.route('/a', auditAdminApp({ logger, authorize: declared }))
      app.route('/b', auditAdminApp({ logger, authorize: forHono }))
      app.route('/c', auditAdminApp({ logger, authorize: plain }))
      app.route('/d', auditAdminApp({ logger, authorize: async () => ({ tenantId: 't', actor: { type: 'user' as const, id: 'u' } }) }))
      app.route('/e', auditAdminApp(createAuditAdmin({ logger, authorize: declared })))
      app.route('/f', auditAdminApp(createAuditAdmin({ logger, authorize: forHono })))
      app.route('/g', auditAdminApp<AppEnv>(createAuditAdmin<Context<AppEnv>>({ logger, authorize: (_request, c) => (c.get('user') ? 'forbidden' : null) })))
      new Hono().route('/h', auditAdminApp({ logger, authorize: declared }))
    }).toBeFunction()
  })
})
