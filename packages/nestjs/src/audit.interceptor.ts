import {
  clientLeft,
  createDetachedAuditContext,
  holdEndUntilSettled,
  whenResponseClosed,
  type AuditCapture,
  type AuditRequestContext,
  type CaptureHandle,
  type HoldableResponse,
} from '@auditkit/core'
import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common'
import { Reflector } from '@nestjs/core'
import { Observable, type Observer } from 'rxjs'
import { AUDIT_REQUEST_CONTEXT, auditContextStorage } from './audit-context.storage.js'
import { AUDIT_CAPTURE, AUDIT_MODULE_OPTIONS } from './audit.constants.js'
import { applyAuditMetadata } from './audit-metadata.js'
import { claimRequest, toCaptureRequest } from './audit-request.js'
import { injectDependencies } from './inject-dependencies.js'
import type { AuditHttpRequest, AuditModuleOptions } from './interfaces/audit-module-options.interface.js'

/** Node's response: Express's response is one; Fastify's reply wraps one in `raw`. */
function nodeResponseOf(res: object): HoldableResponse {
  return ((res as { raw?: HoldableResponse }).raw ?? res) as HoldableResponse
}

/**
 * Records each HTTP request a handler runs for. Registered globally by `AuditModule` (APP_INTERCEPTOR).
 * It only translates: Nest's request, the handler's `@Audit()` metadata and the outcome go to core's capture.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  /** Whether handlers run inside the AsyncLocalStorage that `AuditService.current()` reads. */
  private readonly useStorage: boolean

  constructor(
    private readonly capture: AuditCapture<AuditHttpRequest>,
    private readonly options: AuditModuleOptions,
    private readonly reflector: Reflector,
  ) {
    this.useStorage = options.asyncContext !== false
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle()
    // getArgByIndex() is switchToHttp().getRequest()/getResponse() without the three closures switchToHttp() adds to
    // the context on every call.
    const req = context.getArgByIndex<AuditHttpRequest & Record<symbol, unknown>>(0)
    const res = context.getArgByIndex<{ statusCode: number }>(1)
    claimRequest(req)
    const handle = this.capture.begin(req, toCaptureRequest(req, this.options))
    // A request skipped up front still gets a context, so handler code using the audit context works everywhere.
    const auditContext = handle?.context ?? createDetachedAuditContext()
    req[AUDIT_REQUEST_CONTEXT] = auditContext
    if (!handle) return this.handled(auditContext, next)

    const { answersItself, redirects } = applyAuditMetadata(this.reflector, context.getHandler(), context.getClass(), auditContext)

    // A handler answering through @Res() sends its response itself, possibly after returning: it cannot be held, and
    // its outcome is known only once the response is sent.
    if (this.capture.delivery !== 'await' || answersItself) {
      // Record what the client got, once sent: an outer interceptor, a serializer, the exception filters or a @Res()
      // handler may still change the status after the handler. Reads get no listener unless something forces them.
      handle.onRecordable(() => recordWhenSent(handle, res))
      return this.handled(auditContext, next)
    }

    // In await delivery the response goes on once the event is durable.
    return new Observable((subscriber) => {
      let settled = false
      const observer: Partial<Observer<unknown>> = {
        next: (value) => subscriber.next(value),
        error: (error: unknown) => {
          settled = true
          // The exception filters answer only after this, with a status the error need not carry (a filter answering
          // a domain error with 422): record what they send, holding the end of their response until it is durable.
          holdEndUntilRecorded(handle, nodeResponseOf(res))
          subscriber.error(error)
        },
        complete: () => {
          settled = true
          if (redirects) {
            // Nest sends the redirect after this, with the status of @Redirect() or the handler's result: record that
            // status, holding the end of the redirect until the event is durable.
            holdEndUntilRecorded(handle, nodeResponseOf(res))
            subscriber.complete()
            return
          }
          // Nest does not unsubscribe when the client leaves while the handler runs: ask the connection, so that such
          // a request is recorded as in the other adapters (a failure marked responseAborted).
          void handle.end({ status: res.statusCode, aborted: clientLeft(nodeResponseOf(res)) }).then(() => subscriber.complete())
        },
      }
      const subscription = this.handled(auditContext, next).subscribe(observer)
      return () => {
        subscription.unsubscribe()
        // Torn down before the handler settled: the client went away, and whether the change happened is unknown.
        if (!settled) void handle.end({ status: res.statusCode, aborted: true })
      }
    })
  }

  /** The pipes and the handler, run on subscription: inside the storage unless `asyncContext` is false. */
  private handled(auditContext: AuditRequestContext, next: CallHandler): Observable<unknown> {
    return this.useStorage ? runInStorage(auditContext, next) : next.handle()
  }
}

/** Records the request once its response has been sent (or the connection dropped first), with the status sent. */
function recordWhenSent(handle: CaptureHandle, res: object): void {
  const raw = nodeResponseOf(res)
  whenResponseClosed(raw, (aborted) => void handle.end({ status: raw.statusCode, aborted }))
}

/**
 * `await` delivery of a response sent after the interceptor (by the exception filters): its real `end` runs once
 * the event is durable (bounded by the logger's `awaitTimeoutMs`), recorded with the status actually sent.
 */
function holdEndUntilRecorded(handle: CaptureHandle, raw: HoldableResponse): void {
  holdEndUntilSettled(raw, (aborted) => handle.end({ status: raw.statusCode, aborted }))
}

/** Runs the pipes and the handler inside the storage, so that `AuditService.current()` finds this request. */
function runInStorage(auditContext: AuditRequestContext, next: CallHandler): Observable<unknown> {
  return new Observable((subscriber) => auditContextStorage.run(auditContext, () => next.handle().subscribe(subscriber)))
}
injectDependencies(AuditInterceptor, [AUDIT_CAPTURE, AUDIT_MODULE_OPTIONS, Reflector])
