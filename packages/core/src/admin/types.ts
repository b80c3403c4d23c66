import type { Actor } from '../event/schema.js'

/** Who is calling the admin routes, as decided by the host app's `authorize`. */
export interface AdminPrincipal {
  /** The only tenant whose events this admin may see; never taken from the query. */
  tenantId: string
  /** The admin, recorded as the actor of what they do here (e.g. `audit_log_exported`). */
  actor: Actor
}

/**
 * The host app's access decision for one request:
 * a principal for an audit-log admin, `null` when the request carries no credentials it accepts (401),
 * `'forbidden'` for an authenticated caller who is not an admin (403).
 */
export type AdminAuthorization = AdminPrincipal | null | 'forbidden'

/**
 * The host app's gate. `native` is the framework's own request as the adapter mounting the handler received it
 * (Express `req`, Hono's `Context`, the Node request under NestJS), so that what the app's own auth middleware
 * resolved (`req.user`, `req.session`, `c.get('jwtPayload')`) decides. The adapters always pass it; a bare `fetch`
 * call without `info.native` passes `undefined`.
 */
export type AuthorizeAdmin<Native = unknown> = (request: Request, native: Native) => AdminAuthorization | Promise<AdminAuthorization>

/** What an adapter knows about a request beyond the Fetch `Request`. */
export interface AdminRequestInfo<Native = unknown> {
  /**
   * Path prefix the handler is mounted at for this request (Express `req.baseUrl`); overrides the `basePath` option.
   * @default the handler's `basePath`
   */
  basePath?: string
  /**
   * Client IP as the framework resolved it (it honours the app's proxy settings); recorded on exports.
   * @default none
   */
  ip?: string
  /**
   * The request id the framework settled on (Hono's `requestId()` middleware makes one when the client sent none),
   * recorded on the admin's own events.
   * @default the value of the `requestIdHeader` option's header
   */
  requestId?: string
  /**
   * The framework's own request, handed to `authorize` as its second argument.
   * @default undefined
   */
  native?: Native
}

/** Everything a route needs about the caller. */
export interface AdminScope extends AdminPrincipal {
  request: Request
  url: URL
  ip?: string
  /** The request id header's value (the `requestIdHeader` option), if any. */
  requestId?: string
}

/** A time window `[from, to)`, ISO 8601 UTC with milliseconds. */
export interface TimeRange {
  from: string
  to: string
}

/**
 * SIEM settings behind `GET/PUT {base}/api/settings/siem` and `POST {base}/api/settings/siem/test`,
 * implemented by the SIEM module. Answers are sent as JSON; throw `AuditKitError` for bad input
 * (`INVALID_SETTINGS`, `ENDPOINT_NOT_ALLOWED`, `RATE_LIMITED`, ...).
 */
export interface SiemAdminService {
  /** Current settings with secrets masked, plus delivery status. */
  getSettings(scope: AdminScope): Promise<unknown>
  /** Validates and saves the settings (the body as parsed JSON); answers what `getSettings` would. */
  saveSettings(scope: AdminScope, body: unknown): Promise<unknown>
  /** Sends one real record with the submitted values without saving them; answers a classified result. */
  testConnection(scope: AdminScope, body: unknown): Promise<unknown>
}

/** Chain verification behind `GET {base}/api/integrity/verify` (and NDJSON export), implemented by the integrity module. */
export interface IntegrityAdminService {
  /** Recomputes the tenant's chain over the range and names the first broken link. */
  verify(scope: AdminScope, range: TimeRange): Promise<unknown>
  /**
   * Every field of every event in the range as NDJSON, for offline verification (`GET {base}/api/export.ndjson`).
   * @default undefined (route answers 404)
   */
  exportNdjson?(scope: AdminScope, range: TimeRange): ReadableStream<Uint8Array> | AsyncIterable<string | Uint8Array>
}
