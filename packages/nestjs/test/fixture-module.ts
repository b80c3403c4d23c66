import type { AuditRequestContext } from '@auditkit/core'
import { FIXTURE_TENANT_HEADER, authenticateFixture, createFixtureRoutes, fixtureTenant, type FixturePrincipal } from '@auditkit/test-utils'
import {
  Controller,
  Delete,
  Get,
  Injectable,
  Module,
  Patch,
  Post,
  Req,
  Res,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestMiddleware,
  type NestModule,
} from '@nestjs/common'
import { AuditContext, AuditModule, type AuditHttpRequest, type AuditModuleOptions } from '../src/index.js'

/** Express's and Fastify's requests and responses, as far as the fixture uses them. */
interface FixtureHttpRequest {
  params: Record<string, string | undefined>
  body: unknown
  user?: FixturePrincipal | null
  raw?: { user?: FixturePrincipal | null }
}
interface FixtureHttpResponse {
  status(code: number): unknown
}

/** On Fastify, Nest middleware sees Node's request: the principal it set lives there. */
const principalOf = (req: FixtureHttpRequest | AuditHttpRequest): FixturePrincipal | null =>
  ((req as FixtureHttpRequest).user ?? (req as FixtureHttpRequest).raw?.user ?? null) as FixturePrincipal | null

/** Authentication as a Nest middleware (like Passport's), so that it runs for unmatched routes too. */
@Injectable()
class FixtureAuthMiddleware implements NestMiddleware {
  use(
    req: { headers: Record<string, string | undefined>; user?: FixturePrincipal | null },
    res: { statusCode: number; setHeader(name: string, value: string): void; end(body: string): void },
    next: () => void,
  ): void {
    const principal = authenticateFixture(req.headers.authorization)
    if (principal === 'invalid') {
      res.statusCode = 401
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ error: { code: 'UNAUTHENTICATED', message: 'Unknown token' } }))
      return
    }
    req.user = principal
    next()
  }
}

const METHOD_DECORATORS = { GET: Get, POST: Post, PATCH: Patch, DELETE: Delete }

/** The fixture routes as one Nest controller, built from their shared description. */
function fixtureController(): new () => object {
  class FixtureController {}
  const prototype = FixtureController.prototype as unknown as Record<string, unknown>
  createFixtureRoutes().forEach((route, index) => {
    const key = `route${index}`
    prototype[key] = async (req: FixtureHttpRequest, res: FixtureHttpResponse, audit: AuditRequestContext) => {
      const { status, body } = await route.handle({ params: req.params, body: req.body, principal: principalOf(req), audit })
      res.status(status)
      return body
    }
    const descriptor = Object.getOwnPropertyDescriptor(prototype, key) as PropertyDescriptor
    METHOD_DECORATORS[route.method](route.path)(prototype, key, descriptor)
    Req()(prototype, key, 0)
    Res({ passthrough: true })(prototype, key, 1)
    AuditContext()(prototype, key, 2)
  })
  Controller()(FixtureController)
  return FixtureController
}

/** The contract's fixture app: AuditModule first, then authentication, then the routes. */
export function fixtureAppModule(options: Omit<AuditModuleOptions, 'tenant'>): DynamicModule {
  @Module({})
  class FixtureAppModule implements NestModule {
    configure(consumer: MiddlewareConsumer): void {
      consumer.apply(FixtureAuthMiddleware).forRoutes('{*path}')
    }
  }
  return {
    module: FixtureAppModule,
    imports: [
      AuditModule.forRoot({
        ...options,
        tenant: (req) => fixtureTenant(req.headers[FIXTURE_TENANT_HEADER] as string | undefined, principalOf(req)),
      }),
    ],
    controllers: [fixtureController()],
  }
}
