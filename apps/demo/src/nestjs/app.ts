import 'reflect-metadata'
import type { AuditAdminOptions, AuditLogger, AuditRequestContext, DeliveryMode } from '@auditkit/core'
import { AuditAdminModule, AuditContext, AuditModule } from '@auditkit/nestjs'
import {
  Catch,
  Controller,
  Delete,
  Get,
  HttpException,
  Module,
  Patch,
  Post,
  Req,
  Res,
  type ArgumentsHost,
  type ExceptionFilter,
  type MiddlewareConsumer,
  type NestModule,
} from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import type { NestExpressApplication } from '@nestjs/platform-express'
import express, { type NextFunction, type Request, type Response } from 'express'
import { authorizeDemoAdmin } from '../domain/admin-authorize.js'
import { authenticate, createDemoRoutes, demoUser, errorBody, tenantOf, type DemoRoute, type DemoUser } from '../domain/routes.js'
import { DemoError } from '../domain/workspaces.js'

export interface NestDemoOptions {
  logger: AuditLogger
  /**
   * AuditKit delivery mode.
   * @default 'async'
   */
  delivery?: DeliveryMode
  /**
   * Express's `trust proxy` setting (which proxies may set X-Forwarded-For); Nest's `req.ip` honours it.
   * @default 'loopback'
   */
  trustProxy?: boolean | number | string
  /**
   * Further options of the admin routes at `/admin/audit` (e.g. the `siem` and `integrity` services).
   * @default {}
   */
  admin?: Omit<AuditAdminOptions, 'authorize' | 'logger'>
}

interface DemoHttpRequest {
  url: string
  originalUrl?: string
  headers: Record<string, string | string[] | undefined>
  params: Record<string, string | undefined>
  body: unknown
  user?: DemoUser
}

interface DemoHttpResponse {
  status(code: number): DemoHttpResponse
  json(body: unknown): void
}

const pathOf = (req: { url: string; originalUrl?: string }): string => (req.originalUrl ?? req.url).split('?', 1)[0] ?? '/'

/** Authentication as global middleware (`app.use()`), so that refusals of unknown routes and of the admin know their sender too. */
function demoAuthentication(req: DemoHttpRequest, _res: unknown, next: (error?: unknown) => void): void {
  const authorization = req.headers.authorization
  const cookie = req.headers.cookie
  const principal = authenticate(typeof authorization === 'string' ? authorization : undefined, typeof cookie === 'string' ? cookie : undefined)
  if (principal) req.user = demoUser(principal)
  next()
}

/** Answers every error as the other demo frameworks do: `{ error: { code, message } }` with its status. */
@Catch()
class DemoErrorFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<DemoHttpResponse>()
    if (error instanceof DemoError) {
      res.status(error.status).json(errorBody(error))
    } else if (error instanceof HttpException && error.getStatus() < 500) {
      // Nest's own refusals: unknown routes (404) and malformed JSON bodies (400).
      const status = error.getStatus()
      res.status(status).json({ error: { code: status === 404 ? 'NOT_FOUND' : 'INVALID_BODY', message: error.message } })
    } else {
      console.error('[demo] unexpected error', error)
      res.status(500).json({ error: { code: 'INTERNAL', message: 'Internal error' } })
    }
  }
}

const parseJson = express.json({ limit: '100kb' })

/**
 * JSON bodies, parsed after authentication (Nest's own parser, which runs before any middleware, is off) so that a
 * malformed body is still recorded against its sender, and refused in the same shape as on Express and Hono.
 */
async function demoJsonBody(req: Request, res: Response, next: NextFunction): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    parseJson(req, res, (error?: unknown) => {
      if (error === undefined) {
        resolve()
        return
      }
      // body-parser's errors (malformed JSON, too large) carry a 4xx status.
      const status = (error as { status?: unknown }).status
      const refusal = typeof status === 'number' && status >= 400 && status < 500 ? status : 400
      reject(new DemoError(refusal, 'INVALID_BODY', 'The request body is not valid JSON'))
    })
  })
  next()
}

const METHODS = { GET: Get, POST: Post, PATCH: Patch, DELETE: Delete }

/**
 * The shared route descriptions as one Nest controller: each becomes a handler with its method decorator,
 * `@Req()`, `@Res({ passthrough: true })` (to answer the route's status) and `@AuditContext()`.
 */
function demoController(routes: DemoRoute[]): new () => object {
  class DemoController {}
  const prototype = DemoController.prototype as unknown as Record<string, unknown>
  routes.forEach((route, index) => {
    const key = `${route.method.toLowerCase()}${index}`
    prototype[key] = (req: DemoHttpRequest, res: DemoHttpResponse, audit: AuditRequestContext) => {
      const { status, body } = route.handle({ params: req.params, body: req.body, principal: req.user?.principal ?? null, audit })
      res.status(status)
      return body
    }
    METHODS[route.method](route.path)(prototype, key, Object.getOwnPropertyDescriptor(prototype, key) as PropertyDescriptor)
    Req()(prototype, key, 0)
    Res({ passthrough: true })(prototype, key, 1)
    AuditContext()(prototype, key, 2)
  })
  Controller()(DemoController)
  return DemoController
}

@Controller('health')
class HealthController {
  @Get()
  health() {
    return { ok: true }
  }
}

/** The demo API on NestJS (platform-express): AuditModule records, the admin module serves `/admin/audit`. */
export async function createNestDemoApp(options: NestDemoOptions): Promise<NestExpressApplication> {
  @Module({
    imports: [
      AuditModule.forRoot({
        logger: options.logger,
        delivery: options.delivery ?? 'async',
        // req.user holds the actor fields; the default resolver maps it to the Actor.
        tenant: (req) => tenantOf(pathOf(req), (req.user as DemoUser | undefined)?.principal),
      }),
      AuditAdminModule.forRoot({ path: 'admin/audit', ...options.admin, logger: options.logger, authorize: authorizeDemoAdmin }),
    ],
    controllers: [HealthController, demoController(createDemoRoutes())],
  })
  class DemoAppModule implements NestModule {
    configure(consumer: MiddlewareConsumer): void {
      consumer.apply(demoJsonBody).forRoutes('{*path}')
    }
  }

  const app = await NestFactory.create<NestExpressApplication>(DemoAppModule, { logger: ['error', 'warn'], bodyParser: false })
  app.set('trust proxy', options.trustProxy ?? 'loopback')
  app.disable('x-powered-by')
  // Global, so that it runs ahead of the admin module too: a refused admin request is recorded with its caller and
  // workspace. It only says who calls; the admin's authorize decides who may use it.
  app.use(demoAuthentication)
  app.useGlobalFilters(new DemoErrorFilter())
  return app
}
