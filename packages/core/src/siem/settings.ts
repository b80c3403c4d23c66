import { AuditKitError, type AuditErrorDetail } from '../errors.js'

export const SIEM_PROTOCOLS = ['grpc', 'http/protobuf'] as const
export type SiemProtocol = (typeof SIEM_PROTOCOLS)[number]

/** Default collector ports when the URL names none (as OTLP collectors listen). */
export const DEFAULT_PORTS: Record<SiemProtocol, number> = { grpc: 4317, 'http/protobuf': 4318 }

/** SIEM settings of one tenant, with header values in clear (only in memory, never returned). */
export interface SiemSettings {
  /** Whether events are exported to the collector. */
  enabled: boolean
  /**
   * `grpc`: base URL (`https://collector:4317`); `http/protobuf`: full path (`https://collector:4318/v1/logs`).
   * Empty when none is set (only while `enabled` is false).
   */
  endpoint: string
  /** The OTLP transport: `grpc` or `http/protobuf`. */
  protocol: SiemProtocol
  /** Sent with every export, typically `Authorization: Bearer ...`. */
  headers: Record<string, string>
}

/**
 * What a client sends: `headers` is a JSON object of strings, or its JSON text (the form's text area). A save replaces
 * the tenant's settings as a whole: an omitted field takes its default, not its saved value.
 */
export interface SiemSettingsInput {
  /**
   * Whether events are exported to the collector.
   * @default false
   */
  enabled?: boolean
  /**
   * The collector's URL (`https://` or `http://`), as in {@link SiemSettings.endpoint}; a port may be left out
   * (4317 for `grpc`, 4318 for `http/protobuf`). Required when `enabled` is true.
   * @default '' (none)
   */
  endpoint?: string
  /**
   * The OTLP transport.
   * @default 'grpc'
   */
  protocol?: SiemProtocol
  /**
   * Sent with every export, typically `{ "Authorization": "Bearer ..." }`. On a save, a value equal to its mask (as
   * `getSettings` shows it) keeps the stored secret, if the endpoint's origin is unchanged.
   * @default {} (no headers)
   */
  headers?: string | Record<string, string>
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** gRPC metadata is stricter than HTTP (grpc-js throws otherwise, with the value in its message). */
const GRPC_HEADER_NAME = /^[0-9A-Za-z_.-]+$/
const GRPC_HEADER_VALUE = /^[\x20-\x7e]*$/
/** Set by the transport, or meaningless to a collector: refusing them avoids confusing failures. */
const RESERVED_HEADERS = new Set([
  'content-type',
  'content-length',
  'host',
  'connection',
  'transfer-encoding',
  'te',
  'upgrade',
  'user-agent',
  // Node's HTTP/1.1 client throws on `Trailer` without chunked encoding; HTTP/2 (gRPC) refuses connection headers.
  'trailer',
  'keep-alive',
  'proxy-connection',
  'http2-settings',
])
const MAX_HEADERS = 32
const MAX_HEADER_VALUE = 8192
const MAX_ENDPOINT = 2048
const KNOWN_FIELDS = new Set(['enabled', 'endpoint', 'protocol', 'headers'])

/**
 * `<scheme> <credentials>` of an `Authorization`-style value (RFC 9110 auth-scheme, then the credentials). Leading
 * spaces and tabs are allowed: a value is saved as entered, and a server drops the whitespace around a field value
 * (RFC 9110), so ` Basic <base64>` authenticates and must be masked as Basic credentials.
 */
const AUTH_SCHEME = /^[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]+(\S.*)$/

/**
 * How a secret is shown: its last four characters, the rest hidden; only `****` for eight characters or fewer. After
 * an auth scheme (`Bearer abc123`) the credentials are what is measured, not the scheme, and Basic credentials (base64
 * of `user:password`, whose last characters spell the end of the password) are never shown in part.
 */
export function maskSecret(value: string): string {
  const scheme = AUTH_SCHEME.exec(value)
  if (scheme?.[1]?.toLowerCase() === 'basic') return '****'
  const secret = scheme?.[2] ?? value
  return secret.length > 8 ? `****${secret.slice(-4)}` : '****'
}

function invalid(details: AuditErrorDetail[]): AuditKitError {
  const first = details[0]
  const summary = details.length === 1 && first ? first.message : `${details.length} problems in the SIEM settings`
  return new AuditKitError('INVALID_SETTINGS', summary, { details })
}

function parseHeaders(raw: unknown, protocol: unknown, details: AuditErrorDetail[]): Record<string, string> {
  if (raw === undefined || raw === null || raw === '') return {}
  let value: unknown = raw
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw)
    } catch {
      details.push({ path: 'headers', reason: 'invalid_json', message: 'Headers must be valid JSON, e.g. {"Authorization": "Bearer <token>"}' })
      return {}
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    details.push({ path: 'headers', reason: 'invalid_type', message: 'Headers must be a JSON object of strings, e.g. {"Authorization": "Bearer <token>"}' })
    return {}
  }
  const entries = Object.entries(value)
  if (entries.length > MAX_HEADERS) {
    details.push({ path: 'headers', reason: 'too_many', message: `At most ${MAX_HEADERS} headers are allowed` })
    return {}
  }
  const headers: Record<string, string> = {}
  const seen = new Set<string>()
  for (const [name, headerValue] of entries) {
    const path = `headers.${name}`
    const lower = name.toLowerCase()
    if (!HEADER_NAME.test(name)) {
      details.push({ path, reason: 'invalid_header_name', message: `"${name}" is not a valid header name (letters, digits and !#$%&'*+-.^_\`|~ only)` })
      continue
    }
    // A valid token, but `headers[name] = value` (here and in the service) would set a prototype, not a header: the
    // header was accepted and silently left out. No collector needs it: refused, so that nothing is lost unsaid.
    if (name === '__proto__') {
      details.push({ path, reason: 'invalid_header_name', message: `"${name}" cannot be used as a header name` })
      continue
    }
    if (RESERVED_HEADERS.has(lower) || lower.startsWith('grpc-') || lower.endsWith('-bin')) {
      details.push({ path, reason: 'reserved_header', message: `The header "${name}" is set by AuditKit or by the protocol and cannot be configured` })
      continue
    }
    if (seen.has(lower)) {
      details.push({ path, reason: 'duplicate_header', message: `The header "${name}" is given twice (names are case-insensitive)` })
      continue
    }
    seen.add(lower)
    if (typeof headerValue !== 'string') {
      details.push({ path, reason: 'invalid_type', message: `The value of "${name}" must be a string` })
      continue
    }
    if (/[\r\n\0]/.test(headerValue)) {
      details.push({ path, reason: 'control_character', message: `The value of "${name}" contains a line break (CR/LF) or NUL, which is not allowed` })
      continue
    }
    if (!/^[\t\x20-\x7e]*$/.test(headerValue)) {
      details.push({ path, reason: 'non_ascii', message: `The value of "${name}" must be printable ASCII` })
      continue
    }
    if (protocol === 'grpc' && !GRPC_HEADER_NAME.test(name)) {
      details.push({ path, reason: 'invalid_header_name', message: `"${name}" cannot be sent as gRPC metadata (letters, digits, - _ . only)` })
      continue
    }
    if (protocol === 'grpc' && !GRPC_HEADER_VALUE.test(headerValue)) {
      details.push({ path, reason: 'control_character', message: `The value of "${name}" contains a tab, which gRPC metadata cannot carry` })
      continue
    }
    if (headerValue.length > MAX_HEADER_VALUE) {
      details.push({ path, reason: 'too_long', message: `The value of "${name}" is longer than ${MAX_HEADER_VALUE} characters` })
      continue
    }
    headers[name] = headerValue
  }
  return headers
}

function checkEndpoint(endpoint: string, protocol: SiemProtocol, details: AuditErrorDetail[]): void {
  const example = protocol === 'grpc' ? 'https://collector.example.com:4317' : 'https://collector.example.com:4318/v1/logs'
  if (endpoint.length > MAX_ENDPOINT) {
    details.push({ path: 'endpoint', reason: 'too_long', message: `The endpoint URL is longer than ${MAX_ENDPOINT} characters` })
    return
  }
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) {
    details.push({ path: 'endpoint', reason: 'missing_scheme', message: `The endpoint URL needs a scheme (https:// or http://), e.g. ${example}` })
    return
  }
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    details.push({ path: 'endpoint', reason: 'invalid_url', message: `The endpoint is not a valid URL, e.g. ${example}` })
    return
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    details.push({ path: 'endpoint', reason: 'unsupported_scheme', message: `The scheme "${url.protocol.slice(0, -1)}" is not supported: use https:// (or http:// for a collector without TLS)` })
    return
  }
  if (url.username || url.password) {
    details.push({ path: 'endpoint', reason: 'credentials_in_url', message: 'Put credentials in the headers (they are encrypted), not in the URL' })
  }
  if (url.search || url.hash) {
    details.push({ path: 'endpoint', reason: 'query_not_allowed', message: 'The endpoint URL cannot have a query string or fragment' })
  }
  const hasPath = url.pathname !== '/' && url.pathname !== ''
  if (protocol === 'grpc' && hasPath) {
    details.push({ path: 'endpoint', reason: 'path_not_allowed', message: `gRPC uses the base URL only, without a path: e.g. ${example}` })
  }
  if (protocol === 'http/protobuf' && !hasPath) {
    details.push({ path: 'endpoint', reason: 'path_required', message: `HTTP/Protobuf needs the full logs path, e.g. ${example}` })
  }
}

/**
 * Validates settings from a client (the parsed JSON body: an object); throws `INVALID_SETTINGS` listing every problem.
 * A string is refused, not parsed: it is settings JSON-encoded twice (a client bug), which must not be saved as if sent
 * right. Only `headers` may be JSON text (the form's text area).
 */
export function parseSiemSettings(input: unknown): SiemSettings {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    const message =
      typeof input === 'string'
        ? 'The SIEM settings must be a JSON object, not a JSON string (was the body JSON-encoded twice?)'
        : 'The SIEM settings must be a JSON object'
    throw invalid([{ path: '', reason: 'invalid_type', message }])
  }
  const record = input as Record<string, unknown>
  const details: AuditErrorDetail[] = []
  for (const key of Object.keys(record)) {
    if (!KNOWN_FIELDS.has(key)) details.push({ path: key, reason: 'unknown_field', message: `Unknown field "${key}" (expected enabled, endpoint, protocol, headers)` })
  }
  const enabled = record['enabled'] ?? false
  if (typeof enabled !== 'boolean') details.push({ path: 'enabled', reason: 'invalid_type', message: '"enabled" must be true or false' })
  const protocol = record['protocol'] ?? 'grpc'
  if (typeof protocol !== 'string' || !(SIEM_PROTOCOLS as readonly string[]).includes(protocol)) {
    details.push({ path: 'protocol', reason: 'invalid_value', message: 'The protocol must be "grpc" or "http/protobuf"' })
  }
  const endpoint = record['endpoint'] ?? ''
  if (typeof endpoint !== 'string') details.push({ path: 'endpoint', reason: 'invalid_type', message: 'The endpoint must be a URL string' })
  else if (endpoint.trim() === '') {
    if (enabled === true) details.push({ path: 'endpoint', reason: 'required', message: 'An endpoint URL is required to enable the SIEM integration' })
  } else if (typeof protocol === 'string' && (SIEM_PROTOCOLS as readonly string[]).includes(protocol)) {
    checkEndpoint(endpoint.trim(), protocol as SiemProtocol, details)
  }
  const headers = parseHeaders(record['headers'], protocol, details)
  if (details.length > 0) throw invalid(details)
  return { enabled: enabled as boolean, endpoint: (endpoint as string).trim(), protocol: protocol as SiemProtocol, headers }
}

/** The URL to connect to, with the protocol's default port when the endpoint names none. */
export function effectiveUrl(settings: Pick<SiemSettings, 'endpoint' | 'protocol'>): URL {
  const url = new URL(settings.endpoint)
  // URL drops a port equal to the scheme's default (`:443`), so look at what was written.
  const authority = settings.endpoint.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split('/')[0] ?? ''
  if (url.port === '' && !/:\d+$/.test(authority)) url.port = String(DEFAULT_PORTS[settings.protocol])
  return url
}
