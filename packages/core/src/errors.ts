/**
 * Every error AuditKit raises is an `AuditKitError` with one of these codes.
 * The set is closed: codes are part of the public contract (JSON error bodies, logs, `onError`).
 */
export const AUDIT_ERROR_CODES = [
  /** An event failed validation; `details` lists each problem with its path and reason. */
  'INVALID_EVENT',
  /** A value (event, changes, metadata, request body) is larger than its configured bound. */
  'PAYLOAD_TOO_LARGE',
  /** The logger's queue is at `maxQueueSize`; the new event was refused (older events are kept). */
  'QUEUE_FULL',
  /** `record()` was called after `close()`. */
  'LOGGER_CLOSED',
  /** The store failed to write or read; writes are retried with backoff. */
  'STORE_UNAVAILABLE',
  /** Two writers raced for the same chain position; the loser recomputes and retries. */
  'CHAIN_CONFLICT',
  /** `await` delivery did not become durable within `awaitTimeoutMs`; the event stays queued. */
  'AWAIT_TIMEOUT',
  /** Options passed to a factory are invalid. */
  'INVALID_OPTIONS',
  /** A query parameter is unknown, malformed or out of range. */
  'INVALID_QUERY',
  /** A pagination cursor is malformed, tampered with, or belongs to other filters. */
  'INVALID_CURSOR',
  /** A time range is malformed or reversed. */
  'INVALID_RANGE',
  /** A request body is not valid JSON or has the wrong shape. */
  'INVALID_BODY',
  /** SIEM settings are invalid (URL, protocol, headers JSON, ...). */
  'INVALID_SETTINGS',
  /** The SIEM endpoint is refused by the endpoint policy (e.g. cloud metadata addresses). */
  'ENDPOINT_NOT_ALLOWED',
  /** The request carries no credentials the host app accepts. */
  'UNAUTHENTICATED',
  /** The caller is authenticated but not an audit-log admin. */
  'FORBIDDEN',
  /** No such route or event (for this tenant). */
  'NOT_FOUND',
  /** The route exists but not for this HTTP method. */
  'METHOD_NOT_ALLOWED',
  /** Too many requests (e.g. Test Connection) from one admin. */
  'RATE_LIMITED',
  /** Secrets cannot be encrypted or decrypted (missing or wrong key). */
  'SECRET_KEY_ERROR',
  /** Integrity data (chain, checkpoint, signature) could not be read or checked. */
  'INTEGRITY_ERROR',
  /**
   * Turning a request into an event failed outside the pipeline: a `tenant`, `actor` or `skip` option threw.
   * Reported to `onError` and counted in `stats().captureFailures`.
   */
  'CAPTURE_FAILED',
  /** Anything unexpected; the message never includes a stack trace. */
  'INTERNAL',
] as const

export type AuditErrorCode = (typeof AUDIT_ERROR_CODES)[number]

/** One problem found while validating input. */
export interface AuditErrorDetail {
  /** Dotted path of the offending field, e.g. `actor.id`; empty for the whole value. */
  path: string
  /** Stable, machine-readable reason, e.g. `too_long`, `invalid_format`, `required`. */
  reason: string
  /** Human-readable explanation of what to fix. */
  message: string
}

export class AuditKitError extends Error {
  override readonly name = 'AuditKitError'
  readonly code: AuditErrorCode
  readonly details: readonly AuditErrorDetail[]

  constructor(code: AuditErrorCode, message: string, options: { details?: AuditErrorDetail[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.details = options.details ?? []
  }

  toJSON(): { code: AuditErrorCode; message: string; details?: readonly AuditErrorDetail[] } {
    return this.details.length > 0
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message }
  }
}

export function isAuditKitError(value: unknown): value is AuditKitError {
  return value instanceof AuditKitError
}
