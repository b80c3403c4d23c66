import type { RequestContext } from '../event/schema.js'
import type { AdminScope } from './types.js'

/**
 * The request facts of an admin's own event (an export, a settings change), as they came: bound them with the
 * capture's `boundRequestContext` and the recording logger's limits.
 */
export function adminRequestContext(scope: AdminScope, status?: number): RequestContext {
  const context: RequestContext = { method: scope.request.method.toUpperCase(), path: scope.url.pathname }
  if (status !== undefined) context.status = status
  if (scope.ip !== undefined) context.ip = scope.ip
  const userAgent = scope.request.headers.get('user-agent')
  if (userAgent) context.userAgent = userAgent
  if (scope.requestId !== undefined) context.requestId = scope.requestId
  return context
}
