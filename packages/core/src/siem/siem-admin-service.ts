import type { AdminScope, SiemAdminService } from '../admin/types.js'
import { adminRequestContext } from '../admin/admin-request-context.js'
import type { SiemAdminContext, SiemService } from './siem-service.js'

function adminContext(scope: AdminScope): SiemAdminContext {
  return { actor: scope.actor, context: adminRequestContext(scope) }
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
