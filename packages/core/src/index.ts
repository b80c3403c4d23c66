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
export { parseCheckpoints } from './integrity/anchors.js'
export { checkpointPayload, signCheckpoint, verifyCheckpointSignature } from './integrity/checkpoint.js'
export type { UnsignedCheckpoint } from './integrity/checkpoint.js'
export { checkpointLeaseName, createCheckpointer } from './integrity/checkpointer.js'
export type { Checkpointer, CheckpointerOptions } from './integrity/checkpointer.js'
export { keyFingerprint, toPrivateKey, toPublicKey } from './integrity/keys.js'
export type { KeyInput } from './integrity/keys.js'
export { NDJSON_FORMAT, NDJSON_VERSION, createNdjsonSource, exportNdjson, seqRangeForTimes } from './integrity/ndjson.js'
export type {
  NdjsonChainLine,
  NdjsonCheckpointLine,
  NdjsonEventLine,
  NdjsonExportOptions,
  NdjsonHeaderLine,
  NdjsonLine,
  NdjsonSource,
  NdjsonSourceOptions,
} from './integrity/ndjson.js'
export { createIntegrityService } from './integrity/service.js'
export type { IntegrityReport, IntegrityService, IntegrityServiceOptions, IntegrityWindow } from './integrity/service.js'
export { storeChainSource, toChainSource } from './integrity/source.js'
export type { ChainSource, ChainStore, IndexedChainEvent, IndexedChainReader, SeqRange, StoreChainSourceOptions } from './integrity/source.js'
export { BREAK_REASONS, verifyAll, verifyChain } from './integrity/verify.js'
export type { BreakReason, ChainBreak, ChainVerification, VerifyAllOptions, VerifyAllResult, VerifyChainOptions } from './integrity/verify.js'

export { createAuditLogger } from './logger/audit-logger.js'
export type {
  AuditLogger,
  AuditLoggerErrorInfo,
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
  RouteFacts,
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
export type { HeaderSource } from './capture/request-facts.js'
export { compileTrustProxy, resolveClientIp } from './capture/client-ip.js'
export { clientLeft, holdEndUntilSettled, whenResponseClosed } from './capture/response-closed.js'
export type { ClosingResponse, HoldableResponse } from './capture/response-closed.js'
export type { ClientIpInput, TrustProxy } from './capture/client-ip.js'
export type { DerivedOperation } from './capture/derive-action.js'

export { eventSearchText, normaliseSearchTerm } from './store/search-text.js'
export { storedAsAppended } from './store/stored-by-id.js'
export type {
  ActorFacet,
  AuditStore,
  CheckpointRange,
  EventCursor,
  EventFilter,
  EventPage,
  EventQuery,
  FacetCount,
  Facets,
  SignedCheckpoint,
  StreamOptions,
} from './store/types.js'

export { createAuditAdmin } from './admin/create-audit-admin.js'
export type { AuditAdmin, AuditAdminOptions } from './admin/create-audit-admin.js'
export type {
  AdminAuthorization,
  AdminPrincipal,
  AdminRequestInfo,
  AdminScope,
  AuthorizeAdmin,
  IntegrityAdminService,
  SiemAdminService,
  TimeRange,
} from './admin/types.js'
export { leftOutOfCapture, serveNodeRequest, sendFetchResponse, toFetchRequest } from './admin/node-http.js'
export { adminCaptureOverrides } from './admin/refused-request.js'
export type { NodeAdminHandlerOptions, NodeRequestOptions } from './admin/node-http.js'

export { AUDIT_COLUMNS, COLUMN_LOCALES, DEFAULT_COLUMN_IDS, findColumn } from './csv/columns.js'
export type { AuditColumn, ColumnLocale } from './csv/columns.js'
export { CSV_ROW_END, UTF8_BOM, encodeCsvCell, encodeCsvRow } from './csv/csv-encoder.js'
export { createCsvStream } from './csv/csv-stream.js'
export type { CsvStreamEndInfo, CsvStreamOptions } from './csv/csv-stream.js'

export { createSiemService } from './siem/siem-service.js'
export type {
  MaskedSiemSettings,
  SiemAdminContext,
  SiemDeliveryState,
  SiemErrorInfo,
  SiemService,
  SiemServiceOptions,
  SiemSettingsView,
  SiemStatus,
  SiemStopOptions,
  TestConnectionResult,
} from './siem/siem-service.js'
export { createSiemAdminService } from './siem/siem-admin-service.js'
export { DEFAULT_DENIED_ENDPOINTS } from './siem/endpoint-policy.js'
export type { EndpointPolicy } from './siem/endpoint-policy.js'
export { EXPORT_RESULT_CLASSES, HINTS as SIEM_RESULT_HINTS } from './siem/export-result.js'
export type { ExportFailure, ExportResult, ExportResultClass, ExportSuccess } from './siem/export-result.js'
export { DEFAULT_PORTS as SIEM_DEFAULT_PORTS, SIEM_PROTOCOLS, maskSecret, parseSiemSettings } from './siem/settings.js'
export type { SiemProtocol, SiemSettings, SiemSettingsInput } from './siem/settings.js'
export type { DeliveryCursor, DeliveryError } from './siem/delivery-worker.js'
export { CHECKPOINT_ACTION as SIEM_CHECKPOINT_ACTION } from './siem/otlp-encoding.js'
