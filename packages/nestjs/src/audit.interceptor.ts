import { createDetachedAuditContext, type AuditCapture, type AuditRequestContext, type CaptureResult } from '@auditkit/core'
import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common'
import { Reflector } from '@nestjs/core'
import { Observable } from 'rxjs'
import { AUDIT_REQUEST_CONTEXT, auditContextStorage } from './audit-context.storage.js'
import { AUDIT_CAPTURE, AUDIT_MODULE_OPTIONS } from './audit.constants.js'
import { applyAuditMetadata } from './audit-metadata.js'
import { claimRequest, toCaptureRequest } from './audit-request.js'
import { injectDependencies } from './inject-dependencies.js'
import type { AuditHttpRequest, AuditModuleOptions } from './interfaces/audit-module-options.interface.js'

/** Subscribing runs the pipes and the handler: inside the storage, so `AuditService.current()` finds this request. */
function runInStorage(auditContext: AuditRequestContext, next: CallHandler): Observable<unknown> {
  return new Observable((subscriber) => auditContextStorage.run(auditContext, () => next.handle().subscribe(subscriber)))
}

function runPlain(_auditContext: AuditRequestContext, next: CallHandler): Observable<unknown> {
  return next.handle()
}

interface NodeResponse {
  statusCode: number
  writableFinished: boolean
  once(event: 'close', listener: () => void): unknown
}

/** Node's response: Express's response is one; Fastify's reply wraps one in `raw`. */
function nodeResponseOf(res: object): NodeResponse {
  return ((res as { raw?: NodeResponse }).raw ?? res) as NodeResponse
}

/**
 * Records each HTTP request a handler runs for. Registered globally by `AuditModule` (APP_INTERCEPTOR).
 * It only translates: Nest's request, the handler's `@Audit()` metadata and the outcome go to core's capture.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  private readonly runIn: typeof runInStorage

  constructor(
    private readonly capture: AuditCapture<AuditHttpRequest>,
    private readonly options: AuditModuleOptions,
    private readonly reflector: Reflector,
  ) {
    this.runIn = options.asyncContext === false ? runPlain : runInStorage
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle()
    const http = context.switchToHttp()
    const req = http.getRequest<AuditHttpRequest & Record<symbol, unknown>>()
    const res = http.getResponse<{ statusCode: number }>()
    claimRequest(req)
    const handle = this.capture.begin(req, toCaptureRequest(req, this.options))
    // A request skipped up front still gets a context, so handler code using the audit context works everywhere.
    const auditContext = handle?.context ?? createDetachedAuditContext()
    req[AUDIT_REQUEST_CONTEXT] = auditContext
    if (!handle) return this.runIn(auditContext, next)

    applyAuditMetadata(this.reflector, [context.getHandler(), context.getClass()], auditContext)

    const holdResponse = this.capture.delivery === 'await'
    return new Observable((subscriber) => {
      let settled = false
      // Resolves when the response may go on: at once in async delivery, once durable in await delivery.
      const finish = (result: CaptureResult): Promise<unknown> => {
        settled = true
        const recorded = handle.end(result)
        return holdResponse ? recorded : Promise.resolve()
      }
      const subscription = this.runIn(auditContext, next).subscribe({
        next: (value) => subscriber.next(value),
        error: (error: unknown) => {
          if (holdResponse) {
            // The exception filters answer only after this: the status is the one the error carries (else 500).
            void finish({ status: res.statusCode, error }).then(() => subscriber.error(error))
            return
          }
          // Not holding the response: record the status the exception filters actually sent.
          settled = true
          const raw = nodeResponseOf(res)
          raw.once('close', () => void handle.end({ status: raw.statusCode, aborted: !raw.writableFinished }))
          subscriber.error(error)
        },
        complete: () => void finish({ status: res.statusCode }).then(() => subscriber.complete()),
      })
      return () => {
        subscription.unsubscribe()
        // Torn down before the handler settled: the client went away, and whether the change happened is unknown.
        if (!settled) void handle.end({ status: res.statusCode, aborted: true })
      }
    })
  }
}
injectDependencies(AuditInterceptor, [AUDIT_CAPTURE, AUDIT_MODULE_OPTIONS, Reflector])
