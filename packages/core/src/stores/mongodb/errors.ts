import { AuditKitError, isAuditKitError } from '../../errors.js'

interface DriverErrorShape {
  name?: unknown
  code?: unknown
  message?: unknown
  errorLabels?: unknown
  hasErrorLabel?: (label: string) => boolean
  writeErrors?: unknown
  keyPattern?: unknown
  result?: { insertedCount?: unknown }
  insertedCount?: unknown
}

/** Server error codes that mean "try again": elections, shutdowns, network trouble, exceeded time limits. */
const TRANSIENT_CODES = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436, 63, 150, 134, 50])
/** Driver error classes that mean the server was unreachable or the connection dropped. */
const TRANSIENT_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoPoolClearedError',
  'MongoTopologyClosedError',
  'MongoWriteConcernError',
])
const DUPLICATE_KEY = 11000

function shape(error: unknown): DriverErrorShape {
  return typeof error === 'object' && error !== null ? (error as DriverErrorShape) : {}
}

function labelled(error: DriverErrorShape, label: string): boolean {
  if (typeof error.hasErrorLabel === 'function') return error.hasErrorLabel(label)
  return Array.isArray(error.errorLabels) && error.errorLabels.includes(label)
}

/** Worth retrying: the driver's retryable labels, network errors, elections. Duplicate keys never are. */
export function isTransientError(error: unknown): boolean {
  const e = shape(error)
  if (isAuditKitError(error) || isDuplicateKeyError(error)) return false
  return (
    labelled(e, 'RetryableWriteError') ||
    labelled(e, 'TransientTransactionError') ||
    labelled(e, 'ResetPool') ||
    (typeof e.name === 'string' && TRANSIENT_NAMES.has(e.name)) ||
    (typeof e.code === 'number' && TRANSIENT_CODES.has(e.code))
  )
}

/** A duplicate key (E11000), from a single write or from a bulk write's first failed document. */
export function isDuplicateKeyError(error: unknown): boolean {
  const e = shape(error)
  if (e.code === DUPLICATE_KEY) return true
  const first = Array.isArray(e.writeErrors) ? shape(e.writeErrors[0]) : {}
  return first.code === DUPLICATE_KEY
}

/** How many documents of an ordered `insertMany` were written before it failed. */
export function insertedBeforeFailure(error: unknown): number {
  const e = shape(error)
  const count = e.insertedCount ?? e.result?.insertedCount
  return typeof count === 'number' && count > 0 ? count : 0
}

function messageOf(error: unknown): string {
  const message = shape(error).message
  return typeof message === 'string' ? message : String(error)
}

/** An `AuditKitError` for a driver error (AuditKit's own errors pass through). */
export function toStoreError(error: unknown, operation: string): AuditKitError {
  if (isAuditKitError(error)) return error
  return new AuditKitError('STORE_UNAVAILABLE', `mongodb ${operation} failed: ${messageOf(error)}`, { cause: error })
}
