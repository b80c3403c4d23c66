export type { AuditHttpRequest, AuditModuleAsyncOptions, AuditModuleOptions, AuditOptionsFactory } from './audit-module-options.interface.js'
export type { AuditDecoratorOptions } from './audit-options.interface.js'
