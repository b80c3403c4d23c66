import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { DEMO_ADMIN_COOKIE } from './domain/admin-authorize.js'
import { DEMO_CREDENTIALS } from './domain/demo-data.js'

export const DEMO_SIGN_IN_PATH = '/demo/sign-in'

const knownTokens = new Set(DEMO_CREDENTIALS.map((credential) => credential.token))

/**
 * `GET /demo/sign-in?token=<demo token>`: sets the demo's admin cookie and opens the admin page, because a browser
 * cannot send a bearer header when it navigates. Demo only: a real app signs admins in with its own login.
 * Handled before the framework on the Node server, so it is the same for Express, NestJS and Hono.
 */
function handleSignIn(req: IncomingMessage, res: ServerResponse): boolean {
  const url = new URL(req.url ?? '/', 'http://demo.invalid')
  if (url.pathname !== DEMO_SIGN_IN_PATH || req.method !== 'GET') return false
  const token = url.searchParams.get('token') ?? ''
  if (!knownTokens.has(token)) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' })
    res.end(`Unknown demo token. Use one of: ${[...knownTokens].join(', ')}\n`)
    return true
  }
  res.writeHead(303, {
    location: '/admin/audit/',
    'set-cookie': `${DEMO_ADMIN_COOKIE}=${encodeURIComponent(token)}; Path=/admin/audit; HttpOnly; SameSite=Strict`,
  })
  res.end()
  return true
}

/** Puts the sign-in route in front of whatever request listeners the framework installed. */
export function installDemoSignIn(server: Server): void {
  const frameworkListeners = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[]
  server.removeAllListeners('request')
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (handleSignIn(req, res)) return
    for (const listener of frameworkListeners) listener.call(server, req, res)
  })
}
