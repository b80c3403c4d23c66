/**
 * The outcome of one OTLP export, classified for people: Test Connection shows it, the delivery status keeps the
 * last one. Messages are written by AuditKit; the collector's response body is never echoed.
 */
export const EXPORT_RESULT_CLASSES = [
  'ok',
  'connection_refused',
  'timeout',
  'dns_failure',
  'tls_error',
  'unauthorized',
  'forbidden',
  'path_mismatch',
  'unavailable',
  'invalid_config',
  'endpoint_not_allowed',
  'network_error',
  'unexpected_response',
] as const
export type ExportResultClass = (typeof EXPORT_RESULT_CLASSES)[number]

export interface ExportFailure {
  ok: false
  result: Exclude<ExportResultClass, 'ok'>
  /** What happened, e.g. `HTTP 401 from collector:4318` or `gRPC status 16 (UNAUTHENTICATED) while sending to collector:4317`. */
  message: string
  /** What to check, after the manual's troubleshooting list. */
  hint: string
  /** HTTP status, when the collector answered over HTTP. */
  httpStatus?: number
  /** gRPC status code, when the call ended with one. */
  grpcCode?: number
  /** How long the collector asked to wait (HTTP `Retry-After`). */
  retryAfterMs?: number
}

export interface ExportSuccess {
  ok: true
  result: 'ok'
  message: string
  hint: string
  /** Records the collector refused inside an accepted request (OTLP `partial_success`): never to be sent again. */
  rejectedRecords?: number
}

export type ExportResult = ExportSuccess | ExportFailure

export const HINTS: Record<ExportResultClass, string> = {
  ok: 'The collector accepted the record. Search your SIEM for audit.action = test_connection.',
  connection_refused:
    'Nothing accepted the connection: check the endpoint host and port (gRPC usually 4317, HTTP/Protobuf 4318) and that the collector is reachable from this server.',
  timeout:
    'The collector did not answer in time: check the host and port, firewalls, and that the collector is reachable from this server.',
  dns_failure: 'The host name does not resolve: check the spelling of the endpoint host.',
  tls_error:
    'The TLS handshake failed: the collector must present a certificate trusted by a public CA (or the configured CA) for this host name, and the URL scheme must match (https:// for TLS).',
  unauthorized: 'The collector refused the credentials (401): check the Authorization header value and that the bearer token is valid.',
  forbidden: 'The collector refused access (403): check the Authorization header value and that the token may write logs.',
  path_mismatch:
    'The collector has no logs endpoint at this URL (404/405): HTTP/Protobuf needs the full logs path (e.g. https://collector.example.com:4318/v1/logs); gRPC uses the base URL only.',
  unavailable: 'The collector is overloaded or unavailable (429, 502, 503, 504): delivery retries with backoff; check the collector\'s health and limits.',
  invalid_config: 'The settings are invalid: see the details for each field.',
  endpoint_not_allowed:
    'This endpoint is refused by the server\'s endpoint policy (unspecified addresses such as 0.0.0.0, link-local and cloud metadata addresses are never allowed).',
  network_error:
    'The connection broke: check that the protocol (gRPC vs HTTP/Protobuf) matches the port, that the scheme matches the collector (https:// for a collector with TLS, http:// for one without), and any proxy or firewall in between.',
  unexpected_response:
    'The collector answered in an unexpected way: check the protocol (gRPC vs HTTP/Protobuf) and that the URL points at an OTLP collector, not a redirect.',
}

export function failure(
  result: ExportFailure['result'],
  message: string,
  extra: Partial<Pick<ExportFailure, 'httpStatus' | 'grpcCode' | 'retryAfterMs'>> = {},
): ExportFailure {
  return { ok: false, result, message, hint: HINTS[result], ...extra }
}

export const SUCCESS: ExportSuccess = { ok: true, result: 'ok', message: 'The collector accepted the record', hint: HINTS.ok }

/** Node error codes (socket, DNS, TLS, HTTP parser) to classes; undefined when the text names none of them. */
export function classifyErrorCode(code: string | undefined, text = ''): ExportFailure['result'] | undefined {
  const value = `${code ?? ''} ${text}`
  if (/ECONNREFUSED/.test(value)) return 'connection_refused'
  if (/ENOTFOUND|EAI_AGAIN|EAI_NONAME|EAI_FAIL|Name resolution failed/i.test(value)) return 'dns_failure'
  if (/CERT|SELF_SIGNED|self[- ]signed|certificate|ERR_TLS|ERR_SSL|EPROTO|SSL|TLS|handshake|wrong version number/i.test(value)) return 'tls_error'
  if (/ETIMEDOUT|ESOCKETTIMEDOUT|timed out/i.test(value)) return 'timeout'
  // An answer that is not HTTP/1.1, typically a gRPC (HTTP/2-only) port behind an HTTP/protobuf endpoint.
  if (/HPE_/.test(value)) return 'unexpected_response'
  // grpc-js's "Failed to connect": the TCP connection opened but closed before HTTP/2 began, typically http:// to a
  // TLS port. Not the collector's UNAVAILABLE status: nothing answered.
  if (/EHOSTUNREACH|ENETUNREACH|ECONNRESET|EPIPE|socket hang up|Protocol error|Failed to connect/i.test(value)) return 'network_error'
  return undefined
}

/** HTTP statuses to classes (2xx is success and never reaches here). */
export function classifyHttpStatus(status: number): ExportFailure['result'] {
  if (status === 401) return 'unauthorized'
  if (status === 403) return 'forbidden'
  if (status === 404 || status === 405) return 'path_mismatch'
  if (status === 429 || status === 502 || status === 503 || status === 504) return 'unavailable'
  return 'unexpected_response'
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** The answer to a request the collector accepted, with the records it refused (OTLP partial success), if any. */
export function accepted(rejectedRecords: number): ExportSuccess {
  return rejectedRecords > 0 ? { ...SUCCESS, rejectedRecords } : SUCCESS
}
