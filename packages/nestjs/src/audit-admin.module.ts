import { createAuditAdmin, serveNodeRequest, type AuditAdmin, type AuditAdminOptions } from '@auditkit/core'
import { HttpAdapterHost } from '@nestjs/core'
import {
  Module,
  type DynamicModule,
  type InjectionToken,
  type MiddlewareConsumer,
  type ModuleMetadata,
  type NestModule,
  type OptionalFactoryDependency,
} from '@nestjs/common'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { claimRequest, overrideRequest } from './audit-request.js'
import { injectDependencies } from './inject-dependencies.js'

export const AUDIT_ADMIN = Symbol('AUDIT_ADMIN')
const AUDIT_ADMIN_PATH = Symbol('AUDIT_ADMIN_PATH')

/**
 * `authorize(request, req)` gets the Node request as the platform passed it to middleware (Express's `req`, or the
 * raw request under Fastify), with what the app's middleware put on it (`req.user` of a session middleware). Nest
 * guards have not run for it. Name its type with `forRoot<express.Request>(...)`.
 */
export interface AuditAdminModuleOptions<Req extends IncomingMessage = IncomingMessage> extends AuditAdminOptions<Req> {
  /**
   * Where the admin routes and page are served, e.g. `admin/audit` (absolute: the app's global prefix does not apply).
   * Required.
   */
  path: string
}

export interface AuditAdminModuleAsyncOptions<Req extends IncomingMessage = IncomingMessage> extends Pick<ModuleMetadata, 'imports'> {
  /**
   * Modules whose providers `useFactory` injects.
   * @default []
   */
  imports?: ModuleMetadata['imports']
  /** Where the admin routes and page are served, e.g. `admin/audit` (absolute, as in `forRoot`). Required. */
  path: string
  /** Builds the `createAuditAdmin` options from other providers (e.g. `AUDIT_LOGGER` of `AuditModule`). Required. */
  useFactory: (...args: never[]) => AuditAdminOptions<Req> | AuditAdmin<Req> | Promise<AuditAdminOptions<Req> | AuditAdmin<Req>>
  /**
   * Providers passed to `useFactory`, as in Nest's factory providers (`{ token, optional: true }` for an optional one).
   * @default []
   */
  inject?: (InjectionToken | OptionalFactoryDependency)[]
}

interface ExpressLikeRequest extends IncomingMessage {
  originalUrl?: string
  baseUrl?: string
  ip?: string
  body?: unknown
}

function toAdmin<Req extends IncomingMessage>(value: AuditAdmin<Req> | AuditAdminOptions<Req>): AuditAdmin<Req> {
  return 'fetch' in value && typeof value.fetch === 'function' ? value : createAuditAdmin(value as AuditAdminOptions<Req>)
}

function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '')
}

/**
 * Serves the admin routes and page at `path` (Nest on Express or Fastify; the path is absolute, a global prefix does not apply):
 * `AuditAdminModule.forRoot({ path: 'admin/audit', logger, authorize })`, or `forRootAsync` to build the
 * options from other providers. Bound as middleware, so Nest guards and pipes do not apply: `authorize` decides.
 */
@Module({})
export class AuditAdminModule implements NestModule {
  constructor(
    private readonly admin: AuditAdmin<ExpressLikeRequest>,
    private readonly path: string,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  static forRoot<Req extends IncomingMessage = IncomingMessage>(options: AuditAdminModuleOptions<Req>): DynamicModule {
    const { path, ...adminOptions } = options
    return {
      module: AuditAdminModule,
      providers: [
        { provide: AUDIT_ADMIN, useValue: createAuditAdmin(adminOptions) },
        { provide: AUDIT_ADMIN_PATH, useValue: trimSlashes(path) },
      ],
      exports: [AUDIT_ADMIN],
    }
  }

  static forRootAsync<Req extends IncomingMessage = IncomingMessage>(options: AuditAdminModuleAsyncOptions<Req>): DynamicModule {
    return {
      module: AuditAdminModule,
      imports: options.imports ?? [],
      providers: [
        {
          provide: AUDIT_ADMIN,
          useFactory: async (...args: never[]) => toAdmin(await options.useFactory(...args)),
          inject: options.inject ?? [],
        },
        { provide: AUDIT_ADMIN_PATH, useValue: trimSlashes(options.path) },
      ],
      exports: [AUDIT_ADMIN],
    }
  }

  /**
   * Mounted with the HTTP adapter's own `use(path, ...)` (a prefix mount, before Nest's routes) rather than
   * `forRoutes('path/{*rest}')`: a route wildcard makes Express decode the rest of the path and answer malformed
   * escapes itself, outside the admin handler's JSON errors.
   */
  configure(_consumer: MiddlewareConsumer): void {
    const adapter = this.adapterHost.httpAdapter as { use(path: string, handler: (req: ExpressLikeRequest, res: ServerResponse, next: (error?: unknown) => void) => void): unknown } | undefined
    if (!adapter) return
    adapter.use(`/${this.path}`, (req, res, next) => {
      serveNodeRequest(this.admin, req, res, {
        originalUrl: req.originalUrl ?? req.url ?? '/',
        basePath: req.baseUrl ?? `/${this.path}`,
        ...(req.ip === undefined ? {} : { ip: req.ip }),
        ...(req.body === undefined ? {} : { parsedBody: req.body }),
        // The admin routes record their own events: AuditModule's middleware leaves a claimed request alone.
        onLeftOutOfCapture: () => claimRequest(req),
        onCaptureOverrides: (overrides) => overrideRequest(req, overrides),
      }).catch(next)
    })
  }
}
// Constructor injection without parameter decorators: see inject-dependencies.ts.
injectDependencies(AuditAdminModule, [AUDIT_ADMIN, AUDIT_ADMIN_PATH, HttpAdapterHost])
