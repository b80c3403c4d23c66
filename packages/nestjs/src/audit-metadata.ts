import type { AuditRequestContext } from '@auditkit/core'
import type { Reflector } from '@nestjs/core'
import { AUDIT_IGNORE_METADATA, AUDIT_METADATA } from './audit.constants.js'
import type { AuditDecoratorOptions } from './interfaces/audit-options.interface.js'

/** The handler and its controller class, where `@Audit()` and `@AuditIgnore()` are read from. */
export type AuditTargets = readonly [handler: object, controller: object]

/** Applies a handler's `@AuditIgnore()` and `@Audit()` (controller's first, the handler's winning field by field). */
export function applyAuditMetadata(reflector: Reflector, [handler, controller]: AuditTargets, context: AuditRequestContext): void {
  if (reflector.getAllAndOverride<boolean | undefined>(AUDIT_IGNORE_METADATA, [handler, controller] as never)) context.skip()
  const onController = reflector.get<AuditDecoratorOptions | undefined>(AUDIT_METADATA, controller as never)
  const onHandler = reflector.get<AuditDecoratorOptions | undefined>(AUDIT_METADATA, handler as never)
  if (!onController && !onHandler) return
  const { force, ...overrides } = { ...onController, ...onHandler }
  context.set(overrides)
  if (force) context.force()
}
