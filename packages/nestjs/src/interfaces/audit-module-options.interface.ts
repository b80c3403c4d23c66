import type { IncomingHttpHeaders } from 'node:http'
import type { AuditCaptureOptions, AuditLogger } from '@auditkit/core'
import type { InjectionToken, ModuleMetadata, OptionalFactoryDependency, Type } from '@nestjs/common'

/**
 * The request the option callbacks receive: Express's `Request` on platform-express, Fastify's `FastifyRequest` on
 * platform-fastify. Read your own properties with `req['tenantId']`.
 */
export interface AuditHttpRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  /** Client IP as the platform resolved it (honours `app.set('trust proxy', ...)` / Fastify's `trustProxy`). */
  ip?: string
  /** What an auth guard attached (Passport and most Nest auth guides use `req.user`). */
  user?: unknown
  params?: Record<string, string | undefined>
  [key: string]: unknown
}

export interface AuditModuleOptions extends Omit<AuditCaptureOptions<AuditHttpRequest>, 'logger' | 'actor'> {
  /** The logger events are recorded through, e.g. `createAuditLogger({ store: createSqliteStore({ path }) })`. You close it. Required. */
  logger: AuditLogger
  /**
   * Who made the request; `null`/`undefined` records an anonymous user.
   * @default `req.user` (on Fastify also `req.raw.user`, where middleware put it) mapped by core's `actorFromUser` (`{ id, type?, name?, email? }`)
   */
  actor?: AuditCaptureOptions<AuditHttpRequest>['actor']
  /**
   * Header carrying the request id recorded in `context.requestId`.
   * @default 'x-request-id'
   */
  requestIdHeader?: string
  /**
   * Run each handler inside AsyncLocalStorage, so that `AuditService.current()` finds the request's audit context
   * anywhere below the handler. `false` saves that cost: on Node 20 the storage hooks every promise of the process,
   * about 30 µs of CPU a request in `bench:nestjs-overhead` (reads included), unless the app already uses
   * AsyncLocalStorage (OpenTelemetry, nestjs-cls). `@AuditContext()` keeps working; `current()` returns undefined.
   * @default true
   */
  asyncContext?: boolean
  /**
   * Tenant of events recorded with `AuditService.record()` when the call names none.
   * @default 'default'
   */
  defaultTenantId?: string
}

/** Implemented by a class given to `forRootAsync({ useClass })` or `forRootAsync({ useExisting })`. */
export interface AuditOptionsFactory {
  /** Builds the module's options; called once, when the module is created. */
  createAuditOptions(): AuditModuleOptions | Promise<AuditModuleOptions>
}

/** `AuditModule.forRootAsync()` options: one of `useFactory`, `useClass` or `useExisting` is required. */
export interface AuditModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /**
   * Modules whose exported providers `inject` or `useExisting` name (e.g. `ConfigModule`).
   * @default []
   */
  imports?: ModuleMetadata['imports']
  /**
   * Builds the options; its arguments are the `inject` providers. Wins over `useClass` and `useExisting`.
   * @default undefined
   */
  useFactory?: (...args: never[]) => AuditModuleOptions | Promise<AuditModuleOptions>
  /**
   * Providers passed to `useFactory`, in order.
   * @default []
   */
  inject?: (InjectionToken | OptionalFactoryDependency)[]
  /**
   * A class the module instantiates to build the options (`createAuditOptions()`).
   * @default undefined
   */
  useClass?: Type<AuditOptionsFactory>
  /**
   * An existing provider (from `imports`) that builds the options; wins over `useClass`.
   * @default undefined
   */
  useExisting?: InjectionToken<AuditOptionsFactory>
}
