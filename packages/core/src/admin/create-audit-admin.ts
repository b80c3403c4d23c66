import { DEFAULT_REQUEST_ID_HEADER, normalizeIp } from '../capture/request-facts.js'
import { AuditKitError, isAuditKitError } from '../errors.js'
import { ACTOR_TYPES } from '../event/schema.js'
import type { AuditLogger } from '../logger/audit-logger.js'
import type { AuditStore } from '../store/types.js'
import { createCursorCodec } from './cursor.js'
import { errorResponse, withSecurityHeaders } from './http-response.js'
import { markRefused } from './refused-request.js'
import { refuseCrossSite } from './request-guards.js'
import { matchRoute, type RouteDeps } from './routes.js'
import { createStaticUi, defaultUiDir, type StaticUi } from './static-ui.js'
import type { AdminPrincipal, AdminRequestInfo, AdminScope, AuthorizeAdmin, IntegrityAdminService, SiemAdminService } from './types.js'

export interface AuditAdminOptions<Native = unknown> {
  /**
   * Decides, for every request, whether the caller is an audit-log admin and which tenant they see.
   * Answer `{ tenantId, actor }` for an admin, `null` without credentials (401), `'forbidden'` otherwise (403);
   * throwing is an error (500), never an admission. Required: without it nothing is served.
   * Its second argument is the framework's request as the adapter received it (Express `req`, Hono's `Context`),
   * so the user your own auth middleware resolved can decide.
   */
  authorize: AuthorizeAdmin<Native>
  /**
   * Records exports (`audit_log_exported`) with the admin as actor; also the default `store`.
   * Without it, downloads are not recorded.
   * @default undefined
   */
  logger?: AuditLogger
  /**
   * Where events are read from.
   * @default logger.store
   */
  store?: AuditStore
  /**
   * Path the handler is mounted at, e.g. `/admin/audit`. The Express and Nest helpers pass it per request,
   * so set it only when mounting the bare `fetch` yourself.
   * @default ''
   */
  basePath?: string
  /**
   * SIEM settings and Test Connection: `createSiemAdminService(createSiemService(...))`.
   * @default undefined (those routes answer 404)
   */
  siem?: SiemAdminService
  /**
   * Chain verification and NDJSON export: `createIntegrityService({ store })`.
   * @default undefined (those routes answer 404)
   */
  integrity?: IntegrityAdminService
  /**
   * Key for the pagination cursors' MAC. Cursors are always checked against tampering and against the filters
   * they were issued for; a secret also makes them unforgeable.
   * @default a fixed key (cursors stay valid across instances and restarts)
   */
  cursorSecret?: string | Buffer
  /**
   * Directory of the built admin page; `false` serves no page (API only).
   * @default the `dist/` of `@auditkit/admin-ui`
   */
  uiDir?: string | false
  /**
   * Largest JSON body accepted by the settings routes, in bytes.
   * @default 65536
   */
  maxBodyBytes?: number
  /**
   * Origins (`https://app.example.com`) whose pages may call the admin API from the browser although they are another
   * origin of the site or another site: a front end of your own, with CORS set up by your app. Browser requests from
   * any other origin than the admin's own are refused (`Sec-Fetch-Site`, see the docs' Security section).
   * @default [] (only the admin's own page)
   */
  trustedOrigins?: readonly string[]
  /**
   * Header whose value is recorded as `context.requestId` on the admin's own events (exports, settings changes), as
   * the audit middleware's option of the same name does for the app's.
   * @default 'x-request-id'
   */
  requestIdHeader?: string
  /**
   * The server clock, for the default time window.
   * @default () => new Date()
   */
  clock?: () => Date
  /**
   * Told about every unexpected error (answered as a generic 500 or 503, never with details).
   * @default logs the code and message to console.error
   */
  onError?: (error: unknown) => void
}

/** The admin routes as one Fetch handler: every adapter mounts `fetch`. */
export interface AuditAdmin<Native = unknown> {
  /**
   * Answers one request; never rejects (errors become JSON answers). A function-typed property, not a method, so that
   * TypeScript checks `Native` strictly: a handler made for one framework's request does not compile in another's mount.
   */
  readonly fetch: (request: Request, info?: AdminRequestInfo<Native>) => Promise<Response>
  /** The `basePath` option, normalised (no trailing slash). */
  readonly basePath: string
}

const METHODS_WITH_ROUTES = new Set(['GET', 'PUT', 'POST'])

function normaliseBase(path: string): string {
  const trimmed = path.replace(/\/+$/, '')
  if (trimmed !== '' && !trimmed.startsWith('/')) return `/${trimmed}`
  return trimmed
}

function isPrincipal(value: unknown): value is AdminPrincipal {
  if (value === null || typeof value !== 'object') return false
  const { tenantId, actor } = value as { tenantId?: unknown; actor?: { id?: unknown; type?: unknown } | null }
  // The actor must be one an event can carry: an admin allowed in as `{ type: 'admin' }` would export unrecorded.
  return (
    typeof tenantId === 'string' &&
    tenantId.length > 0 &&
    typeof actor === 'object' &&
    actor !== null &&
    typeof actor.id === 'string' &&
    actor.id.length > 0 &&
    (ACTOR_TYPES as readonly unknown[]).includes(actor.type)
  )
}

/** The path below the mount (`/api/events`), or null when `pathname` is not under it. */
function pathBelow(pathname: string, base: string): string | null {
  return pathname.startsWith(`${base}/`) ? pathname.slice(base.length) : null
}

/** The `Allow` header of a route: HEAD wherever GET is. */
function allowedMethods(methods: readonly string[]): string {
  return (methods.includes('GET') ? [...methods, 'HEAD'] : methods).join(', ')
}

/** A HEAD answer: the GET answer's status and headers; its body, if any, is released unread. */
async function withoutBody(response: Response): Promise<Response> {
  await response.body?.cancel()
  return new Response(null, { status: response.status, statusText: response.statusText, headers: response.headers })
}

/**
 * Creates the admin handler: the routes of the admin API (log query, facets, columns, CSV export, SIEM
 * settings, integrity) and the admin page, each closed unless `authorize` admits the caller.
 */
export function createAuditAdmin<Native = unknown>(options: AuditAdminOptions<Native>): AuditAdmin<Native> {
  if (typeof options?.authorize !== 'function')
    throw new AuditKitError('INVALID_OPTIONS', 'createAuditAdmin needs an `authorize(request)` function: without one, nothing is served.')
  const store = options.store ?? options.logger?.store
  if (!store) throw new AuditKitError('INVALID_OPTIONS', 'createAuditAdmin needs a `store` or a `logger` to read events from.')
  const maxBodyBytes = options.maxBodyBytes ?? 65_536
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes <= 0) throw new AuditKitError('INVALID_OPTIONS', '`maxBodyBytes` must be a positive integer.')
  const onError =
    options.onError ??
    ((error: unknown) => {
      const code = isAuditKitError(error) ? error.code : 'INTERNAL'
      console.error(`[auditkit] admin ${code}: ${error instanceof Error ? error.message : String(error)}`)
    })
  const basePath = normaliseBase(options.basePath ?? '')
  const requestIdHeader = options.requestIdHeader ?? DEFAULT_REQUEST_ID_HEADER
  // Checked here: a name Headers refuses would make every admin request throw (answered 500).
  if (typeof requestIdHeader !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(requestIdHeader))
    throw new AuditKitError('INVALID_OPTIONS', '`requestIdHeader` must be an HTTP header name, such as "x-request-id".')
  const trustedOrigins = new Set((options.trustedOrigins ?? []).map(trustedOrigin))
  const ui: StaticUi | null = options.uiDir === false ? null : createStaticUi(options.uiDir ?? defaultUiDir())
  const deps: RouteDeps = {
    store,
    logger: options.logger,
    siem: options.siem,
    integrity: options.integrity,
    cursors: createCursorCodec(options.cursorSecret),
    clock: options.clock ?? (() => new Date()),
    maxBodyBytes,
    onError,
  }

  async function authorize(request: Request, native: Native | undefined): Promise<AdminPrincipal> {
    // Every adapter passes `native`; only a bare `fetch` call without it leaves it undefined (said on the type).
    const decision = await options.authorize(request, native as Native)
    if (decision === null || decision === undefined)
      throw new AuditKitError('UNAUTHENTICATED', 'Sign in as an administrator to use the audit log.')
    if (decision === 'forbidden') throw new AuditKitError('FORBIDDEN', 'Only administrators can use the audit log.')
    if (!isPrincipal(decision)) throw new Error('authorize() answered neither { tenantId, actor: { type: "user" | "api_key" | "system", id } }, null nor "forbidden"')
    return { tenantId: decision.tenantId, actor: decision.actor }
  }

  /** The mount path of this request: the adapter's, else the `basePath` option. */
  const mountOf = (info: AdminRequestInfo<Native>): string => (info.basePath === undefined ? basePath : normaliseBase(info.basePath))

  async function handle(request: Request, info: AdminRequestInfo<Native>): Promise<Response> {
    const url = new URL(request.url)
    const base = mountOf(info)
    // A browser's request led by another site or another port of this host: refused before anything else, so that
    // neither `authorize` (with the admin's cookies) nor an export runs for it.
    refuseCrossSite(request, url.pathname === base ? '' : pathBelow(url.pathname, base), trustedOrigins)
    // Authorization comes first, for every path and method: an outsider learns nothing, not even which routes exist.
    const principal = await authorize(request, info.native)
    // As the capture records it: an IPv4 client of a dual-stack server as `10.1.2.3`, not `::ffff:10.1.2.3`.
    const ip = normalizeIp(info.ip)
    const requestId = info.requestId ?? request.headers.get(requestIdHeader) ?? undefined
    const scope: AdminScope = { ...principal, request, url, ...(ip === undefined ? {} : { ip }), ...(requestId ? { requestId } : {}) }
    if (url.pathname === base) {
      // The page's relative URLs (`./api/...`, `./assets/...`) need the trailing slash.
      return new Response(null, { status: 308, headers: withSecurityHeaders({ location: `${base}/${url.search}` }) })
    }
    const relative = pathBelow(url.pathname, base)
    if (relative === null) throw new AuditKitError('NOT_FOUND', 'No such admin route.')
    const match = matchRoute(relative)
    const method = request.method.toUpperCase()
    // HEAD is served by GET (RFC 9110 9.3.2): the same status and headers, no body.
    const headOnly = method === 'HEAD'
    if (match) {
      const handler = headOnly ? match.route.methods.GET : METHODS_WITH_ROUTES.has(method) ? match.route.methods[method as 'GET' | 'PUT' | 'POST'] : undefined
      if (!handler) {
        const allow = allowedMethods(Object.keys(match.route.methods))
        throw Object.assign(new AuditKitError('METHOD_NOT_ALLOWED', `Use ${allow} for this route.`), { allow })
      }
      const response = await handler({ scope, params: match.params, deps, headOnly })
      return headOnly ? withoutBody(response) : response
    }
    if (ui && !relative.startsWith('/api/')) {
      if (method !== 'GET' && !headOnly) throw Object.assign(new AuditKitError('METHOD_NOT_ALLOWED', 'Use GET for the admin page.'), { allow: 'GET, HEAD' })
      const page = await ui.serve(relative)
      if (page) return headOnly ? withoutBody(page) : page
    }
    throw new AuditKitError('NOT_FOUND', 'No such admin route.')
  }

  return {
    basePath,
    async fetch(request, info = {}) {
      try {
        return await handle(request, info)
      } catch (error) {
        const response = errorResponse(error)
        if (response.status >= 500) onError(error)
        const allow = error instanceof Error ? (error as Error & { allow?: unknown }).allow : undefined
        if (response.status === 405 && typeof allow === 'string') response.headers.set('allow', allow)
        const answer = request.method.toUpperCase() === 'HEAD' ? await withoutBody(response) : response
        // A URL `new Request` accepted parses again; the empty path below no mount stands for an unknown admin path.
        return markRefused(answer, pathBelow(new URL(request.url).pathname, mountOf(info)) ?? '', request.method)
      }
    },
  }
}

/** A `trustedOrigins` entry as browsers send it in `Origin` (scheme, host and a non-default port; no path). */
function trustedOrigin(entry: string): string {
  let url: URL | null = null
  try {
    url = new URL(entry)
  } catch {
    // refused below
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== entry.replace(/\/$/, ''))
    throw new AuditKitError('INVALID_OPTIONS', `trustedOrigins: ${JSON.stringify(entry)} is not an origin such as "https://app.example.com"`)
  return url.origin
}
