import 'reflect-metadata'
import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAuditLogger, type AuditEvent, type AuditLogger, type AuditRequestContext, type AuditStore } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import {
  Body,
  Catch,
  Controller,
  Delete,
  ForbiddenException,
  Get,
  HttpCode,
  Inject,
  UnauthorizedException,
  Injectable,
  Module,
  Param,
  ParseIntPipe,
  Patch,
  Post,
  Redirect,
  Res,
  UseFilters,
  UseGuards,
  VersioningType,
  type ArgumentsHost,
  type CanActivate,
  type DynamicModule,
  type ExceptionFilter,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common'
import { APP_GUARD, NestFactory } from '@nestjs/core'
import type { NestExpressApplication } from '@nestjs/platform-express'
import { FastifyAdapter } from '@nestjs/platform-fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Audit, AuditContext, AuditIgnore, AuditModule, AuditService, type AuditModuleOptions, type AuditOptionsFactory } from './index.js'

// Nest-specific behaviour; the shared behaviour is covered by the adapter contract (test/adapter-contract.test.ts).

@Injectable()
class AdminGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string>; user?: object }>()
    if (req.headers['x-user']) req.user = { id: req.headers['x-user'], name: 'Ada' }
    if (req.headers['x-role'] !== 'admin') throw new ForbiddenException()
    return true
  }
}

class QuotaExceeded extends Error {}

/** Answers a domain error with a status the error itself does not carry. */
@Catch(QuotaExceeded)
class QuotaFilter implements ExceptionFilter {
  catch(_error: QuotaExceeded, host: ArgumentsHost): void {
    answer(host.switchToHttp().getResponse<LibraryResponse>(), 422, { error: 'quota' })
  }
}

/** Express's `Response` or Fastify's `FastifyReply`, as `@Res()` hands them over. */
type LibraryResponse = { status(code: number): { json?(body: object): void; send?(body: object): void } }

function answer(res: LibraryResponse, status: number, body: object): void {
  const reply = res.status(status)
  if (reply.json) reply.json(body)
  else reply.send?.(body)
}

/** A method decorator as tracing libraries write them: Nest routes to an unnamed wrapper of the method. */
function Traced(): MethodDecorator {
  return (_target, _key, descriptor) => {
    const original = descriptor.value as unknown as (...args: unknown[]) => unknown
    descriptor.value = function (this: unknown, ...args: unknown[]) {
      return original.apply(this, args)
    } as never
  }
}

@Injectable()
class ProjectsService {
  constructor(@Inject(AuditService) private readonly audit: AuditService) {}
  rename(id: string, name: string): { id: string; name: string } {
    this.audit.current()?.before({ id, name: 'old name' }).after({ id, name })
    return { id, name }
  }
}

@Audit({ resource: { type: 'project' } })
@Controller('projects')
class ProjectsController {
  constructor(@Inject(ProjectsService) private readonly projects: ProjectsService) {}

  @Post()
  create(@Body() body: { name: string }, @AuditContext() audit: AuditRequestContext) {
    audit.after({ name: body.name, token: 'secret-value' })
    return { id: 'p-1', ...body }
  }

  @Patch(':projectId')
  rename(@Param('projectId') id: string, @Body() body: { name: string }) {
    return this.projects.rename(id, body.name)
  }

  @Post(':projectId/archive')
  @HttpCode(204)
  @Audit({ action: 'project_shelved', metadata: { reason: 'test' } })
  archive() {}

  @Delete(':projectId')
  @UseGuards(AdminGuard)
  @Audit({ action: 'project_removed' })
  remove() {
    return { deleted: true }
  }

  @Post(':projectId/tasks/:position')
  addTask(@Param('position', ParseIntPipe) position: number) {
    return { position }
  }

  @Post(':projectId/explode')
  explode() {
    throw new Error('boom')
  }

  @Post(':projectId/copies')
  @UseFilters(QuotaFilter)
  copy() {
    throw new QuotaExceeded('too many copies')
  }

  /** Answers through the library's response object (no passthrough): Nest sends nothing itself. */
  @Post(':projectId/publish')
  publish(@Res() res: LibraryResponse) {
    answer(res, 202, { queued: true })
  }

  /** Returns before answering: the response is sent later, outside the handler. */
  @Post(':projectId/import')
  import(@Res() res: LibraryResponse) {
    setTimeout(() => answer(res, 409, { error: 'conflict' }), 30)
  }

  /** The same, through a wrapping decorator: the function Nest calls is not named after the method. */
  @Post(':projectId/sync')
  @Traced()
  sync(@Res() res: LibraryResponse) {
    setTimeout(() => answer(res, 409, { error: 'conflict' }), 30)
  }
  /** Nest sends the redirect after the interceptor, with the status of @Redirect() (or the one the handler returns). */
  @Post(':projectId/open')
  @Redirect('https://example.com/projects', 303)
  open() {}

  @Post('ping')
  @AuditIgnore()
  ping() {
    return 'pong'
  }

  @Get('report')
  @Audit({ action: 'report_exported', force: true })
  report() {
    return []
  }
}

@Module({ controllers: [ProjectsController], providers: [ProjectsService] })
class ProjectsModule {}

/** A controller left out of the log, but for the handler that asks to be recorded. */
@Controller('health')
@AuditIgnore()
class HealthController {
  @Post('ping')
  ping() {
    return 'pong'
  }

  @Post('restart')
  @Audit({ action: 'service_restarted', resource: { type: 'service', id: 'api' } })
  restart() {
    return { restarting: true }
  }
}

/** The reverse: every handler recorded, but for the one that opts out. */
@Controller('jobs')
@Audit({ resource: { type: 'job' } })
class JobsController {
  @Post('run')
  run() {
    return { started: true }
  }

  @Post('heartbeat')
  @AuditIgnore()
  heartbeat() {
    return 'ok'
  }
}

describe('AuditModule (platform-express)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'auditkit-nest-'))
  let store: AuditStore
  let logger: AuditLogger
  const apps: INestApplication[] = []
  const range = { from: '2000-01-01T00:00:00.000Z', to: '2999-01-01T00:00:00.000Z', limit: 50 }

  beforeAll(() => {
    store = createSqliteStore({ path: join(dir, 'audit.db') })
    logger = createAuditLogger({ store })
  })
  afterAll(async () => {
    for (const app of apps) await app.close()
    await logger.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  async function start(audit: DynamicModule, setup?: (app: NestExpressApplication) => void): Promise<string> {
    @Module({ imports: [audit, ProjectsModule] })
    class AppModule {}
    const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger: false })
    setup?.(app)
    await app.listen(0, '127.0.0.1')
    apps.push(app)
    return `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`
  }

  const options = (tenant: string, extra: Partial<AuditModuleOptions> = {}): AuditModuleOptions => ({ logger, tenant: () => tenant, ...extra })

  async function eventsOf(tenant: string): Promise<AuditEvent[]> {
    await logger.flush()
    return (await store.query({ tenantId: tenant, ...range })).items.reverse()
  }

  const post = (url: string, body?: object, headers: Record<string, string> = {}) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body ?? {}) })

  describe('forRoot', () => {
    let base: string
    beforeAll(async () => {
      base = await start(AuditModule.forRoot(options('t-root')), (app) => app.setGlobalPrefix('api'))
    })

    it('records the full route pattern, the 201 Nest answers POST with, and @AuditContext() changes', async () => {
      const res = await post(`${base}/api/projects`, { name: 'Apollo' }, { 'user-agent': 'nest-test', 'x-request-id': 'r-1' })
      expect(res.status).toBe(201)
      await post(`${base}/api/projects/p-1/archive`)
      const res2 = await fetch(`${base}/api/projects/p-9`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Gemini' }),
      })
      expect(res2.status).toBe(200)
      const [created, archived, renamed] = await eventsOf('t-root')
      expect(created).toMatchObject({
        action: 'project_created',
        resource: { type: 'project' },
        outcome: 'success',
        changes: { after: { name: 'Apollo', token: '[REDACTED]' } },
        context: { method: 'POST', route: '/api/projects', path: '/api/projects', status: 201, ip: '127.0.0.1', userAgent: 'nest-test', requestId: 'r-1' },
      })
      // Handler @Audit() wins over the controller's, field by field; @HttpCode() is the recorded status.
      expect(archived).toMatchObject({ action: 'project_shelved', resource: { type: 'project', id: 'p-1' }, metadata: { reason: 'test' }, context: { status: 204 } })
      // AuditService.current() in a service reaches the request's context.
      expect(renamed).toMatchObject({ action: 'project_updated', changes: { before: { name: 'old name' }, after: { name: 'Gemini' } } })
    })

    it('records guard denials, pipe rejections and thrown errors as failures', async () => {
      expect((await fetch(`${base}/api/projects/p-2`, { method: 'DELETE', headers: { 'x-user': 'u-5' } })).status).toBe(403)
      expect((await post(`${base}/api/projects/p-2/tasks/first`)).status).toBe(400)
      expect((await post(`${base}/api/projects/p-2/explode`)).status).toBe(500)
      expect((await post(`${base}/api/projects/p-2/copies`)).status).toBe(422)
      expect((await fetch(`${base}/api/projects/p-2`, { method: 'DELETE', headers: { 'x-user': 'u-5', 'x-role': 'admin' } })).status).toBe(200)
      const events = await eventsOf('t-root')
      const failures = events.filter((e) => e.outcome === 'failure')
      expect(failures.map((e) => [e.action, e.context?.status, e.context?.route])).toEqual([
        // Refused by a handler guard, yet the handler's @Audit() applies (AuditHandlerGuard ran first).
        ['project_removed', 403, '/api/projects/:projectId'],
        ['project_updated', 400, '/api/projects/:projectId/tasks/:position'],
        ['project_exploded', 500, '/api/projects/:projectId/explode'],
        // The status an exception filter chose, as the client saw it.
        ['project_created', 422, '/api/projects/:projectId/copies'],
      ])
      expect(failures[0]?.actor).toEqual({ type: 'user', id: 'u-5', name: 'Ada' })
      expect(events.at(-1)).toMatchObject({ action: 'project_removed', outcome: 'success', actor: { id: 'u-5' } })
    })

    it("records a route that does not exist under the global prefix from its path, not Nest's catch-all 404 route", async () => {
      const before = (await eventsOf('t-root')).length
      expect((await post(`${base}/api/widgets`)).status).toBe(404)
      const [event] = (await eventsOf('t-root')).slice(before)
      expect(event).toMatchObject({ action: 'resource_created', resource: { type: 'resource' }, outcome: 'failure', context: { status: 404, path: '/api/widgets' } })
      expect(event?.context?.route).toBeUndefined()
    })

    it('records handlers that answer through @Res() with the status the client got, even when sent after returning', async () => {
      const before = (await eventsOf('t-root')).length
      expect((await post(`${base}/api/projects/p-3/publish`)).status).toBe(202)
      expect((await post(`${base}/api/projects/p-3/import`)).status).toBe(409)
      const events = (await eventsOf('t-root')).slice(before)
      expect(events.map((e) => [e.action, e.outcome, e.context?.status])).toEqual([
        ['project_published', 'success', 202],
        ['project_imported', 'failure', 409],
      ])
    })

    it('skips @AuditIgnore() handlers and reads, and records reads marked with force', async () => {
      const before = (await eventsOf('t-root')).length
      expect((await post(`${base}/api/projects/ping`)).status).toBe(201)
      expect((await fetch(`${base}/api/projects/report`)).status).toBe(200)
      const events = await eventsOf('t-root')
      expect(events.slice(before).map((e) => e.action)).toEqual(['report_exported'])
    })
  })

  it('records a 404 no handler took (a version or host that did not match) as a route that does not exist, not as the route that passed it on', async () => {
    @Controller({ path: 'reports', version: '1' })
    class ReportsController {
      @Patch(':reportId')
      update() {
        return {}
      }
    }
    @Controller({ path: 'widgets', host: 'admin.example.test' })
    class WidgetsController {
      @Post(':widgetId')
      create() {
        return {}
      }
    }
    @Module({ imports: [AuditModule.forRoot(options('t-unrouted'))], controllers: [ReportsController, WidgetsController] })
    class UnroutedModule {}
    const app = await NestFactory.create(UnroutedModule, { logger: false })
    app.enableVersioning({ type: VersioningType.HEADER, header: 'x-api-version' })
    await app.listen(0, '127.0.0.1')
    apps.push(app)
    const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`
    const patch = (version: string) => fetch(`${base}/reports/r-1`, { method: 'PATCH', headers: { 'x-api-version': version } })
    expect((await patch('1')).status).toBe(200)
    expect((await patch('9')).status).toBe(404)
    // fetch sends Host: 127.0.0.1, which the controller's host does not match.
    expect((await post(`${base}/widgets/w-1`)).status).toBe(404)
    expect((await eventsOf('t-unrouted')).map((e) => [e.action, e.resource, e.outcome, e.context?.status, e.context?.route])).toEqual([
      ['report_updated', { type: 'report', id: 'r-1' }, 'success', 200, '/reports/:reportId'],
      ['resource_updated', { type: 'resource' }, 'failure', 404, undefined],
      ['resource_created', { type: 'resource' }, 'failure', 404, undefined],
    ])
  })

  it('on platform-fastify too, records @Res() handlers with the status sent after returning', async () => {
    @Module({ imports: [AuditModule.forRoot(options('t-fastify-res')), ProjectsModule] })
    class FastifyAppModule {}
    const app = await NestFactory.create(FastifyAppModule, new FastifyAdapter(), { logger: false })
    await app.listen(0, '127.0.0.1')
    apps.push(app)
    const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`
    expect((await post(`${base}/projects/p-5/publish`)).status).toBe(202)
    expect((await post(`${base}/projects/p-5/import`)).status).toBe(409)
    expect((await eventsOf('t-fastify-res')).map((e) => [e.action, e.outcome, e.context?.status])).toEqual([
      ['project_published', 'success', 202],
      ['project_imported', 'failure', 409],
    ])
  })

  it('on platform-fastify, records a guard denial with the user an earlier guard attached, as actor and tenant', async () => {
    const tenantOf = (req: { user?: unknown }) => (req.user as { id?: string } | undefined)?.id ?? 'nobody'
    @Module({ imports: [AuditModule.forRoot({ logger, tenant: (req) => `t-fastify-guard-${tenantOf(req)}` }), ProjectsModule] })
    class FastifyGuardModule {}
    const app = await NestFactory.create(FastifyGuardModule, new FastifyAdapter(), { logger: false })
    await app.listen(0, '127.0.0.1')
    apps.push(app)
    const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`
    // AdminGuard sets request.user, then refuses: Nest middleware on Fastify gets Node's request, which lacks it.
    expect((await fetch(`${base}/projects/p-8`, { method: 'DELETE', headers: { 'x-user': 'u-7' } })).status).toBe(403)
    expect((await eventsOf('t-fastify-guard-u-7')).map((e) => [e.action, e.outcome, e.context?.status, e.actor])).toEqual([
      ['project_removed', 'failure', 403, { type: 'user', id: 'u-7', name: 'Ada' }],
    ])
  })

  it.each(['express', 'fastify'] as const)(
    "applies @Audit() and @AuditIgnore() to requests refused by the app's global guards too: APP_GUARD and useGlobalGuards (%s)",
    async (platform) => {
      const tenant = `t-global-guard-${platform}`
      /** A global authentication guard as Nest's docs set one up (APP_GUARD in the root module). */
      @Injectable()
      class JwtGuard implements CanActivate {
        canActivate(context: ExecutionContext): boolean {
          if (!context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-user']) throw new UnauthorizedException()
          return true
        }
      }
      class KeyGuard implements CanActivate {
        canActivate(context: ExecutionContext): boolean {
          if (context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-key'] === 'revoked') throw new ForbiddenException()
          return true
        }
      }
      @Module({ imports: [AuditModule.forRoot(options(tenant)), ProjectsModule], providers: [{ provide: APP_GUARD, useClass: JwtGuard }] })
      class GlobalGuardModule {}
      const app = platform === 'express' ? await NestFactory.create(GlobalGuardModule, { logger: false }) : await NestFactory.create(GlobalGuardModule, new FastifyAdapter(), { logger: false })
      app.useGlobalGuards(new KeyGuard())
      await app.listen(0, '127.0.0.1')
      apps.push(app)
      const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`
      expect((await post(`${base}/projects/ping`)).status).toBe(401)
      expect((await post(`${base}/projects/p-1/archive`)).status).toBe(401)
      expect((await post(`${base}/projects/p-1/archive`, {}, { 'x-user': 'u-1', 'x-key': 'revoked' })).status).toBe(403)
      expect((await post(`${base}/projects/p-1/archive`, {}, { 'x-user': 'u-1' })).status).toBe(204)
      expect((await eventsOf(tenant)).map((e) => [e.action, e.outcome, e.context?.status, e.metadata])).toEqual([
        ['project_shelved', 'failure', 401, { reason: 'test' }],
        ['project_shelved', 'failure', 403, { reason: 'test' }],
        ['project_shelved', 'success', 204, { reason: 'test' }],
      ])
    },
  )

  it('in await delivery, records @Res() handlers once they answered (they cannot be held), with the status sent', async () => {
    const base = await start(AuditModule.forRoot(options('t-await-res', { delivery: 'await' })))
    expect((await post(`${base}/projects/p-4/publish`)).status).toBe(202)
    expect((await post(`${base}/projects/p-4/import`)).status).toBe(409)
    expect((await post(`${base}/projects/p-4/sync`)).status).toBe(409)
    expect((await post(`${base}/projects`, { name: 'Held' })).status).toBe(201)
    const events = await eventsOf('t-await-res')
    expect(events.map((e) => [e.action, e.outcome, e.context?.status])).toEqual([
      ['project_published', 'success', 202],
      ['project_imported', 'failure', 409],
      ['project_synced', 'failure', 409],
      ['project_created', 'success', 201],
    ])
  })

  it.each(['express', 'fastify'] as const)(
    'in await delivery, records thrown errors with the status the exception filters sent, before it goes out (%s)',
    async (platform) => {
      const tenant = `t-await-error-${platform}`
      @Module({ imports: [AuditModule.forRoot(options(tenant, { delivery: 'await' })), ProjectsModule] })
      class AwaitModule {}
      const app = platform === 'express' ? await NestFactory.create(AwaitModule, { logger: false }) : await NestFactory.create(AwaitModule, new FastifyAdapter(), { logger: false })
      await app.listen(0, '127.0.0.1')
      apps.push(app)
      const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`
      expect((await post(`${base}/projects/p-6/copies`)).status).toBe(422)
      expect((await post(`${base}/projects/p-6/explode`)).status).toBe(500)
      expect((await post(`${base}/projects/p-6/tasks/first`)).status).toBe(400)
      // Read without flushing: each event was durable before its response went out.
      const events = (await store.query({ tenantId: tenant, ...range })).items.reverse()
      expect(events.map((e) => [e.action, e.outcome, e.context?.status])).toEqual([
        ['project_created', 'failure', 422],
        ['project_exploded', 'failure', 500],
        ['project_updated', 'failure', 400],
      ])
    },
  )

  it.each(['express', 'fastify'] as const)(
    'records requests ended before routing: by app.use() middleware (429), bodies refused as malformed (400) or too large (413) (%s)',
    async (platform) => {
      const tenant = `t-before-routing-${platform}`
      @Module({ imports: [AuditModule.forRoot(options(tenant)), ProjectsModule] })
      class BeforeRoutingModule {}
      const app = platform === 'express' ? await NestFactory.create(BeforeRoutingModule, { logger: false }) : await NestFactory.create(BeforeRoutingModule, new FastifyAdapter(), { logger: false })
      // A rate limiter as main.ts would add it, before AuditModule's own middleware is mounted by app.init().
      app.use((req: { headers: Record<string, string | undefined> }, res: { statusCode: number; end(body: string): void }, next: () => void) => {
        if (!req.headers['x-over-limit']) return next()
        res.statusCode = 429
        res.end('slow down')
      })
      await app.listen(0, '127.0.0.1')
      apps.push(app)
      const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`
      const send = (body: string, headers: Record<string, string> = {}) =>
        fetch(`${base}/projects`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
      expect((await send('{}', { 'x-over-limit': '1' })).status).toBe(429)
      expect((await send('{"name": ')).status).toBe(400)
      expect((await send(JSON.stringify({ name: 'x'.repeat(2_000_000) }))).status).toBe(413)
      expect((await eventsOf(tenant)).map((e) => [e.action, e.outcome, e.context?.status])).toEqual([
        ['project_created', 'failure', 429],
        ['project_created', 'failure', 400],
        ['project_created', 'failure', 413],
      ])
    },
  )

  it.each(['express', 'fastify'] as const)(
    "records a cross-origin POST that Nest's app.enableCsrfProtection() refuses (403), with its route (%s)",
    async (platform) => {
      const tenant = `t-csrf-${platform}`
      @Module({ imports: [AuditModule.forRoot(options(tenant)), ProjectsModule] })
      class CsrfModule {}
      const app = platform === 'express' ? await NestFactory.create(CsrfModule, { logger: false }) : await NestFactory.create(CsrfModule, new FastifyAdapter(), { logger: false })
      // On Fastify, Nest runs this check in an onRequest hook of its own, ahead of all middleware.
      app.enableCsrfProtection()
      await app.listen(0, '127.0.0.1')
      apps.push(app)
      const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`
      const patch = (site: string) =>
        fetch(`${base}/projects/p-3`, { method: 'PATCH', headers: { 'content-type': 'application/json', 'sec-fetch-site': site }, body: '{"name":"Vega"}' })
      expect((await patch('cross-site')).status).toBe(403)
      expect((await patch('same-origin')).status).toBe(200)
      expect((await eventsOf(tenant)).map((e) => [e.action, e.outcome, e.context?.status, e.resource.id])).toEqual([
        ['project_updated', 'failure', 403, 'p-3'],
        ['project_updated', 'success', 200, 'p-3'],
      ])
    },
  )

  it.each(['express', 'fastify'] as const)('in both deliveries, records the status of a @Redirect() handler as sent (%s)', async (platform) => {
    for (const delivery of ['async', 'await'] as const) {
      const tenant = `t-redirect-${platform}-${delivery}`
      @Module({ imports: [AuditModule.forRoot(options(tenant, { delivery })), ProjectsModule] })
      class RedirectModule {}
      const app = platform === 'express' ? await NestFactory.create(RedirectModule, { logger: false }) : await NestFactory.create(RedirectModule, new FastifyAdapter(), { logger: false })
      await app.listen(0, '127.0.0.1')
      apps.push(app)
      const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`
      const res = await fetch(`${base}/projects/p-7/open`, { method: 'POST', redirect: 'manual' })
      expect(res.status).toBe(303)
      // In await delivery the redirect is durable before it goes out: read without flushing.
      const events = delivery === 'await' ? (await store.query({ tenantId: tenant, ...range })).items : await eventsOf(tenant)
      expect(events.map((e) => [e.action, e.outcome, e.context?.status])).toEqual([['project_opened', 'success', 303]])
    }
  })

  it('without asyncContext, @AuditContext() still reaches the record and AuditService.current() is undefined', async () => {
    const base = await start(AuditModule.forRoot(options('t-no-als', { asyncContext: false })))
    await post(`${base}/projects`, { name: 'Vega' })
    await fetch(`${base}/projects/p-3`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Lyra' }) })
    const [created, renamed] = await eventsOf('t-no-als')
    expect(created?.changes).toEqual({ after: { name: 'Vega', token: '[REDACTED]' } })
    expect(renamed).toMatchObject({ action: 'project_updated' })
    expect(renamed?.changes).toBeUndefined()
  })

  it("lets a handler's @Audit() record on a controller marked @AuditIgnore(), and a handler's @AuditIgnore() win over its controller's @Audit()", async () => {
    @Module({ imports: [AuditModule.forRoot(options('t-precedence'))], controllers: [HealthController, JobsController] })
    class PrecedenceModule {}
    const app = await NestFactory.create<NestExpressApplication>(PrecedenceModule, { logger: false })
    await app.listen(0, '127.0.0.1')
    apps.push(app)
    const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`
    for (const path of ['health/ping', 'health/restart', 'jobs/run', 'jobs/heartbeat']) expect((await post(`${base}/${path}`)).status).toBe(201)
    expect((await eventsOf('t-precedence')).map((e) => [e.action, e.resource])).toEqual([
      ['service_restarted', { type: 'service', id: 'api' }],
      ['job_run', { type: 'job' }],
    ])
  })

  it('reads the client IP from req.ip, so Express trust proxy decides about X-Forwarded-For', async () => {
    const trusting = await start(AuditModule.forRoot(options('t-proxy')), (app) => app.set('trust proxy', 'loopback'))
    const direct = await start(AuditModule.forRoot(options('t-direct')))
    await post(`${trusting}/projects`, { name: 'a' }, { 'x-forwarded-for': '203.0.113.5' })
    await post(`${direct}/projects`, { name: 'b' }, { 'x-forwarded-for': '203.0.113.5' })
    expect((await eventsOf('t-proxy'))[0]?.context?.ip).toBe('203.0.113.5')
    expect((await eventsOf('t-direct'))[0]?.context?.ip).toBe('127.0.0.1')
  })

  it('builds its options with forRootAsync (useFactory, useClass, useExisting)', async () => {
    @Injectable()
    class AuditConfig implements AuditOptionsFactory {
      createAuditOptions(): AuditModuleOptions {
        return options('t-class')
      }
    }
    @Module({ providers: [AuditConfig], exports: [AuditConfig] })
    class ConfigModule {}
    const TENANT = Symbol('TENANT')
    @Module({ providers: [{ provide: TENANT, useValue: 't-factory' }], exports: [TENANT] })
    class TenantModule {}

    const viaFactory = await start(
      AuditModule.forRootAsync({ imports: [TenantModule], inject: [TENANT], useFactory: async (tenant: string) => options(tenant) }),
    )
    const viaClass = await start(AuditModule.forRootAsync({ useClass: AuditConfig }))
    const viaExisting = await start(AuditModule.forRootAsync({ imports: [ConfigModule], useExisting: AuditConfig }))
    for (const base of [viaFactory, viaClass, viaExisting]) expect((await post(`${base}/projects`, { name: 'c' })).status).toBe(201)
    expect(await eventsOf('t-factory')).toHaveLength(1)
    expect(await eventsOf('t-class')).toHaveLength(2)
  })

  it('AuditService.record() writes events of background jobs as the system actor', async () => {
    @Module({ imports: [AuditModule.forRoot(options('t-job', { defaultTenantId: 't-job' }))] })
    class JobModule {}
    const context = await NestFactory.createApplicationContext(JobModule, { logger: false })
    try {
      await context.get(AuditService).record({ action: 'report_generated', resource: { type: 'report', id: 'weekly' }, metadata: { rows: 12 } }, { delivery: 'await' })
    } finally {
      await context.close()
    }
    expect(await eventsOf('t-job')).toMatchObject([
      { action: 'report_generated', actor: { type: 'system', id: 'system' }, outcome: 'success', metadata: { rows: 12 } },
    ])
  })
})
