import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { isIP, type LookupFunction, type Socket } from 'node:net'
import * as grpc from '@grpc/grpc-js'
import { AuditKitError, isAuditKitError } from '../errors.js'
import type { EndpointGuard, ResolvedAddress } from './endpoint-policy.js'
import {
  accepted,
  classifyErrorCode,
  classifyHttpStatus,
  failure,
  parseRetryAfter,
  type ExportFailure,
  type ExportResult,
} from './export-result.js'
import { rejectedLogRecords, retryDelayFromStatusDetails } from './grpc-retry-info.js'
import { effectiveUrl, type SiemSettings } from './settings.js'

/**
 * Sends encoded `ExportLogsServiceRequest`s to one collector. Built only from the tenant's settings: no
 * `OTEL_EXPORTER_OTLP_*` environment variable, no proxy variable and no redirect can change where or what it sends.
 */
export interface OtlpTransport {
  /** `signal` abandons the request (the exporter stops): it then answers `unavailable` at once. */
  send(body: Uint8Array, timeoutMs: number, signal?: AbortSignal): Promise<ExportResult>
  close(): void
}

export interface OtlpTransportOptions {
  settings: Pick<SiemSettings, 'endpoint' | 'protocol' | 'headers'>
  guard: EndpointGuard
  /** Extra trusted CA certificates (PEM) for collectors with a private CA. */
  ca?: string | Buffer | readonly (string | Buffer)[]
  /** Keep connections open between exports (streaming); Test Connection uses a fresh one. */
  keepAlive: boolean
  userAgent: string
}

const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export'
/** An `ExportLogsServiceResponse` is a few bytes; more than this is not one and is not kept. */
const MAX_RESPONSE_BYTES = 65_536

const GRPC_CLASSES: Partial<Record<grpc.status, ExportFailure['result']>> = {
  [grpc.status.UNAUTHENTICATED]: 'unauthorized',
  [grpc.status.PERMISSION_DENIED]: 'forbidden',
  [grpc.status.UNIMPLEMENTED]: 'path_mismatch',
  [grpc.status.DEADLINE_EXCEEDED]: 'timeout',
  [grpc.status.RESOURCE_EXHAUSTED]: 'unavailable',
  [grpc.status.ABORTED]: 'unavailable',
  [grpc.status.CANCELLED]: 'unavailable',
}

/** Resolves and checks the host (endpoint policy) before every connection; DNS and policy failures are classified. */
async function resolveTarget(guard: EndpointGuard, hostname: string): Promise<ResolvedAddress | ExportResult> {
  try {
    return await guard.resolve(hostname)
  } catch (error) {
    if (isAuditKitError(error) && error.code === 'ENDPOINT_NOT_ALLOWED') return failure('endpoint_not_allowed', error.message)
    const code = (error as NodeJS.ErrnoException).code
    return failure(classifyErrorCode(code) ?? 'dns_failure', `Resolving ${hostname} failed (${code ?? 'error'})`)
  }
}

/**
 * `resolveTarget` within the export's time limit: a resolver that never answers (a DNS server dropping queries) must not
 * hold an export, or Test Connection, past `limitMs`, and a stopping exporter abandons it at once.
 */
function resolveWithin(guard: EndpointGuard, hostname: string, limitMs: number, signal: AbortSignal | undefined): Promise<ResolvedAddress | ExportResult> {
  return settleWithin<ResolvedAddress>(limitMs, `${hostname} (resolving its name)`, signal, (settle) => {
    void resolveTarget(guard, hostname).then(settle)
    return () => {} // a lookup cannot be cancelled: its late answer is ignored
  })
}

function isResult(value: { address: string } | ExportResult): value is ExportResult {
  return 'ok' in value
}

export function createOtlpTransport(options: OtlpTransportOptions): OtlpTransport {
  return options.settings.protocol === 'grpc' ? createGrpcTransport(options) : createHttpTransport(options)
}

/** Sockets that have the transport's own 'error' listener: added once per socket, kept for the socket's whole life. */
const guardedSockets = new WeakSet<Socket>()

function ignoreSocketError(): void {
  // The request that used the socket reports its failures; an error after that (a write that failed once the answer
  // was read, while the socket sat in or was leaving the agent's pool) has nobody left to tell, and must not be thrown.
}

/**
 * Node's keep-alive agent removes the request's 'error' listener from a socket when it takes the socket back; a write
 * that fails after that (a collector or proxy that answered before the body was sent, then closed) would emit 'error'
 * with no listener, which ends the process.
 */
function guardSocket(socket: Socket): void {
  if (guardedSockets.has(socket)) return
  guardedSockets.add(socket)
  socket.on('error', ignoreSocketError)
}

function createHttpTransport(options: OtlpTransportOptions): OtlpTransport {
  const url = effectiveUrl(options.settings)
  const secure = url.protocol === 'https:'
  const agent = secure
    ? new HttpsAgent({ keepAlive: options.keepAlive, ...(options.ca ? { ca: options.ca as string | Buffer | (string | Buffer)[] } : {}) })
    : new HttpAgent({ keepAlive: options.keepAlive })
  const hostname = url.hostname.replace(/^\[|\]$/g, '')
  // Named in failures with its port, default or not, as the gRPC transport does; never a header.
  const where = `${url.hostname}:${url.port === '' ? (secure ? 443 : 80) : url.port}`

  return {
    async send(body, timeoutMs, signal) {
      const started = Date.now()
      const target = await resolveWithin(options.guard, hostname, timeoutMs, signal)
      if (isResult(target)) return target
      // The time limit is the whole export's, name resolution included.
      const remainingMs = Math.max(1, timeoutMs - (Date.now() - started))
      // Connect to the address that passed the policy, whatever a second DNS answer would say.
      const pinnedLookup: LookupFunction = (_host, lookupOptions, callback) => {
        if ((lookupOptions as { all?: boolean }).all) {
          ;(callback as unknown as (error: null, addresses: { address: string; family: number }[]) => void)(null, [target])
        } else callback(null, target.address, target.family)
      }
      return settleWithin(remainingMs, where, signal, (settle) => {
        const send = secure ? httpsRequest : httpRequest
        const request = send(
          {
            protocol: url.protocol,
            hostname,
            port: url.port === '' ? undefined : Number(url.port),
            path: url.pathname,
            method: 'POST',
            agent,
            lookup: pinnedLookup,
            ...(secure && isIP(hostname) === 0 ? { servername: hostname } : {}),
            headers: {
              ...options.settings.headers,
              'content-type': 'application/x-protobuf',
              'content-length': String(body.byteLength),
              'user-agent': options.userAgent,
            },
          },
          (response: IncomingMessage) => {
            // Answered before the whole body was handed to the kernel (a collector or proxy that refuses early): what the
            // server does with the rest is unknown, so the connection is never reused, and is closed once the answer
            // is read, which also ends the write of the rest.
            const answeredEarly = !request.writableFinished
            if (answeredEarly) request.shouldKeepAlive = false
            // The body is read for the partial success count only: it is the collector's, never shown to the admin.
            const status = response.statusCode ?? 0
            const chunks: Buffer[] = []
            let size = 0
            response.on('data', (chunk: Buffer) => {
              size += chunk.length
              if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk)
            })
            const done = (): void => {
              if (answeredEarly) request.destroy()
              if (status >= 200 && status < 300) {
                const protobuf = /^application\/(x-)?protobuf/i.test(firstHeader(response.headers['content-type']) ?? '')
                return settle(accepted(protobuf && size <= MAX_RESPONSE_BYTES ? rejectedLogRecords(Buffer.concat(chunks)) : 0))
              }
              const retryAfterMs = parseRetryAfter(firstHeader(response.headers['retry-after']))
              const message =
                status >= 300 && status < 400
                  ? `HTTP ${status} from ${where}: the collector redirects, and AuditKit does not follow redirects`
                  : `HTTP ${status} from ${where}`
              settle(failure(classifyHttpStatus(status), message, { httpStatus: status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) }))
            }
            response.on('end', done)
            response.on('error', done)
          },
        )
        request.on('socket', guardSocket)
        request.on('error', (error: NodeJS.ErrnoException) => {
          const result = classifyErrorCode(error.code, error.message) ?? 'network_error'
          settle(failure(result, `${error.code ?? 'Error'} while sending to ${where}`))
        })
        request.end(body)
        return () => request.destroy()
      })
    },
    close() {
      agent.destroy()
    },
  }
}

/**
 * Runs one export that answers through `settle` (first answer wins) and returns how to abort it; after `limitMs`
 * it is aborted and answers `timeout`.
 */
function settleWithin<T = never>(
  limitMs: number,
  where: string,
  signal: AbortSignal | undefined,
  start: (settle: (result: T | ExportResult) => void) => () => void,
): Promise<T | ExportResult> {
  return new Promise((resolve) => {
    let settled = false
    const settle = (result: T | ExportResult): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', abandon)
      resolve(result)
    }
    // The exporter stops: a collector that never answers must not hold shutdown for the whole request timeout.
    const abandon = (): void => {
      settle(failure('unavailable', `The request to ${where} was abandoned: the exporter stopped`))
      abort()
    }
    let abort: () => void = () => {}
    // Armed before `start`: an 'error' event of a request that threw while being built still settles, and clears it.
    const timer = setTimeout(() => {
      settle(failure('timeout', `No answer from ${where} within ${limitMs} ms`))
      abort()
    }, limitMs)
    if (signal?.aborted) return abandon()
    signal?.addEventListener('abort', abandon, { once: true })
    try {
      abort = start(settle)
    } catch (error) {
      // Node refuses to build the request (e.g. a header its HTTP client cannot send): a settings problem, named by
      // its code only, as Node's message may quote a header.
      settle(failure('invalid_config', `The request could not be built (${(error as NodeJS.ErrnoException).code ?? 'error'}): check the headers`))
    }
  })
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

function createGrpcTransport(options: OtlpTransportOptions): OtlpTransport {
  const url = effectiveUrl(options.settings)
  const secure = url.protocol === 'https:'
  const hostname = url.hostname.replace(/^\[|\]$/g, '')
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port)
  // Named in failures as the HTTP transport does (`url.hostname` keeps an IPv6 address's brackets); never a header.
  const where = `${url.hostname}:${port}`
  const metadata = new grpc.Metadata()
  for (const [name, value] of Object.entries(options.settings.headers)) {
    try {
      metadata.set(name.toLowerCase(), value)
    } catch {
      // grpc-js's message quotes the value, typically a token: name the header only (settings saved before validation).
      throw new AuditKitError('INVALID_SETTINGS', `The header "${name}" cannot be sent as gRPC metadata: enter it again`)
    }
  }
  let client: grpc.Client | null = null
  let clientAddress = ''

  const clientFor = (address: string, family: 4 | 6): grpc.Client => {
    if (client && clientAddress === address) return client
    client?.close()
    const credentials = secure
      ? grpc.credentials.createSsl(options.ca ? Buffer.concat([options.ca].flat().map((ca) => Buffer.from(ca))) : null)
      : grpc.credentials.createInsecure()
    // The address that passed the policy, so grpc-js does not resolve the name again.
    const target = family === 6 ? `ipv6:[${address}]:${port}` : `ipv4:${address}:${port}`
    client = new grpc.Client(target, credentials, {
      'grpc.enable_http_proxy': 0,
      // Own connections per tenant exporter: no HTTP/2 session shared with another tenant or a Test Connection.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.enable_retries': 0,
      'grpc.default_authority': url.host,
      'grpc.primary_user_agent': options.userAgent,
      ...(secure && isIP(hostname) === 0 ? { 'grpc.ssl_target_name_override': hostname } : {}),
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
    })
    clientAddress = address
    return client
  }

  return {
    async send(body, timeoutMs, signal) {
      const started = Date.now()
      const target = await resolveWithin(options.guard, hostname, timeoutMs, signal)
      if (isResult(target)) return target
      // The time limit is the whole export's, name resolution included.
      const remainingMs = Math.max(1, timeoutMs - (Date.now() - started))
      const channel = clientFor(target.address, target.family)
      // The deadline is grpc-js's; the outer limit makes sure a lost answer can never stall the exporter.
      return settleWithin(remainingMs + 1000, where, signal, (settle) => {
        const call = channel.makeUnaryRequest(
          EXPORT_PATH,
          (value: Uint8Array) => Buffer.from(value.buffer, value.byteOffset, value.byteLength),
          (value: Buffer) => value,
          body,
          metadata,
          { deadline: Date.now() + remainingMs },
          (error, response) => {
            if (!error) return settle(accepted(Buffer.isBuffer(response) ? rejectedLogRecords(response) : 0))
            const code = error.code ?? grpc.status.UNKNOWN
            const name = grpc.status[code] ?? 'UNKNOWN'
            const known = GRPC_CLASSES[code as grpc.status]
            // `details` may come from the collector: it guides the class, and only a fixed phrase found in it is shown,
            // where grpc-js reports a local problem (UNAVAILABLE and the like), not with a status only a collector sends.
            const transportProblem = code === grpc.status.UNAVAILABLE || code === grpc.status.INTERNAL || code === grpc.status.UNKNOWN
            const result = known ?? (transportProblem ? classifyTransportDetails(error.details, code) : 'unexpected_response')
            const detail = transportProblem ? localTransportDetail(error.details) : undefined
            const retryAfterMs = retryDelayFromStatusDetails(
              (error.metadata?.get('grpc-status-details-bin') ?? []).filter((value): value is Buffer => Buffer.isBuffer(value)),
            )
            settle(
              failure(result, `gRPC status ${code} (${name}) while sending to ${where}${detail === undefined ? '' : `: ${detail}`}`, {
                grpcCode: code,
                ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
              }),
            )
          },
        )
        return () => call.cancel()
      })
    },
    close() {
      client?.close()
      client = null
    },
  }
}

/** grpc-js reports local connection problems as UNAVAILABLE with the Node error in `details`. */
function classifyTransportDetails(details: string, code: grpc.status): ExportFailure['result'] {
  return classifyErrorCode(undefined, details) ?? (code === grpc.status.UNAVAILABLE ? 'unavailable' : 'unexpected_response')
}

/**
 * What grpc-js says went wrong locally (e.g. `connect ECONNREFUSED`, `self-signed certificate`), as one of a fixed set
 * of phrases: `details` also carries the collector's status message, which is never shown, so its text is not copied.
 */
const LOCAL_TRANSPORT_DETAILS: readonly RegExp[] = [
  /\b(?:connect|read|write|getaddrinfo) (?:ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|ENOTFOUND|EAI_AGAIN)\b/,
  /\b(?:ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|ENOTFOUND|EAI_AGAIN)\b/,
  /\bself[- ]signed certificate(?: in certificate chain)?/,
  /\b(?:certificate has expired|unable to verify the first certificate|unable to get local issuer certificate|wrong version number)\b/,
  /\bHostname\/IP does not match certificate's altnames\b/,
  /\b(?:Failed to connect|Protocol error|Connection dropped)\b/,
]

function localTransportDetail(details: string | undefined): string | undefined {
  if (!details) return undefined
  for (const pattern of LOCAL_TRANSPORT_DETAILS) {
    const found = pattern.exec(details)
    if (found) return found[0]
  }
  return undefined
}
