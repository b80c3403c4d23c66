/** Replaced by the build (tsup `define`) and by AuditKit's own test runner with the package's version. */
declare const __AUDITKIT_VERSION__: string | undefined

/**
 * This package's version, as the build stamped it: what the SIEM export names as its OpenTelemetry scope version and
 * `auditkit --version` prints. Undefined only when AuditKit runs from its TypeScript source without that step.
 */
export const AUDITKIT_VERSION: string | undefined = typeof __AUDITKIT_VERSION__ === 'string' ? __AUDITKIT_VERSION__ : undefined
