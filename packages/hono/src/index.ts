export { auditMiddleware } from './audit-middleware.js'
export type { AuditMiddlewareOptions } from './audit-middleware.js'
export { auditAdminApp } from './admin-app.js'
export type { AuditAdminAppOptions } from './admin-app.js'
