import type { AdminAuthorization } from '@auditkit/core'
import { DEMO_CREDENTIALS, type DemoCredential } from './demo-data.js'

/** Cookie the demo also accepts, so that a browser can open the admin page (it cannot send a bearer header on navigation). */
export const DEMO_ADMIN_COOKIE = 'auditkit_demo_token'

const credentialsByToken = new Map(DEMO_CREDENTIALS.map((credential) => [credential.token, credential]))

/** The demo credential of a token (bearer or cookie), if it is one. */
export function credentialOf(token: string | undefined): DemoCredential | undefined {
  return token === undefined ? undefined : credentialsByToken.get(token)
}

/** The token of an `Authorization: Bearer <token>` header, if it is one. */
export function bearerToken(authorization: string | null | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1]
}

/** The token of the demo's admin cookie in a `Cookie` header, if any. */
export function adminCookieToken(cookie: string | null | undefined): string | undefined {
  for (const part of (cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=')
    if (name !== DEMO_ADMIN_COOKIE) continue
    try {
      return decodeURIComponent(value.join('='))
    } catch {
      return undefined
    }
  }
  return undefined
}

function tokenOf(request: Request): string | undefined {
  return bearerToken(request.headers.get('authorization')) ?? adminCookieToken(request.headers.get('cookie'))
}

/**
 * The demo's `authorize` for the admin routes: owners and admins administer their workspace's audit log;
 * other known tokens are refused (403); no token or an unknown one is unauthenticated (401).
 */
export function authorizeDemoAdmin(request: Request): AdminAuthorization {
  const credential = credentialOf(tokenOf(request))
  if (!credential) return null
  const home = credential.roles[credential.homeWorkspace]
  const workspace =
    home === 'owner' || home === 'admin'
      ? credential.homeWorkspace
      : Object.keys(credential.roles).find((id) => credential.roles[id] === 'owner' || credential.roles[id] === 'admin')
  if (workspace === undefined) return 'forbidden'
  return { tenantId: workspace, actor: credential.actor }
}
