import { AuditKitError, type AuditErrorCode } from '../errors.js'

/** Headers on every answer: nothing is cached (audit data is sensitive), no MIME sniffing, no framing. */
const SECURITY_HEADERS: Record<string, string> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
}

/** The page loads only its own bundle: no inline script, nothing from other origins. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
/** API answers are data, never a document. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'"

export function withSecurityHeaders(headers: HeadersInit = {}, csp: string = API_CSP): Headers {
  const result = new Headers(headers)
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) result.set(name, value)
  result.set('content-security-policy', csp)
  return result
}

export function jsonResponse(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  const all = withSecurityHeaders(headers)
  all.set('content-type', 'application/json; charset=utf-8')
  return new Response(JSON.stringify(body), { status, headers: all })
}

const STATUS_BY_CODE: Partial<Record<AuditErrorCode, number>> = {
  INVALID_QUERY: 400,
  INVALID_CURSOR: 400,
  INVALID_RANGE: 400,
  INVALID_BODY: 400,
  INVALID_SETTINGS: 400,
  ENDPOINT_NOT_ALLOWED: 400,
  INVALID_EVENT: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  RATE_LIMITED: 429,
  STORE_UNAVAILABLE: 503,
}

/** Codes whose message may contain internals (driver errors, file paths): callers get a generic text instead. */
const GENERIC_MESSAGES: Partial<Record<AuditErrorCode, string>> = {
  STORE_UNAVAILABLE: 'The audit log store is unavailable; try again shortly.',
  // A server setting, not the admin's input: the admin can only pass this on to whoever runs the server.
  SECRET_KEY_ERROR:
    "Collector header values cannot be encrypted or decrypted on this server: its secretKey is missing, invalid or was changed. The server's operator must set it (see docs/siem.md).",
}
const INTERNAL_MESSAGE = 'An unexpected error occurred; the server log has the details.'

/** HTTP status for an error code; codes without a client-side meaning are 500. */
export function statusOfCode(code: AuditErrorCode): number {
  return STATUS_BY_CODE[code] ?? 500
}

/**
 * The JSON error answer `{ error: { code, message } }`. Client errors keep their message (it says what to fix);
 * anything else becomes a generic message so that no stack trace or internal detail leaks.
 */
export function errorResponse(error: unknown, headers: HeadersInit = {}): Response {
  if (error instanceof AuditKitError) {
    const status = statusOfCode(error.code)
    if (status < 500) {
      const body = error.details.length > 0 ? { code: error.code, message: error.message, details: error.details } : { code: error.code, message: error.message }
      return jsonResponse({ error: body }, status, headers)
    }
    const message = GENERIC_MESSAGES[error.code]
    if (message !== undefined) return jsonResponse({ error: { code: error.code, message } }, status, headers)
  }
  return jsonResponse({ error: { code: 'INTERNAL', message: INTERNAL_MESSAGE } }, 500, headers)
}
