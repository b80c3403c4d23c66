import { AuditKitError, actorFromUser, createAuditCapture, type AuditCapture } from '@auditkit/core'
import {
  Global,
  Module,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestModule,
  type OnModuleInit,
  type Provider,
} from '@nestjs/common'
import { APP_GUARD, APP_INTERCEPTOR, ApplicationConfig, HttpAdapterHost } from '@nestjs/core'
import { AUDIT_CAPTURE, AUDIT_LOGGER, AUDIT_MODULE_OPTIONS } from './audit.constants.js'
import { AuditHandlerGuard } from './audit.guard.js'
import { AuditInterceptor } from './audit.interceptor.js'
import { AuditMiddleware } from './audit.middleware.js'
import { AuditService } from './audit.service.js'
import { rememberFastifyRoutes } from './audit-request.js'
import { injectDependencies } from './inject-dependencies.js'
import type {
  AuditHttpRequest,
  AuditModuleAsyncOptions,
  AuditModuleOptions,
  AuditOptionsFactory,
} from './interfaces/audit-module-options.interface.js'

/** Providers built from the options, shared by `forRoot` and `forRootAsync`. */
const derivedProviders: Provider[] = [
  { provide: AUDIT_LOGGER, useFactory: (options: AuditModuleOptions) => options.logger, inject: [AUDIT_MODULE_OPTIONS] },
  { provide: AUDIT_CAPTURE, useFactory: createCapture, inject: [AUDIT_MODULE_OPTIONS] },
  AuditService,
  AuditMiddleware,
  { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
  { provide: APP_GUARD, useClass: AuditHandlerGuard },
]

const exported = [AuditService, AUDIT_LOGGER, AUDIT_MODULE_OPTIONS]

/**
 * `req.user`, as guards and Passport set it. On platform-fastify, Nest middleware receives Node's request rather
 * than Fastify's, so a user that middleware attached is found on `req.raw`.
 */
function defaultActor(req: AuditHttpRequest): ReturnType<typeof actorFromUser> {
  return actorFromUser(req.user ?? (req.raw as { user?: unknown } | undefined)?.user)
}

function createCapture(options: AuditModuleOptions): AuditCapture<AuditHttpRequest> {
  if (!options?.logger) throw new AuditKitError('INVALID_OPTIONS', 'AuditModule needs a `logger` (createAuditLogger({ store }))')
  const { actor = defaultActor, ...rest } = options
  return createAuditCapture<AuditHttpRequest>({ ...rest, actor })
}

/**
 * Records every mutating request of the app: import it once in the root module.
 * `AuditModule.forRoot({ logger })`, or `AuditModule.forRootAsync({ imports, inject, useFactory })` to build the
 * options from other providers (configuration, a database connection).
 */
@Global()
@Module({})
export class AuditModule implements NestModule, OnModuleInit {
  static forRoot(options: AuditModuleOptions): DynamicModule {
    return {
      module: AuditModule,
      global: true,
      providers: [{ provide: AUDIT_MODULE_OPTIONS, useValue: options }, ...derivedProviders],
      exports: exported,
    }
  }

  static forRootAsync(options: AuditModuleAsyncOptions): DynamicModule {
    return {
      module: AuditModule,
      global: true,
      imports: options.imports ?? [],
      providers: [...asyncOptionsProviders(options), ...derivedProviders],
      exports: exported,
    }
  }

  /** Whether the middleware is mounted on the HTTP adapter yet (see `mountMiddleware`). */
  private mounted = false

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly middleware: AuditMiddleware,
    private readonly appConfig: ApplicationConfig,
  ) {
    // Mounted from configure() alone, the middleware would come after what the app registers earlier, which can end a
    // request unrecorded: platform-express's body parsers (malformed JSON: 400, too large: 413) and the app's own
    // `app.use()` (a rate limiter's 429). The module is built before both, so mount it now when the adapter can.
    this.mountMiddleware()
  }

  /**
   * On platform-fastify, lets the fallback middleware know the route of requests that guards deny, and records the
   * requests answered by Fastify hooks that run ahead of all middleware (`app.enableCsrfProtection()`).
   */
  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter as { getType(): string; getInstance(): object } | undefined
    if (adapter?.getType() === 'fastify') {
      rememberFastifyRoutes(adapter.getInstance() as Parameters<typeof rememberFastifyRoutes>[0], (request, status) =>
        this.middleware.record(request, status, false),
      )
    }
  }

  /**
   * Guards run before interceptors: the middleware records the requests they deny (see `AuditMiddleware`). It is
   * mounted on the HTTP adapter for every path, before Nest's routes, rather than with `forRoutes('{*path}')`: that
   * would match a route pattern on every request only to find that it applies to all of them.
   */
  configure(_consumer: MiddlewareConsumer): void {
    // For @nestjs/testing apps, whose HTTP adapter is set after the modules are built, and Fastify adapters whose
    // middleware plugin was not registered yet.
    this.mountMiddleware()
    this.runHandlerGuardFirst()
  }

  /**
   * Nest orders global guards by module, the root module's first: an `APP_GUARD` of the app (an authentication guard,
   * as Nest's docs set one up) would refuse before `AuditHandlerGuard` noted the handler, losing its `@Audit()` and
   * `@AuditIgnore()`. Nest reads the list when it registers the routes, after `configure()`: move the guard, which
   * never refuses, to the front then; the app's guards keep their order.
   */
  private runHandlerGuardFirst(): void {
    const guards = this.appConfig.getGlobalGuards()
    const at = guards.findIndex((guard) => guard instanceof AuditHandlerGuard)
    if (at > 0) guards.unshift(...guards.splice(at, 1))
  }

  private mountMiddleware(): void {
    const adapter = this.adapterHost.httpAdapter as { use(handler: AuditMiddleware['use']): unknown; getInstance(): { use?: unknown } } | undefined
    // Fastify takes middleware once Nest registered @fastify/middie on it (when the adapter is initialised).
    if (this.mounted || !adapter || typeof adapter.getInstance().use !== 'function') return
    this.mounted = true
    adapter.use((req, res, next) => this.middleware.use(req, res, next))
  }
}

injectDependencies(AuditModule, [HttpAdapterHost, AuditMiddleware, ApplicationConfig])

function asyncOptionsProviders(options: AuditModuleAsyncOptions): Provider[] {
  if (options.useFactory) {
    return [{ provide: AUDIT_MODULE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }]
  }
  const factory = options.useExisting ?? options.useClass
  if (!factory) throw new AuditKitError('INVALID_OPTIONS', 'AuditModule.forRootAsync() needs useFactory, useClass or useExisting')
  const fromFactory: Provider = {
    provide: AUDIT_MODULE_OPTIONS,
    useFactory: (optionsFactory: AuditOptionsFactory) => optionsFactory.createAuditOptions(),
    inject: [factory],
  }
  return options.useClass ? [fromFactory, { provide: options.useClass, useClass: options.useClass }] : [fromFactory]
}
