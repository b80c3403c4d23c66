import type { JsonObject } from '../event/schema.js'
import { boundRequestContext } from '../capture/request-facts.js'
import { adminRequestContext } from './admin-request-context.js'
import type { RouteDeps } from './routes.js'
import type { AdminScope } from './types.js'

/**
 * Records an admin's download of the log (CSV or NDJSON) as `audit_log_exported` in their tenant's chain.
 * Never fails the download: a logger problem is reported to `onError`.
 */
export async function recordExport(scope: AdminScope, deps: RouteDeps, metadata: JsonObject, failed: boolean): Promise<void> {
  if (!deps.logger) return
  try {
    await deps.logger.record({
      tenantId: scope.tenantId,
      actor: scope.actor,
      action: 'audit_log_exported',
      resource: { type: 'audit_log' },
      outcome: failed ? 'failure' : 'success',
      context: boundRequestContext(adminRequestContext(scope, 200), deps.logger.limits),
      metadata,
    })
  } catch (error) {
    // The logger already reported it (queue full, store down); the download itself is not affected.
    deps.onError(error)
  }
}
