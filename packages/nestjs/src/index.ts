export { AuditModule } from './audit.module.js'
export { AuditInterceptor } from './audit.interceptor.js'
export { AuditMiddleware } from './audit.middleware.js'
export { AuditHandlerGuard } from './audit.guard.js'
export { AuditService, SYSTEM_ACTOR } from './audit.service.js'
export type { AuditServiceEvent } from './audit.service.js'
export { Audit, AuditIgnore } from './audit.decorator.js'
export { AuditContext } from './audit-context.decorator.js'
export { AUDIT_CAPTURE, AUDIT_IGNORE_METADATA, AUDIT_LOGGER, AUDIT_METADATA, AUDIT_MODULE_OPTIONS } from './audit.constants.js'
export type {
  AuditDecoratorOptions,
  AuditHttpRequest,
  AuditModuleAsyncOptions,
  AuditModuleOptions,
  AuditOptionsFactory,
} from './interfaces/index.js'
export { AUDIT_ADMIN, AuditAdminModule } from './audit-admin.module.js'
export type { AuditAdminModuleAsyncOptions, AuditAdminModuleOptions } from './audit-admin.module.js'
