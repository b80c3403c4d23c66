import { createDetachedAuditContext, type AuditRequestContext } from '@auditkit/core'
import { createParamDecorator, type ExecutionContext } from '@nestjs/common'
import { AUDIT_REQUEST_CONTEXT } from './audit-context.storage.js'

/**
 * Injects this request's audit context into a handler parameter:
 * `update(@Param('id') id: string, @AuditContext() audit: AuditRequestContext) { audit.before(old).after(updated) }`.
 * For requests that are not recorded (`skip` option) it is a context that records nothing, so handler code stays the same.
 */
export const AuditContext = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuditRequestContext =>
    context.switchToHttp().getRequest<Record<symbol, AuditRequestContext | undefined>>()[AUDIT_REQUEST_CONTEXT] ??
    createDetachedAuditContext(),
)
