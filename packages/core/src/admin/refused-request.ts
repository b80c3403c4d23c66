import type { AuditOverrides } from '../capture/audit-capture.js'
import { matchRoute } from './routes.js'

/**
 * What the app's audit middleware records of an admin request that was refused or failed (a 401 to a settings save,
 * a 403 to an export): the action the admin route stands for, not one derived from its path (`setting_siem_updated`
 * with the targets `admin`, `audit`, `api`), so that a denied change is found under the action its success has.
 */
const refusedRequests = new WeakMap<Response, AuditOverrides>()

const AUDIT_LOG = { type: 'audit_log' } as const
const SIEM_INTEGRATION = { type: 'siem_integration' } as const

function overridesFor(relativePath: string, method: string): AuditOverrides {
  const route = matchRoute(relativePath)?.route.path
  if (route === '/api/settings/siem' && method === 'PUT') return { action: 'siem_config_updated', resource: SIEM_INTEGRATION, targets: [] }
  if (route === '/api/settings/siem/test' && method === 'POST') return { action: 'siem_connection_tested', resource: SIEM_INTEGRATION, targets: [] }
  if ((route === '/api/export.csv' || route === '/api/export.ndjson') && (method === 'GET' || method === 'HEAD'))
    return { action: 'audit_log_exported', resource: AUDIT_LOG, targets: [] }
  // Reads of the log, the page, an unknown admin path or a wrong method: an attempt at the audit log itself.
  return { action: method === 'GET' || method === 'HEAD' ? 'audit_log_viewed' : 'audit_log_accessed', resource: AUDIT_LOG, targets: [] }
}

/** Notes, on the answer to a refused or failed admin request, what the audit middleware should record of it. */
export function markRefused(response: Response, relativePath: string, method: string): Response {
  refusedRequests.set(response, overridesFor(relativePath, method.toUpperCase()))
  return response
}

/**
 * The overrides an adapter hands its audit middleware for an admin answer that is not left out of it (see
 * `leftOutOfCapture`): a refused settings save is recorded as a failed `siem_config_updated` on
 * `{ type: 'siem_integration' }`, a refused export as a failed `audit_log_exported`. Undefined for other answers.
 */
export function adminCaptureOverrides(response: Response): AuditOverrides | undefined {
  return refusedRequests.get(response)
}
