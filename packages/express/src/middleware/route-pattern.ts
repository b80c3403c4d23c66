import { parse as parseUrl } from 'node:url'
import type { Request } from 'express'

/**
 * Express keeps only the last route's own path (`req.route.path`) and the *matched text* of the mount prefix
 * (`req.baseUrl`, e.g. `/workspaces/ws_1`). The full pattern (`/workspaces/:ws/projects/:projectId`) is
 * recovered by walking the app's router stack to the matched route.
 */

interface LayerLike {
  route?: unknown
  handle?: unknown
  /** router >= 2.3 (Express 5): the path the layer was mounted with. */
  rawPath?: unknown
  /** Express 4 / router < 2.3 keep the last match on the layer. */
  path?: unknown
  params?: unknown
  match?: (path: string) => unknown
}

interface LayerMatch {
  matched: string
  pattern: string
}

/** The router layers a request passes through to reach a route, and the route's own layer. */
interface Chain {
  mounts: readonly LayerLike[]
  routeLayer: LayerLike
}

/** What is known of each route, per app: one router may be mounted at other paths in other apps. */
interface AppRoutes {
  chains: WeakMap<object, Chain[]>
  patterns: WeakMap<object, string>
}

const routesByApp = new WeakMap<object, AppRoutes>()

function routesOf(app: object): AppRoutes {
  let routes = routesByApp.get(app)
  if (!routes) routesByApp.set(app, (routes = { chains: new WeakMap(), patterns: new WeakMap() }))
  return routes
}

/**
 * The full route pattern of the request, or undefined when no route matched (404) or its path is not a string (or
 * strings). `app` is the app whose router matched the route: `req.app` unless an error or `next()` has since left a
 * sub-app, which puts `req.app` back to the parent.
 */
export function routePatternOf(req: Request, app: Request['app'] = req.app): string | undefined {
  const route = req.route as { path?: unknown } | undefined
  if (!route || !isRoutePath(route.path)) return undefined
  // A sub-app (`app.use('/v1', subApp)`) routes within itself: its routes and stack know nothing of the path it is
  // mounted at.
  const mount = (app as AppLike).parent ? mountOf(app, pathOnly(req.originalUrl)) : undefined
  if (mount === undefined) return patternWithinApp(req, app, route as RouteLike, () => pathOnly(req.originalUrl), req.baseUrl)
  const within = patternWithinApp(req, app, route as RouteLike, () => mount.rest, stripSegments(req.baseUrl, mount.segments))
  return within === undefined ? undefined : joinPaths([mount.pattern, within])
}

interface RouteLike {
  /** A path, or the paths of `app.post(['/a/:id', '/b/:id'], ...)`, one of which the request matched. */
  path: string | readonly string[]
}

function isRoutePath(path: unknown): path is RouteLike['path'] {
  return typeof path === 'string' || (Array.isArray(path) && path.length > 0 && path.every((part) => typeof part === 'string'))
}

/** The route's pattern within the app that routed it, `pathOf` giving the request path within that app. */
function patternWithinApp(req: Request, app: object, route: RouteLike, pathOf: () => string, baseUrl: string): string | undefined {
  const routes = routesOf(app)
  const cached = routes.patterns.get(route)
  if (cached !== undefined) return cached

  const chains = chainsTo(app, routes, route)
  const only = chains.length === 1 ? chains[0] : undefined
  const ownPath = route.path
  if (typeof ownPath === 'string' && only?.mounts.every((layer) => typeof layer.rawPath === 'string')) {
    // One way to reach the route and every mount path known (router >= 2.3): the pattern never changes.
    const pattern = joinPaths([...only.mounts.map((layer) => layer.rawPath as string), ownPath])
    routes.patterns.set(route, pattern)
    return pattern
  }
  // Otherwise match the mounts against the path itself: `req.baseUrl` is reset when an error leaves a router. A route
  // with several paths is matched too, to learn which of them this request took.
  const path = pathOf()
  for (const chain of chains) {
    const match = matchChain(chain, path)
    if (match !== undefined) return joinPaths([match.prefix, typeof ownPath === 'string' ? ownPath : match.route])
  }
  if (typeof ownPath !== 'string') return undefined
  if (!baseUrl) return ownPath
  // Unusual layers: put parameter names back where their values appear in the prefix.
  return joinPaths([substituteParams(baseUrl, req.params as Record<string, string | undefined>), ownPath])
}

interface AppLike {
  parent?: unknown
  mountpath?: unknown
}

interface Mount {
  /** The mount paths of the sub-app and its parents, outermost first (`/orgs/:org/v1`). */
  pattern: string
  /** How many path segments the mount takes. */
  segments: number
  /** The request path within the sub-app. */
  rest: string
}

/**
 * Where the app that routed the request is mounted (`app.use('/orgs/:org', subApp)` sets `subApp.mountpath` and
 * `subApp.parent`); undefined for the main app, or when the mount paths are not plain segments this path matches
 * (arrays, wildcards, a sub-app mounted at several paths), where the pattern within the sub-app is all that is known.
 */
function mountOf(app: unknown, path: string): Mount | undefined {
  const paths: string[] = []
  let current = app as AppLike | undefined
  for (let depth = 0; current?.parent; depth++) {
    if (depth > 16 || typeof current.mountpath !== 'string' || /[*?()[\]{}]/.test(current.mountpath)) return undefined
    paths.unshift(current.mountpath)
    current = current.parent as AppLike
  }
  if (paths.length === 0) return undefined
  const pattern = joinPaths(paths)
  const patternSegments = pattern.split('/').filter(Boolean)
  const pathSegments = path.split('/')
  // pathSegments[0] is the empty string before the leading slash.
  for (let i = 0; i < patternSegments.length; i++) {
    const expected = patternSegments[i] as string
    const actual = pathSegments[i + 1]
    if (actual === undefined || actual === '' || (!expected.startsWith(':') && safeDecode(actual).toLowerCase() !== expected.toLowerCase())) return undefined
  }
  const rest = `/${pathSegments.slice(patternSegments.length + 1).join('/')}`
  return { pattern, segments: patternSegments.length, rest }
}

function stripSegments(url: string, count: number): string {
  const segments = url.split('/')
  return segments.length <= count + 1 ? '' : `/${segments.slice(count + 1).join('/')}`
}

/**
 * Route parameters of the whole pattern: a router mounted without `mergeParams` hides its parent's parameters
 * (`:ws` of `/workspaces/:ws`) from `req.params`, so they are read back from the path by position.
 */
export function routeParamsOf(req: Request, pattern: string | undefined, path: string): Record<string, string | undefined> {
  const own: Record<string, string | undefined> = {}
  // Express 5 gives wildcard parameters (`/*path`) as arrays of segments.
  for (const [key, value] of Object.entries((req.params ?? {}) as Record<string, unknown>))
    own[key] = Array.isArray(value) ? value.join('/') : typeof value === 'string' ? value : undefined
  if (pattern === undefined || !pattern.includes(':')) return own
  const patternSegments = pattern.split('/')
  const pathSegments = path.split('/')
  // Express routes `/projects/p_1/` by `/projects/:projectId` too (unless routing is strict).
  if (pathSegments.length === patternSegments.length + 1 && pathSegments[pathSegments.length - 1] === '') pathSegments.pop()
  if (patternSegments.length !== pathSegments.length || pattern.includes('*')) return own
  const params: Record<string, string | undefined> = {}
  patternSegments.forEach((segment, i) => {
    const name = /^:([A-Za-z0-9_$]+)$/.exec(segment)?.[1]
    const value = pathSegments[i]
    if (name !== undefined && value !== undefined) params[name] = safeDecode(value)
  })
  // Object.assign, not spreads: several times faster on Node 20, on every recorded request with parameters.
  return Object.assign(params, own)
}

function stackOf(handle: unknown): LayerLike[] | undefined {
  if (typeof handle !== 'function' && (typeof handle !== 'object' || handle === null)) return undefined
  const stack = (handle as { stack?: unknown }).stack
  return Array.isArray(stack) ? (stack as LayerLike[]) : undefined
}

/** The layers of an app's own router. */
function rootStackOf(app: object): LayerLike[] | undefined {
  const routers = app as { router?: unknown; _router?: unknown }
  // Express 5 exposes `app.router`; Express 4 `app._router` (read the latter first: in 4 `app.router` throws).
  return stackOf(routers._router) ?? stackOf(routers.router)
}

const subAppsByStack = new WeakMap<object, { layers: number; found: boolean }>()

/**
 * How a layer's handle holds a sub-app: Express wraps an app given to `app.use` in `mounted_app` (`'wrapped'`, its
 * router hidden); an app given to a router's `use` is the handle itself (`'app'`, its router reachable). Null: no app.
 */
function subAppIn(handle: unknown): 'wrapped' | 'app' | null {
  const candidate = handle as { name?: unknown; set?: unknown; handle?: unknown } | null | undefined
  if (candidate?.name === 'mounted_app') return 'wrapped'
  return typeof candidate?.set === 'function' && typeof candidate.handle === 'function' ? 'app' : null
}

/**
 * Whether `app` mounts another app anywhere in its router stack (`app.use('/orgs/:org', orgApp)`): only then can an
 * error leaving a sub-app reset `req.app` to a parent whose stack does not reach the matched route. Cached per stack
 * and its length (a later `app.use` is seen).
 */
export function mountsSubApps(app: object): boolean {
  const root = rootStackOf(app)
  if (!root) return false
  const known = subAppsByStack.get(root)
  if (known && known.layers === root.length) return known.found
  const visit = (stack: LayerLike[], depth: number): boolean =>
    depth <= 16 &&
    stack.some((layer) => {
      if (layer.route) return false
      if (subAppIn(layer.handle) !== null) return true
      const child = stackOf(layer.handle)
      return child !== undefined && visit(child, depth + 1)
    })
  const found = visit(root, 0)
  subAppsByStack.set(root, { layers: root.length, found })
  return found
}

/**
 * Whether a route of `app` takes `method` on `path`, for a request no route answered: false makes its refusal
 * (authentication in `app.use`, a body parser's 400) generic, its path being the client's invention. Undefined when it
 * cannot be told: `app` is itself mounted, or a mounted sub-app (whose router its wrapper hides) takes the path.
 */
export function routeExistsFor(app: object, method: string, path: string): boolean | undefined {
  if ((app as AppLike).parent) return undefined
  const root = rootStackOf(app)
  return root === undefined ? undefined : routeIn(root, method, path, 0)
}

function routeIn(stack: readonly LayerLike[], method: string, path: string, depth: number): boolean | undefined {
  if (depth > 16) return undefined
  let unknown = false
  for (const layer of stack) {
    if (layer.route) {
      if (handlesMethod(layer.route, method) && matchLayer(layer, path)) return true
      continue
    }
    const subApp = subAppIn(layer.handle)
    // A wrapped sub-app's routes are hidden; an app's router is reachable once it has one (Express 4 creates it with the
    // first route).
    const child = subApp === 'wrapped' ? undefined : subApp === 'app' ? rootStackOf(layer.handle as object) : stackOf(layer.handle)
    if (subApp === null && child === undefined) continue // plain middleware
    const match = matchLayer(layer, path)
    if (!match) continue
    if (child === undefined) {
      unknown = true
      continue
    }
    // What Express hands the router: the path past the matched prefix, with a leading slash.
    const rest = path.slice(match.matched.length)
    const found = routeIn(child, method, rest.startsWith('/') ? rest : `/${rest}`, depth + 1)
    if (found === true) return true
    if (found === undefined) unknown = true
  }
  return unknown ? undefined : false
}

/** Express 4's `_handles_method`, router 2's `_handlesMethod` (Express 5), else its `methods`: HEAD is handled by GET. */
function handlesMethod(route: unknown, method: string): boolean {
  const r = route as { _handles_method?: unknown; _handlesMethod?: unknown; methods?: unknown }
  if (typeof r._handlesMethod === 'function') return Boolean((r._handlesMethod as (m: string) => unknown).call(route, method))
  if (typeof r._handles_method === 'function') return Boolean((r._handles_method as (m: string) => unknown).call(route, method))
  if (typeof r.methods !== 'object' || r.methods === null) return false
  const methods = r.methods as Record<string, unknown>
  const name = method.toLowerCase()
  return Boolean(methods._all || methods[name] || (name === 'head' && methods.get))
}

function chainsTo(app: object, routes: AppRoutes, route: object): Chain[] {
  const known = routes.chains.get(route)
  if (known) return known
  const root = rootStackOf(app)
  const chains: Chain[] = []
  const visit = (stack: LayerLike[], path: LayerLike[], depth: number): void => {
    if (depth > 16) return
    for (const layer of stack) {
      if (layer.route === route) {
        chains.push({ mounts: path, routeLayer: layer })
        continue
      }
      const child = layer.route ? undefined : stackOf(layer.handle)
      if (child) visit(child, [...path, layer], depth + 1)
    }
  }
  if (root) visit(root, [], 0)
  routes.chains.set(route, chains)
  return chains
}

/** Matches a chain's mount layers, then its route, against the request path; returns the mounts' and the route's pattern. */
function matchChain(chain: Chain, path: string): { prefix: string; route: string } | undefined {
  let remaining = path
  const patterns: string[] = []
  for (const layer of chain.mounts) {
    const match = matchLayer(layer, remaining)
    if (!match) return undefined
    patterns.push(match.pattern)
    remaining = remaining.slice(match.matched.length) || '/'
  }
  const own = matchLayer(chain.routeLayer, remaining)
  return own ? { prefix: joinPaths(patterns), route: own.pattern } : undefined
}

/** Characters for which parseurl (what Express routes by) leaves a path to Node's `url.parse`. */
const NOT_A_PLAIN_PATH = /[\t\n\f\r #\u00a0\ufeff]/

/**
 * The path Express routes by: the URL without its query string, and for anything but a plain path (an absolute-form
 * target `http://host/path`, a `#fragment`) the pathname Node's `url.parse` gives, as in parseurl. Taken as sent,
 * such a request would be routed normally but recorded without its parent parameters (`params.ws`: another tenant).
 */
export function pathOnly(url: string): string {
  if (url.charCodeAt(0) !== 0x2f /* / */ || NOT_A_PLAIN_PATH.test(url)) {
    try {
      const { pathname } = parseUrl(url)
      if (pathname) return pathname
    } catch {
      // Express does not route a URL url.parse refuses either: keep what was sent.
    }
  }
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}

function matchLayer(layer: LayerLike, path: string): LayerMatch | undefined {
  if (typeof layer.match !== 'function') return undefined
  let result: unknown
  try {
    result = layer.match(path)
  } catch {
    return undefined // a parameter that fails to decode
  }
  if (!result) return undefined
  if (typeof result === 'object') {
    // router >= 2.3 returns the match.
    const { path: matched, params, pattern } = result as { path?: unknown; params?: unknown; pattern?: unknown }
    const text = typeof matched === 'string' ? matched : ''
    return { matched: text, pattern: typeof pattern === 'string' ? pattern : substituteParams(text, params) }
  }
  // Express 4: `match()` returns true and leaves the match on the layer.
  const text = typeof layer.path === 'string' ? layer.path : ''
  return { matched: text, pattern: substituteParams(text, layer.params) }
}

function substituteParams(path: string, params: unknown): string {
  if (!params || typeof params !== 'object') return path
  const entries = Object.entries(params as Record<string, unknown>).filter(
    (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '' && !/^\d+$/.test(entry[0]),
  )
  if (entries.length === 0) return path
  return path
    .split('/')
    .map((segment) => {
      const decoded = safeDecode(segment)
      const hit = entries.find(([, value]) => value === decoded)
      return hit ? `:${hit[0]}` : segment
    })
    .join('/')
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

function joinPaths(parts: readonly string[]): string {
  const joined = parts
    .filter((part) => part !== '' && part !== '/')
    .map((part) => `/${part.replace(/^\/+|\/+$/g, '')}`)
    .join('')
  return joined === '' ? '/' : joined
}
