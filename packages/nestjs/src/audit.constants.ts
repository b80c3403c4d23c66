/** Injection token of the resolved `AuditModuleOptions`. */
export const AUDIT_MODULE_OPTIONS = Symbol('AUDIT_MODULE_OPTIONS')
/** Injection token of the `AuditLogger` the module records through (the one passed in the options). */
export const AUDIT_LOGGER = Symbol('AUDIT_LOGGER')
/** Injection token of the module's `AuditCapture` (core's request-capture pipeline). */
export const AUDIT_CAPTURE = Symbol('AUDIT_CAPTURE')

/** Reflect-metadata key of `@Audit()` options. */
export const AUDIT_METADATA = 'auditkit:audit'
/** Reflect-metadata key of `@AuditIgnore()`. */
export const AUDIT_IGNORE_METADATA = 'auditkit:ignore'
