import { AuditKitError } from '../errors.js'

/**
 * How deeply a settings body may nest (the top-level object or array is level 1). The settings are flat; the limit
 * only keeps a body such as 20,000 nested arrays (40 KB) from overflowing the stack of whatever walks it recursively
 * (`JSON.stringify`, a service's validation), which V8's `JSON.parse` itself accepts.
 */
export const MAX_BODY_DEPTH = 64

/** Whether `value` nests objects or arrays deeper than `max` levels. Iterative, and stops at the first path too deep (a cycle too). */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]]
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [node, depth] = next
    if (node === null || typeof node !== 'object') continue
    if (depth > max) return true
    for (const child of Array.isArray(node) ? node : Object.values(node)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1])
  }
  return false
}

/** The `INVALID_BODY` refusal of a body nested deeper than {@link MAX_BODY_DEPTH}. */
export function bodyTooDeep(): AuditKitError {
  return new AuditKitError('INVALID_BODY', `The body is nested deeper than ${MAX_BODY_DEPTH} levels; send the settings as a flat JSON object.`)
}

/**
 * Fetch Metadata (the Resource Isolation Policy): a request a browser sends for a page of another site, or of another
 * port of this host (`same-site`: SameSite cookies go along), is not the admin's own doing. Refused with 403 `FORBIDDEN`
 * before `authorize`: on the API always (an `<img src=".../api/export.csv">` would otherwise record an export in the
 * admin's name); on the page unless it is a top-level navigation (a link to the page from elsewhere still opens it).
 * Requests without `Sec-Fetch-Site` (curl, servers, older browsers), `same-origin` (the page's own), `none` (a typed
 * address, a bookmark) and those whose `Origin` is one of `trustedOrigins` pass.
 */
export function refuseCrossSite(request: Request, relativePath: string | null, trustedOrigins: ReadonlySet<string> = new Set()): void {
  const site = request.headers.get('sec-fetch-site')?.trim().toLowerCase()
  if (site !== 'cross-site' && site !== 'same-site') return
  // A front end of the app's own on another origin (`trustedOrigins`): its CORS requests carry their `Origin`, which a
  // page cannot forge; an `<img>` or a form elsewhere sends no such origin, or another one.
  const origin = request.headers.get('origin')
  if (origin !== null && trustedOrigins.has(origin)) return
  const api = relativePath !== null && (relativePath === '/api' || relativePath.startsWith('/api/'))
  if (!api) {
    const method = request.method.toUpperCase()
    const mode = request.headers.get('sec-fetch-mode')?.trim().toLowerCase()
    const dest = request.headers.get('sec-fetch-dest')?.trim().toLowerCase()
    // A top-level GET navigation: not a frame (the page refuses framing anyway), an <object>/<embed>, or a form post.
    if (mode === 'navigate' && (method === 'GET' || method === 'HEAD') && (dest === undefined || dest === 'document')) return
  }
  throw new AuditKitError(
    'FORBIDDEN',
    api
      ? 'The audit-log admin API answers only its own page: this request came from another site or another port of this host.'
      : 'The audit-log admin page opens only as a page of its own (a link or typed address), not inside or from another site.',
  )
}
