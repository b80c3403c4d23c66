import { clip } from '../capture/request-facts.js'
import type { EventLimits } from '../event/limits.js'
import type { RequestContext } from '../event/schema.js'
import type { AdminScope } from './types.js'

/**
 * The request facts of an admin's own event (an export, a settings change), as they came: bound them with
 * `boundRequestContext` and the recording logger's limits.
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

/**
 * Request facts bounded as the capture bounds those of the app's requests, by the limits of the logger that records
 * them (`logger.limits`): a long path, route or user agent is clipped, an over-long IP or request id is left out.
 * Unbounded, one long header would make the event invalid, and the admin's action unrecorded.
 */
export function boundRequestContext(context: RequestContext, limits: Pick<EventLimits, 'maxIdLength' | 'maxTextLength'>): RequestContext {
  const { ip, userAgent, path, route, requestId, ...rest } = context
  const bounded: RequestContext = rest
  if (path !== undefined) bounded.path = clip(path, limits.maxTextLength) as string
  if (route !== undefined) bounded.route = clip(route, limits.maxTextLength) as string
  if (ip !== undefined && ip.length <= 64) bounded.ip = ip
  if (userAgent) bounded.userAgent = clip(userAgent, limits.maxTextLength) as string
  if (requestId && requestId.length <= limits.maxIdLength) bounded.requestId = requestId
  return bounded
}
