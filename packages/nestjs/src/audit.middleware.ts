import { whenResponseClosed, type AuditCapture, type ClosingResponse } from '@auditkit/core'
import { Injectable, type NestMiddleware } from '@nestjs/common'
import { Reflector } from '@nestjs/core'
import { AUDIT_CAPTURE, AUDIT_MODULE_OPTIONS } from './audit.constants.js'
import { isClaimed, overridesOf, platformRequestOf, targetsOf, toCaptureRequest, watchRequest } from './audit-request.js'
import { applyAuditMetadata } from './audit-metadata.js'
import { injectDependencies } from './inject-dependencies.js'
import type { AuditHttpRequest, AuditModuleOptions } from './interfaces/audit-module-options.interface.js'

/**
 * Records the requests that end before any interceptor runs: guards that deny (401/403) and routes that do not
 * exist (404). Nest runs guards before interceptors, so `AuditInterceptor` never sees these; this middleware waits for
 * the response and records it from the status the exception filters chose. Such a request was answered already, so
 * it is recorded without holding the response. The handler's `@Audit()` metadata applies when `AuditHandlerGuard` saw
 * the request before the refusing guard (controller and handler guards; global guards registered after AuditModule).
 */
@Injectable()
export class AuditMiddleware implements NestMiddleware {
  constructor(
    private readonly capture: AuditCapture<AuditHttpRequest>,
    private readonly options: AuditModuleOptions,
    private readonly reflector: Reflector,
  ) {}

  use(req: AuditHttpRequest, res: ClosingResponse, next: (error?: unknown) => void): void {
    watchRequest(req)
    whenResponseClosed(res, (aborted) => this.record(req, res.statusCode, aborted))
    next()
  }

  /**
   * Records a request no interceptor claimed, once answered. Also called for the responses of requests this
   * middleware never saw (on Fastify, those answered by request hooks that run ahead of all middleware).
   */
  record(req: AuditHttpRequest, status: number, aborted: boolean): void {
    if (isClaimed(req)) return
    // On Fastify, Fastify's request: the route, params and `user` that guards set are on it, not on Node's.
    const request = platformRequestOf(req)
    const targets = targetsOf(req)
    // A 404 that reached no handler is Nest's "Cannot PATCH /path": a route whose version or host did not match passed
    // the request on, and platform-express still shows that route's pattern, which no handler served.
    const handle = this.capture.begin(request, toCaptureRequest(request, this.options, status === 404 && !targets))
    if (handle && targets) applyAuditMetadata(this.reflector, targets.handler, targets.controller, handle.context)
    const overrides = overridesOf(req)
    if (handle && overrides) handle.context.set(overrides)
    void handle?.end({ status, aborted })
  }
}
injectDependencies(AuditMiddleware, [AUDIT_CAPTURE, AUDIT_MODULE_OPTIONS, Reflector])
