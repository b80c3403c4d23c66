import { SetMetadata } from '@nestjs/common'
import { AUDIT_IGNORE_METADATA, AUDIT_METADATA } from './audit.constants.js'
import type { AuditDecoratorOptions } from './interfaces/audit-options.interface.js'

/**
 * Names what a handler does, for its audit events: `@Audit({ action: 'project_archived', resource: { type: 'project' } })`.
 * On a controller it applies to every handler; a handler's own `@Audit()` wins field by field.
 * Without it, action and resource are derived from the method and route (`DELETE /projects/:id` → `project_deleted`).
 */
export const Audit = (options: AuditDecoratorOptions): MethodDecorator & ClassDecorator => SetMetadata(AUDIT_METADATA, options)

/** Leaves a handler (or every handler of a controller) out of the audit log, e.g. health checks. */
export const AuditIgnore = (): MethodDecorator & ClassDecorator => SetMetadata(AUDIT_IGNORE_METADATA, true)
