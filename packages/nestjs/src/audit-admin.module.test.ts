import 'reflect-metadata'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { IncomingMessage, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createIntegrityService, type AdminAuthorization, type AuditLogger, type AuditStore } from '@auditkit/core'
import { expectAdminMountServesEveryRoute, expectExportRecordsIpv4Client, openAdminMountStore, siemSettingsInState } from '@auditkit/test-utils'
import {
  Catch,
  Controller,
  Get,
  Module,
  NotFoundException,
  VersioningType,
  type ArgumentsHost,
  type CanActivate,
  type DynamicModule,
  type CallHandler,
  type ExceptionFilter,
  type INestApplication,
  type NestInterceptor,
  type PipeTransform,
} from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { FastifyAdapter } from '@nestjs/platform-fastify'
import { ServeStaticModule } from '@nestjs/serve-static'
import { afterEach, describe, expect, it } from 'vitest'
import { AuditAdminModule, AuditModule } from './index.js'

const authorize = (request: Request): AdminAuthorization =>
  /(?:^|;\s*)admin_session=ok(?:;|$)/.test(request.headers.get('cookie') ?? '') ? { tenantId: 't1', actor: { type: 'user', id: 'admin-1' } } : null

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function setup(): Promise<{ store: AuditStore; logger: AuditLogger }> {
  const opened = await openAdminMountStore({ events: 30 })
  cleanups.push(opened.close)
  return opened
}

@Controller('projects')
class ProjectsController {
  @Get()
  list(): string[] {
    return []
  }
}

function appModule(store: AuditStore, logger: AuditLogger, path: string): DynamicModule {
  @Module({})
  class AppModule {}
  return {
    module: AppModule,
    controllers: [ProjectsController],
    imports: [
      AuditModule.forRoot({ logger, delivery: 'await', tenant: () => 't1' }),
      AuditAdminModule.forRoot({ path, logger, authorize, siem: siemSettingsInState(store), integrity: createIntegrityService({ store }), uiDir: false }),
    ],
  }
}

@Catch()
class RewritingFilter implements ExceptionFilter {
  catch(_exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<{ status(code: number): { send(body: string): void } } & { code?: (n: number) => { send(b: string): void } }>()
    if (typeof res.code === 'function') res.code(404).send('<h1>Not here</h1>')
    else res.status(404).send('<h1>Not here</h1>')
  }
}

class RefusingPipe implements PipeTransform {
  transform(): never {
    throw new NotFoundException()
  }
}

class WrappingInterceptor implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): ReturnType<CallHandler['handle']> {
    return next.handle()
  }
}

class DenyAll implements CanActivate {
  canActivate(): boolean {
    return false
  }
}

async function start(app: INestApplication): Promise<string> {
  cleanups.push(() => app.close())
  await app.listen(0, '127.0.0.1')
  return `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`
}

async function exercise(base: string, store: AuditStore, logger: AuditLogger): Promise<void> {
  await expectAdminMountServesEveryRoute({ base, headers: { cookie: 'admin_session=ok' }, store, logger })
}

describe('AuditAdminModule in a typical Nest app', () => {
  it('platform-express: serves every route with a global prefix, URI versioning, a global pipe, interceptor, guard and catch-all filter', async () => {
    const { store, logger } = await setup()
    const app = await NestFactory.create(appModule(store, logger, 'admin/audit'), { logger: false })
    app.setGlobalPrefix('api')
    app.enableVersioning({ type: VersioningType.URI, defaultVersion: '1' })
    app.useGlobalPipes(new RefusingPipe())
    app.useGlobalInterceptors(new WrappingInterceptor())
    app.useGlobalFilters(new RewritingFilter())
    app.useGlobalGuards(new DenyAll())
    const origin = await start(app)
    expect((await fetch(`${origin}/api/v1/projects`)).status).toBe(404)
    await exercise(`${origin}/admin/audit`, store, logger)
  })

  it('platform-fastify: serves every route, settings PUT included', async () => {
    const { store, logger } = await setup()
    const app = await NestFactory.create(appModule(store, logger, 'admin/audit'), new FastifyAdapter({ trustProxy: 'loopback' }), { logger: false })
    app.setGlobalPrefix('api')
    const origin = await start(app)
    await exercise(`${origin}/admin/audit`, store, logger)
  })
})

describe('AuditAdminModule behind a proxy', () => {
  for (const platform of ['express', 'fastify'] as const)
    it(`${platform}: records the client address the platform's proxy setting gives on exports`, async () => {
      const { store, logger } = await setup()
      const module = appModule(store, logger, 'admin/audit')
      const app =
        platform === 'fastify'
          ? await NestFactory.create(module, new FastifyAdapter({ trustProxy: 'loopback' }), { logger: false })
          : await NestFactory.create(module, { logger: false })
      if (platform === 'express') (app.getHttpAdapter().getInstance() as { set(name: string, value: unknown): void }).set('trust proxy', 'loopback')
      const origin = await start(app)
      const csv = await fetch(`${origin}/admin/audit/api/export.csv`, { headers: { cookie: 'admin_session=ok', 'x-forwarded-for': '198.51.100.7' } })
      expect(csv.status).toBe(200)
      await csv.text()
      await logger.flush()
      const { items } = await store.query({ tenantId: 't1', from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z', action: 'audit_log_exported', limit: 5 })
      expect(items.map((event) => event.context?.ip)).toEqual(['198.51.100.7'])
    })
})

describe('AuditAdminModule authorize with the request the app resolved', () => {
  interface SignedInRequest extends IncomingMessage {
    user?: { id: string; role: string }
  }
  // What a session or passport middleware does: resolve the caller once, on the request, for everything after it.
  const resolveUser = (req: SignedInRequest, _res: unknown, next: () => void): void => {
    const id = /(?:^|;\s*)sid=([\w-]+)/.exec(req.headers.cookie ?? '')?.[1]
    if (id) req.user = { id, role: id.startsWith('admin') ? 'audit-admin' : 'member' }
    next()
  }

  for (const platform of ['express', 'fastify'] as const)
    it(`${platform}: authorize reads req.user set by a global middleware, and the export is recorded as that user`, async () => {
      const { store, logger } = await setup()
      @Module({})
      class AppModule {}
      const module: DynamicModule = {
        module: AppModule,
        imports: [
          AuditAdminModule.forRoot<SignedInRequest>({
            path: 'admin/audit',
            logger,
            uiDir: false,
            authorize: (_request, req) => {
              if (!req.user) return null
              return req.user.role === 'audit-admin' ? { tenantId: 't1', actor: { type: 'user', id: req.user.id } } : 'forbidden'
            },
          }),
        ],
      }
      const app = platform === 'fastify' ? await NestFactory.create(module, new FastifyAdapter(), { logger: false }) : await NestFactory.create(module, { logger: false })
      app.use(resolveUser)
      const origin = await start(app)
      expect((await fetch(`${origin}/admin/audit/api/events`)).status).toBe(401)
      expect((await fetch(`${origin}/admin/audit/api/events`, { headers: { cookie: 'sid=member-7' } })).status).toBe(403)
      const csv = await fetch(`${origin}/admin/audit/api/export.csv`, { headers: { cookie: 'sid=admin-3' } })
      expect(csv.status).toBe(200)
      await csv.text()
      await logger.flush()
      const { items } = await store.query({ tenantId: 't1', from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z', action: 'audit_log_exported', limit: 5 })
      expect(items.map((event) => event.actor.id)).toEqual(['admin-3'])
    })
})

describe('AuditAdminModule authorize with a service of the app', () => {
  // The admin routes are mounted before the middleware a module applies through MiddlewareConsumer (so that no route
  // or catch-all of the app comes first): what such a middleware would resolve with an injected service,
  // authorize resolves with the same service, injected through forRootAsync.
  class Sessions {
    userOf(cookie: string | undefined): { id: string } | undefined {
      const id = /(?:^|;\s*)sid=([\w-]+)/.exec(cookie ?? '')?.[1]
      return id ? { id } : undefined
    }
  }
  @Module({ providers: [Sessions], exports: [Sessions] })
  class SessionsModule {}

  for (const platform of ['express', 'fastify'] as const)
    it(`${platform}: forRootAsync injects the service that authorize asks for the signed-in user`, async () => {
      const { logger } = await setup()
      @Module({
        imports: [
          AuditAdminModule.forRootAsync<IncomingMessage>({
            path: 'admin/audit',
            imports: [SessionsModule],
            inject: [Sessions],
            useFactory: (sessions: Sessions) => ({
              logger,
              uiDir: false,
              authorize: (_request, req) => {
                const user = sessions.userOf(req.headers.cookie)
                return user ? { tenantId: 't1', actor: { type: 'user', id: user.id } } : null
              },
            }),
          }),
        ],
      })
      class AppModule {}
      const app = platform === 'fastify' ? await NestFactory.create(AppModule, new FastifyAdapter(), { logger: false }) : await NestFactory.create(AppModule, { logger: false })
      const origin = await start(app)
      expect((await fetch(`${origin}/admin/audit/api/events`)).status).toBe(401)
      expect((await fetch(`${origin}/admin/audit/api/events`, { headers: { cookie: 'sid=admin-3' } })).status).toBe(200)
    })
})

describe('AuditAdminModule beside ServeStaticModule, whose SPA fallback answers every other GET', () => {
  for (const order of ['admin first', 'static first'] as const)
    it(`platform-express, ${order} in imports: the admin API still answers, the app's page is served elsewhere`, async () => {
      const { store, logger } = await setup()
      const site = mkdtempSync(join(tmpdir(), 'auditkit-spa-'))
      cleanups.push(async () => rmSync(site, { recursive: true, force: true }))
      writeFileSync(join(site, 'index.html'), '<!doctype html><title>the app</title>')
      const admin = AuditAdminModule.forRoot({ path: 'admin/audit', logger, authorize, uiDir: false })
      const spa = ServeStaticModule.forRoot({ rootPath: site })
      @Module({})
      class AppModule {}
      const module: DynamicModule = { module: AppModule, imports: order === 'admin first' ? [admin, spa] : [spa, admin] }
      const app = await NestFactory.create(module, { logger: false })
      const origin = await start(app)
      expect(await (await fetch(`${origin}/some/client/route`)).text()).toContain('the app')
      const list = await fetch(`${origin}/admin/audit/api/events?limit=5`, { headers: { cookie: 'admin_session=ok' } })
      expect(list.headers.get('content-type')).toMatch(/application\/json/)
      expect(list.status).toBe(200)
    })
})

describe('AuditAdminModule on a dual-stack server', () => {
  it.each(['express', 'fastify'] as const)('platform-%s: records an IPv4 client on its exports as AuditModule does (127.0.0.1, not ::ffff:127.0.0.1)', async (platform) => {
    const { store, logger } = await setup()
    const module = appModule(store, logger, 'admin/audit')
    const app = platform === 'fastify' ? await NestFactory.create(module, new FastifyAdapter(), { logger: false }) : await NestFactory.create(module, { logger: false })
    cleanups.push(() => app.close())
    // No host: `::` where the machine has IPv6, as `app.listen(3000)` is written for platform-express.
    await app.listen(0, '::')
    const base = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}/admin/audit`
    await expectExportRecordsIpv4Client({ base, headers: { cookie: 'admin_session=ok' }, store, logger })
  })
})
