import type { Actor, AuditEventInput, AuditLogger, AuditRequestContext, RecordOptions, RecordResult } from '@auditkit/core'
import { Injectable } from '@nestjs/common'
import { auditContextStorage } from './audit-context.storage.js'
import { AUDIT_LOGGER, AUDIT_MODULE_OPTIONS } from './audit.constants.js'
import { injectDependencies } from './inject-dependencies.js'
import type { AuditModuleOptions } from './interfaces/audit-module-options.interface.js'

/** An event recorded outside a request; `actor`, `tenantId` and `outcome` have defaults. */
export interface AuditServiceEvent extends Omit<AuditEventInput, 'actor' | 'tenantId' | 'outcome'> {
  /**
   * Who did it.
   * @default SYSTEM_ACTOR ({ type: 'system', id: 'system' })
   */
  actor?: Actor
  /**
   * The tenant the event belongs to.
   * @default the module's `defaultTenantId` ('default')
   */
  tenantId?: string
  /**
   * Whether the action succeeded.
   * @default 'success'
   */
  outcome?: AuditEventInput['outcome']
}

/** The actor of events that no person or key caused: scheduled jobs, queues, migrations. */
export const SYSTEM_ACTOR: Actor = { type: 'system', id: 'system' }

/**
 * Inject it anywhere:
 * - `record(event)` writes an event that no HTTP request carries (a background job, as the system actor);
 * - `current()` is the audit context of the request being handled (for before/after values set in a service).
 */
@Injectable()
export class AuditService {
  constructor(
    private readonly logger: AuditLogger,
    private readonly options: AuditModuleOptions,
  ) {}

  /** Records one event through the module's logger. Rejects with `AuditKitError` (e.g. `INVALID_EVENT`). */
  record(event: AuditServiceEvent, options?: RecordOptions): Promise<RecordResult> {
    const { actor = SYSTEM_ACTOR, tenantId = this.options.defaultTenantId ?? 'default', outcome = 'success', ...rest } = event
    return this.logger.record({ ...rest, actor, tenantId, outcome }, options)
  }

  /**
   * The audit context of the HTTP request whose handler is running (found through AsyncLocalStorage), or
   * `undefined` outside a handler (and always with `asyncContext: false`). A request that is not recorded (a read,
   * a `skip`ped one) gets a context that records nothing, so the calling code stays the same.
   */
  current(): AuditRequestContext | undefined {
    return auditContextStorage.getStore()
  }
}
injectDependencies(AuditService, [AUDIT_LOGGER, AUDIT_MODULE_OPTIONS])
