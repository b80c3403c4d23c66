import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common'
import { rememberTargets } from './audit-request.js'

/**
 * Never refuses: it only notes which handler a request is routed to. Nest runs global guards before controller and
 * handler guards, so when a later guard refuses (a `RolesGuard` answering 403), the middleware that records the
 * refusal still knows the handler's `@Audit()` metadata. Registered globally by `AuditModule` (APP_GUARD).
 */
@Injectable()
export class AuditHandlerGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    // getArgByIndex(0) is switchToHttp().getRequest() without the three closures switchToHttp() adds to the context.
    if (context.getType() === 'http') rememberTargets(context.getArgByIndex<object>(0), context.getHandler(), context.getClass())
    return true
  }
}
