import { clip } from '../capture/request-facts.js'
import { DEFAULT_EVENT_LIMITS } from '../event/limits.js'
import type { RequestContext } from '../event/schema.js'
import type { AdminScope } from './types.js'

/**
 * The request facts of an admin's own event (an export, a settings change), bounded as the capture bounds those of
 * the app's requests: a long path or user agent is clipped, an over-long IP or request id is left out.
 */
export function adminRequestContext(scope: AdminScope, status?: number): RequestContext {
  const { maxTextLength, maxIdLength } = DEFAULT_EVENT_LIMITS
  const context: RequestContext = { method: scope.request.method.toUpperCase(), path: clip(scope.url.pathname, maxTextLength) }
  if (status !== undefined) context.status = status
  if (scope.ip !== undefined && scope.ip.length <= 64) context.ip = scope.ip
  const userAgent = scope.request.headers.get('user-agent')
  if (userAgent) context.userAgent = clip(userAgent, maxTextLength)
  if (scope.requestId !== undefined && scope.requestId.length <= maxIdLength) context.requestId = scope.requestId
  return context
}
