import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import type { AuditOverrides } from '../capture/audit-capture.js'
import { AuditKitError, isAuditKitError } from '../errors.js'
import type { AuditAdmin } from './create-audit-admin.js'
import { errorResponse } from './http-response.js'
import { adminCaptureOverrides } from './refused-request.js'
import { bodyTooDeep, MAX_BODY_DEPTH, nestedDeeperThan } from './request-guards.js'

export interface NodeRequestOptions {
  /**
   * The request path as the client sent it (Express `req.originalUrl`; mounting rewrites `req.url`).
   * @default req.url
   */
  originalUrl?: string
  /**
   * A body a framework already read (e.g. `express.json()` ran first): an object is sent on as JSON; bytes or text
   * (`express.raw()`, `express.text()`) as they are.
   * @default undefined (the raw body is streamed)
   */
  parsedBody?: unknown
}

const BODYLESS = new Set(['GET', 'HEAD'])
/** Methods Node's parser accepts but a Fetch `Request` refuses to carry (`new Request` throws a TypeError). */
const NOT_FETCH_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK'])
const ADMIN_METHODS = 'GET, HEAD, PUT, POST'

/**
 * Builds a Fetch `Request` from a Node request (headers, method, full URL, body).
 * Throws `METHOD_NOT_ALLOWED` for a method a Fetch `Request` cannot carry and `INVALID_QUERY` for a request
 * target that is no URL (e.g. the absolute form `http://host:99999/...`).
 */
export function toFetchRequest(req: IncomingMessage, options: NodeRequestOptions = {}): Request {
  const method = (req.method ?? 'GET').toUpperCase()
  if (NOT_FETCH_METHODS.has(method))
    throw Object.assign(new AuditKitError('METHOD_NOT_ALLOWED', `Use ${ADMIN_METHODS} for the admin routes.`), { allow: ADMIN_METHODS })
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue
    if (Array.isArray(value)) for (const item of value) headers.append(name, item)
    else headers.set(name, value)
  }
  // The host is only used to form an absolute URL; routing looks at the path alone.
  let url: URL
  try {
    url = new URL(options.originalUrl ?? req.url ?? '/', 'http://localhost')
  } catch {
    throw new AuditKitError('INVALID_QUERY', 'The request target is not a valid URL.')
  }
  const init: RequestInit & { duplex?: 'half' } = { method, headers }
  if (!BODYLESS.has(method)) {
    if (options.parsedBody !== undefined || req.readableEnded) {
      init.body = bodyOf(options.parsedBody)
      if (init.body instanceof ReadableStream) init.duplex = 'half'
      headers.delete('content-length')
    } else {
      init.body = Readable.toWeb(req) as ReadableStream<Uint8Array>
      init.duplex = 'half'
    }
  }
  return new Request(url, init)
}

/** Writes a Fetch `Response` to a Node response, honouring backpressure; stops reading if the client goes away. */
export async function sendFetchResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status
  for (const [name, value] of response.headers) res.setHeader(name, value)
  if (!response.body) {
    res.end()
    return
  }
  const reader = response.body.getReader()
  let clientGone = false
  const onClose = (): void => {
    if (!res.writableFinished) {
      clientGone = true
      void reader.cancel().catch(() => {})
    }
  }
  res.once('close', onClose)
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done || clientGone) break
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          const resume = (): void => {
            res.off('drain', resume)
            res.off('close', resume)
            resolve()
          }
          res.on('drain', resume)
          res.on('close', resume)
        })
      }
    }
    if (!clientGone) res.end()
  } catch {
    // The body failed mid-stream (store error after the first row): cut the connection so the client sees an incomplete file.
    res.destroy()
  } finally {
    res.off('close', onClose)
  }
}

export interface NodeAdminHandlerOptions extends NodeRequestOptions {
  /**
   * Mount path for this request (Express `req.baseUrl`).
   * @default the handler's `basePath`
   */
  basePath?: string
  /**
   * Client IP as the framework resolved it.
   * @default req.socket.remoteAddress
   */
  ip?: string
  /**
   * Called before an answer the audit middleware should leave out is sent (see {@link leftOutOfCapture}): the adapter
   * skips the request's capture there.
   * @default none
   */
  onLeftOutOfCapture?: () => void
  /**
   * Called before a refused or failed answer is sent with what the audit middleware should record of it (see
   * {@link adminCaptureOverrides}): the adapter sets them on the request's audit context.
   * @default none
   */
  onCaptureOverrides?: (overrides: AuditOverrides) => void
}

/**
 * Whether the audit middleware should leave an admin answer out. A successful one recorded what matters itself
 * (`audit_log_exported`, `siem_config_updated`) or records nothing by design (reads, Test Connection): captured too,
 * a settings save would be recorded twice. Refusals and errors stay in, so a denied admin change is a `failure` event.
 */
export function leftOutOfCapture(response: Response): boolean {
  return response.status < 400
}

/**
 * Serves one Node request with the admin handler: what the Express and Nest helpers share. `authorize` gets `req`
 * itself as its second argument (with what the app's middleware put on it, such as `req.user`).
 */
export async function serveNodeRequest<Native extends IncomingMessage = IncomingMessage>(
  admin: AuditAdmin<Native>,
  req: Native,
  res: ServerResponse,
  options: NodeAdminHandlerOptions = {},
): Promise<void> {
  let request: Request
  try {
    request = toFetchRequest(req, options)
  } catch (error) {
    if (!isAuditKitError(error)) throw error
    // No Fetch request to hand over: answer like the handler would (JSON, security headers), not with the framework's 500.
    // Nothing here depends on the route or the caller, so answering before `authorize` reveals nothing.
    const allow = (error as AuditKitError & { allow?: unknown }).allow
    const response = errorResponse(error, typeof allow === 'string' ? { allow } : {})
    if (!req.complete) res.setHeader('connection', 'close')
    await sendFetchResponse(res, response)
    return
  }
  const ip = options.ip ?? req.socket.remoteAddress
  const response = await admin.fetch(request, {
    native: req,
    ...(options.basePath === undefined ? {} : { basePath: options.basePath }),
    ...(ip === undefined ? {} : { ip }),
  })
  if (leftOutOfCapture(response)) options.onLeftOutOfCapture?.()
  else {
    const overrides = adminCaptureOverrides(response)
    if (overrides) options.onCaptureOverrides?.(overrides)
  }
  // Answered before the body was read (e.g. 413): the rest of it is still on the wire, so the connection cannot be reused.
  if (!req.complete) res.setHeader('connection', 'close')
  await sendFetchResponse(res, response)
}

/**
 * What a parser earlier in the app left as the body: bytes and text as read, a parsed value as its JSON. The JSON is
 * written only when a route reads the body, after `authorize`: a value too deep to serialise (20,000 nested arrays,
 * which `express.json()` parses) is that route's 400 `INVALID_BODY`, not a stack overflow before authorization.
 */
function bodyOf(parsed: unknown): string | Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array> | null {
  if (parsed === undefined) return null
  if (typeof parsed === 'string') return parsed
  // A copy: a Buffer may be a view into a larger, shared pool.
  if (parsed instanceof Uint8Array) return new Uint8Array(parsed)
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (nestedDeeperThan(parsed, MAX_BODY_DEPTH)) controller.error(bodyTooDeep())
        else {
          controller.enqueue(new TextEncoder().encode(JSON.stringify(parsed)))
          controller.close()
        }
      },
    },
    // Nothing is pulled until a reader asks: an answer that never reads the body never serialises it.
    { highWaterMark: 0 },
  )
}
