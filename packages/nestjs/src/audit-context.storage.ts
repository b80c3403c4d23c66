import { AsyncLocalStorage } from 'node:async_hooks'
import type { AuditRequestContext } from '@auditkit/core'

/** The audit context of the request being handled, for `AuditService.current()` anywhere below a handler. */
export const auditContextStorage = new AsyncLocalStorage<AuditRequestContext>()

/** Where the interceptor leaves the context on the request, for `@AuditContext()`. */
export const AUDIT_REQUEST_CONTEXT = Symbol('auditkit:request-context')
