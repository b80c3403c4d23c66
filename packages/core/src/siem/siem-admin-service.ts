import type { AdminScope, SiemAdminService } from '../admin/types.js'
import type { RequestContext } from '../event/schema.js'
import type { SiemAdminContext, SiemService } from './siem-service.js'

function adminContext(scope: AdminScope): SiemAdminContext {
  const userAgent = scope.request.headers.get('user-agent') ?? undefined
  const context: RequestContext = {
    method: scope.request.method,
    path: scope.url.pathname,
    ...(scope.ip ? { ip: scope.ip } : {}),
    ...(userAgent ? { userAgent: userAgent.slice(0, 512) } : {}),
  }
  return { actor: scope.actor, context }
}

/**
 * Connects the SIEM service to the admin routes (`siem` option of `createAuditAdmin`): the tenant is always the
 * admin's own, and the admin is the actor of `siem_config_updated` and the key of the Test Connection rate limit.
 */
export function createSiemAdminService(siem: SiemService): SiemAdminService {
  return {
    getSettings: (scope) => siem.getSettings(scope.tenantId),
    saveSettings: (scope, body) => siem.updateSettings(scope.tenantId, body, adminContext(scope)),
    testConnection: (scope, body) => siem.testConnection(scope.tenantId, body, adminContext(scope)),
  }
}
