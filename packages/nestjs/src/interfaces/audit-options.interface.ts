import type { AuditOverrides } from '@auditkit/core'

/** What `@Audit()` sets on the events of a handler (or of every handler of a controller). */
export interface AuditDecoratorOptions extends Pick<AuditOverrides, 'action' | 'resource' | 'targets' | 'metadata' | 'tenantId'> {
  /**
   * Record the handler even though it only reads (GET, HEAD, OPTIONS), e.g. `@Audit({ action: 'report_exported', force: true })`.
   * @default false
   */
  force?: boolean
}
