// Context of a fragment that uses @auditkit/core.
import { createAuditAdmin, createAuditLogger, createCheckpointer, createIntegrityService, createNdjsonSource, createSiemAdminService, createSiemService, verifyAll, verifyChain } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
declare const store: import('@auditkit/core').AuditStore
declare const publicKey: string
declare const hmacKey: string
declare const secretKey: string
