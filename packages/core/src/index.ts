export { AUDIT_ERROR_CODES, AuditKitError, isAuditKitError } from './errors.js'
export type { AuditErrorCode, AuditErrorDetail } from './errors.js'

export { ACTION_PATTERN, ACTOR_TYPES, EVENT_FIELDS, OUTCOMES, RESOURCE_TYPE_PATTERN, createEventValidator } from './event/schema.js'
export type {
  Actor,
  ActorType,
  AuditEvent,
  AuditEventInput,
  Changes,
  JsonObject,
  JsonValue,
  Outcome,
  RequestContext,
  ResourceRef,
  UnsealedEvent,
} from './event/schema.js'
export { DEFAULT_EVENT_LIMITS } from './event/limits.js'
export type { EventLimits } from './event/limits.js'

export { uuidv7, UUID_PATTERN } from './ids/uuidv7.js'
export { DEFAULT_REDACT_KEYS, REDACTED, createRedactor } from './redaction/redact.js'
export type { RedactionOptions } from './redaction/redact.js'

export { canonicalize } from './integrity/canonical.js'
export { GENESIS_HASH, computeEventHash, createSealer, hashedContent } from './integrity/hash.js'
export type { ChainHead, Sealer } from './integrity/hash.js'

export { createAuditLogger } from './logger/audit-logger.js'
export type {
  AuditLogger,
  AuditLoggerOptions,
  AuditLoggerStats,
  DeliveryMode,
  RecordOptions,
  RecordResult,
  RetryOptions,
} from './logger/audit-logger.js'

export { ANONYMOUS_ACTOR, createAuditCapture, createDetachedAuditContext, statusOfError } from './capture/audit-capture.js'
export type {
  AuditCapture,
  AuditCaptureOptions,
  AuditOverrides,
  AuditRequestContext,
  CaptureHandle,
  CaptureRequest,
  CaptureResult,
} from './capture/audit-capture.js'
export { deriveOperation, pastTense, singularize } from './capture/derive-action.js'
export {
  DEFAULT_REQUEST_ID_HEADER,
  READ_METHODS,
  actorFromUser,
  clip,
  firstHeaderValue,
  isReadMethod,
  normalizeIp,
} from './capture/request-facts.js'
export { compileTrustProxy, resolveClientIp } from './capture/client-ip.js'
export type { ClientIpInput, TrustProxy } from './capture/client-ip.js'
export type { DerivedOperation } from './capture/derive-action.js'

export { eventSearchText, normaliseSearchTerm } from './store/search-text.js'
export type {
  ActorFacet,
  AuditStore,
  EventCursor,
  EventFilter,
  EventPage,
  EventQuery,
  FacetCount,
  Facets,
  SignedCheckpoint,
  StreamOptions,
} from './store/types.js'
