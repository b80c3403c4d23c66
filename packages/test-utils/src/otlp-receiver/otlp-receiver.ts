import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { Socket } from 'node:net'
import * as grpc from '@grpc/grpc-js'
import protobuf from 'protobufjs'
import { decodeExportLogsRequest, encodeExportLogsResponse, type ReceivedLogRecord } from './otlp-decode.js'

export type ReceiverProtocol = 'grpc' | 'http/protobuf'

/** How the receiver misbehaves: answer with a status (gRPC gets the matching status code), or never answer. */
export type ReceiverFailure =
  | { kind: 'status'; status: 401 | 403 | 404 | 405 | 429 | 500 | 503; retryAfterSeconds?: number; body?: string }
  | { kind: 'redirect'; location: string }
  | { kind: 'stall' }

export interface OtlpReceiverOptions {
  protocol: ReceiverProtocol
  /** When set, every request must carry `authorization: Bearer <token>` (else 401 / UNAUTHENTICATED). */
  bearerToken?: string
  /** PEM key and certificate: serve HTTPS / gRPC over TLS. */
  tls?: { key: string | Buffer; cert: string | Buffer }
  /**
   * The HTTP path that accepts logs; other paths answer 404.
   * @default '/v1/logs'
   */
  path?: string
  /**
   * Answer accepted requests only after this long (a slow collector).
   * @default 0
   */
  delayMs?: number
}

/** One accepted or refused export request. */
export interface ReceivedRequest {
  /** Lower-cased header (HTTP) or metadata (gRPC) names. */
  headers: Record<string, string>
  records: ReceivedLogRecord[]
  /** What the receiver answered: an HTTP status (gRPC OK counts as 200). */
  answeredStatus: number | 'stalled'
  /** `Date.now()` when the request arrived. */
  receivedAt: number
}

export interface OtlpReceiver {
  readonly protocol: ReceiverProtocol
  readonly port: number
  /** The endpoint to configure: `http(s)://127.0.0.1:port` for gRPC, `.../v1/logs` for HTTP. */
  readonly endpoint: string
  /** Every request seen, in arrival order, including refused ones. */
  readonly requests: ReceivedRequest[]
  /** Records of accepted requests only, in arrival order. */
  readonly records: ReceivedLogRecord[]
  /** Fail the next `times` requests (default: until cleared with `failWith(null)`). */
  failWith(failure: ReceiverFailure | null, options?: { times?: number }): void
  /** Resolves once at least `count` records were accepted; rejects after `timeoutMs`. */
  waitForRecords(count: number, timeoutMs?: number): Promise<ReceivedLogRecord[]>
  /** Stops listening (connections are refused) but keeps the port for `start()`. */
  stop(): Promise<void>
  /** Listens again on the same port. */
  start(): Promise<void>
  close(): Promise<void>
}

const GRPC_STATUS_OF: Record<number, grpc.status> = {
  401: grpc.status.UNAUTHENTICATED,
  403: grpc.status.PERMISSION_DENIED,
  404: grpc.status.UNIMPLEMENTED,
  405: grpc.status.UNIMPLEMENTED,
  429: grpc.status.RESOURCE_EXHAUSTED,
  500: grpc.status.INTERNAL,
  503: grpc.status.UNAVAILABLE,
}

const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export'

/**
 * A real OTLP logs receiver for tests: gRPC or HTTP/protobuf on 127.0.0.1 (random port), decoding
 * `ExportLogsServiceRequest` from the OTLP proto definitions.
 */
export async function startOtlpReceiver(options: OtlpReceiverOptions): Promise<OtlpReceiver> {
  const requests: ReceivedRequest[] = []
  const records: ReceivedLogRecord[] = []
  const waiters = new Set<() => void>()
  let failure: ReceiverFailure | null = null
  let failuresLeft = Number.POSITIVE_INFINITY
  let port = 0

  const nextFailure = (): ReceiverFailure | null => {
    if (failure === null) return null
    const current = failure
    failuresLeft--
    if (failuresLeft <= 0) failure = null
    return current
  }
  const authorised = (headers: Record<string, string>): boolean =>
    options.bearerToken === undefined || headers['authorization'] === `Bearer ${options.bearerToken}`
  const accept = (headers: Record<string, string>, decoded: ReceivedLogRecord[], receivedAt: number): void => {
    requests.push({ headers, records: decoded, answeredStatus: 200, receivedAt })
    records.push(...decoded)
    for (const wake of waiters) wake()
  }

  const later = (answer: () => void): void => {
    if (options.delayMs) setTimeout(answer, options.delayMs)
    else answer()
  }

  const transport = options.protocol === 'grpc' ? createGrpcTransport() : createHttpTransport()
  port = await transport.listen(0)

  function createHttpTransport(): { listen(at: number): Promise<number>; close(): Promise<void> } {
    const logsPath = options.path ?? '/v1/logs'
    const sockets = new Set<Socket>()
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      const receivedAt = Date.now()
      req.on('end', () => {
        const headers = flatHeaders(req.headers)
        const answer = (status: number, extra: Record<string, string> = {}, body = ''): void => {
          requests.push({ headers, records: [], answeredStatus: status, receivedAt })
          res.writeHead(status, { 'content-type': 'text/plain', ...extra }).end(body)
        }
        const planned = nextFailure()
        if (planned?.kind === 'stall') {
          requests.push({ headers, records: [], answeredStatus: 'stalled', receivedAt })
          return
        }
        if (planned?.kind === 'redirect') return answer(307, { location: planned.location })
        if (planned?.kind === 'status') {
          const extra: Record<string, string> =
            planned.retryAfterSeconds === undefined ? {} : { 'retry-after': String(planned.retryAfterSeconds) }
          return answer(planned.status, extra, planned.body ?? `receiver told to fail with ${planned.status}`)
        }
        if (req.url !== logsPath) return answer(404, {}, 'not found')
        if (req.method !== 'POST') return answer(405, {}, 'method not allowed')
        if (!authorised(headers)) return answer(401, {}, 'missing or wrong bearer token')
        let decoded: ReceivedLogRecord[]
        try {
          decoded = decodeExportLogsRequest(Buffer.concat(chunks))
        } catch {
          return answer(400, {}, 'malformed ExportLogsServiceRequest')
        }
        later(() => {
          accept(headers, decoded, receivedAt)
          res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(encodeExportLogsResponse()))
        })
      })
    }
    let server: Server | null = null
    return {
      listen(at) {
        server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler) : createHttpServer(handler)
        server.on('connection', (socket: Socket) => {
          sockets.add(socket)
          socket.on('close', () => sockets.delete(socket))
        })
        const listening = server
        return new Promise((resolve, reject) => {
          listening.once('error', reject)
          listening.listen(at, '127.0.0.1', () => {
            const address = listening.address()
            resolve(typeof address === 'object' && address ? address.port : at)
          })
        })
      },
      close() {
        const closing = server
        server = null
        if (!closing) return Promise.resolve()
        // Stalled requests hold their sockets open; end them so that close() returns.
        for (const socket of sockets) socket.destroy()
        return new Promise((resolve) => closing.close(() => resolve()))
      },
    }
  }

  function createGrpcTransport(): { listen(at: number): Promise<number>; close(): Promise<void> } {
    let server: grpc.Server | null = null
    const stalled = new Set<grpc.sendUnaryData<Buffer>>()
    const definition: grpc.ServiceDefinition = {
      Export: {
        path: EXPORT_PATH,
        requestStream: false,
        responseStream: false,
        // Raw bytes in and out: decoding is done with protobufjs from the .proto files, as for HTTP.
        requestSerialize: (value: Buffer) => value,
        requestDeserialize: (bytes: Buffer) => bytes,
        responseSerialize: (value: Buffer) => value,
        responseDeserialize: (bytes: Buffer) => bytes,
      },
    }
    const exportHandler: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
      const receivedAt = Date.now()
      const headers: Record<string, string> = {}
      for (const [key, value] of Object.entries(call.metadata.getMap())) headers[key] = String(value)
      const fail = (status: number, details: string, retryAfterSeconds?: number): void => {
        requests.push({ headers, records: [], answeredStatus: status, receivedAt })
        const code = GRPC_STATUS_OF[status] ?? grpc.status.UNKNOWN
        const metadata = new grpc.Metadata()
        // OTLP/gRPC throttling: google.rpc.RetryInfo inside the google.rpc.Status trailer.
        if (retryAfterSeconds !== undefined) metadata.set('grpc-status-details-bin', retryInfoStatus(code, details, retryAfterSeconds))
        callback({ code, details, metadata })
      }
      const planned = nextFailure()
      if (planned?.kind === 'stall') {
        requests.push({ headers, records: [], answeredStatus: 'stalled', receivedAt })
        stalled.add(callback)
        return
      }
      if (planned?.kind === 'status') return fail(planned.status, planned.body ?? `receiver told to fail with ${planned.status}`, planned.retryAfterSeconds)
      if (planned?.kind === 'redirect') return fail(404, 'gRPC has no redirects')
      if (!authorised(headers)) return fail(401, 'missing or wrong bearer token')
      let decoded: ReceivedLogRecord[]
      try {
        decoded = decodeExportLogsRequest(call.request)
      } catch {
        requests.push({ headers, records: [], answeredStatus: 400, receivedAt })
        return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'malformed ExportLogsServiceRequest' })
      }
      later(() => {
        accept(headers, decoded, receivedAt)
        callback(null, Buffer.from(encodeExportLogsResponse()))
      })
    }
    return {
      listen(at) {
        const created = new grpc.Server()
        created.addService(definition, { Export: exportHandler })
        server = created
        const credentials = options.tls
          ? grpc.ServerCredentials.createSsl(null, [
              { private_key: Buffer.from(options.tls.key), cert_chain: Buffer.from(options.tls.cert) },
            ])
          : grpc.ServerCredentials.createInsecure()
        return new Promise((resolve, reject) => {
          created.bindAsync(`127.0.0.1:${at}`, credentials, (error, bound) => (error ? reject(error) : resolve(bound)))
        })
      },
      async close() {
        const closing = server
        server = null
        stalled.clear()
        // forceShutdown cancels stalled calls; tryShutdown would wait for them forever.
        closing?.forceShutdown()
      },
    }
  }

  const scheme = options.tls ? 'https' : 'http'
  return {
    protocol: options.protocol,
    get port() {
      return port
    },
    get endpoint() {
      return options.protocol === 'grpc' ? `${scheme}://127.0.0.1:${port}` : `${scheme}://127.0.0.1:${port}${options.path ?? '/v1/logs'}`
    },
    requests,
    records,
    failWith(next, { times } = {}) {
      failure = next
      failuresLeft = times ?? Number.POSITIVE_INFINITY
    },
    waitForRecords(count, timeoutMs = 10_000) {
      if (records.length >= count) return Promise.resolve(records)
      return new Promise((resolve, reject) => {
        const wake = (): void => {
          if (records.length < count) return
          clearTimeout(timer)
          waiters.delete(wake)
          resolve(records)
        }
        const timer = setTimeout(() => {
          waiters.delete(wake)
          reject(new Error(`the OTLP receiver got ${records.length} of ${count} records within ${timeoutMs} ms`))
        }, timeoutMs)
        waiters.add(wake)
      })
    },
    stop: () => transport.close(),
    async start() {
      port = await transport.listen(port)
    },
    close: () => transport.close(),
  }
}

/** `google.rpc.Status { code, message, details: [Any(RetryInfo { retry_delay: Duration { seconds } })] }`. */
function retryInfoStatus(code: number, message: string, seconds: number): Buffer {
  const duration = protobuf.Writer.create().uint32((1 << 3) | 0).int64(seconds).finish()
  const retryInfo = protobuf.Writer.create().uint32((1 << 3) | 2).bytes(duration).finish()
  const any = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .string('type.googleapis.com/google.rpc.RetryInfo')
    .uint32((2 << 3) | 2)
    .bytes(retryInfo)
    .finish()
  const status = protobuf.Writer.create()
    .uint32((1 << 3) | 0)
    .int32(code)
    .uint32((2 << 3) | 2)
    .string(message)
    .uint32((3 << 3) | 2)
    .bytes(any)
    .finish()
  return Buffer.from(status)
}

function flatHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(headers)) if (value !== undefined) out[key] = Array.isArray(value) ? value.join(', ') : value
  return out
}
