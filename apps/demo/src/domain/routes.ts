import type { Actor, AuditRequestContext, JsonValue } from '@auditkit/core'
import { adminCookieToken, bearerToken, credentialOf } from './admin-authorize.js'
import { DEMO_WORKSPACES, ROLES, type DemoPrincipal, type Role } from './demo-data.js'
import { DemoError, WorkspaceDirectory, isRole } from './workspaces.js'

/**
 * The demo API, described once without any framework: each framework app (Express today, NestJS and Hono next)
 * mounts AuditKit first, authenticates with `authenticate`, then registers these routes in order and answers what
 * `handle` returns (a `DemoError` becomes `{ error: { code, message } }` with its status).
 */

export type DemoMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE'

export interface DemoRequest {
  params: Record<string, string | undefined>
  body: unknown
  principal: DemoPrincipal | null
  /** The request's audit record (`req.audit` in Express). */
  audit: AuditRequestContext
}

export interface DemoResponse {
  status: number
  body?: JsonValue
}

export interface DemoRoute {
  method: DemoMethod
  path: string
  handle(request: DemoRequest): DemoResponse
}

/**
 * The caller: from the Authorization header (throws 401 for an unknown token), else from the admin page's cookie (sent
 * only to `/admin/audit`: it names who a refused admin request came from, `authorize` still decides); else `null`.
 */
export function authenticate(authorization: string | null | undefined, cookie?: string | null): DemoPrincipal | null {
  const credential = credentialOf(authorization ? bearerToken(authorization) : adminCookieToken(cookie))
  if (!credential) {
    if (authorization) throw new DemoError(401, 'UNAUTHENTICATED', 'Unknown or malformed bearer token')
    return null
  }
  return { actor: credential.actor, homeWorkspace: credential.homeWorkspace, roles: credential.roles }
}

/**
 * The tenant of a request: the workspace in its path, else the caller's home workspace. Read as the router reads
 * `:ws` (case-insensitive prefix, percent-decoded), so that `/Workspaces/ac%6De/...` is filed under the `acme` it
 * acts on rather than a tenant of its own that acme's admins never see.
 */
export function tenantOf(path: string, principal: DemoPrincipal | null | undefined): string {
  const segment = /^\/workspaces\/([^/?#]+)/i.exec(path)?.[1]
  const named = segment === undefined ? undefined : decodedOnce(segment)
  // Only a workspace that exists names a tenant: a client must not create a hash chain per made-up name
  // (`/workspaces/<anything>`, even without a token). The rest goes to the caller's own workspace.
  if (named !== undefined && KNOWN_WORKSPACES.has(named)) return named
  return principal?.homeWorkspace ?? 'default'
}

const KNOWN_WORKSPACES: ReadonlySet<string> = new Set(DEMO_WORKSPACES.map((workspace) => workspace.id))

function decodedOnce(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    // Not valid percent-encoding: the router refuses it (Express) or matches it as written (Hono).
    return segment
  }
}

/** What Express's `req.user` holds in the demo: the actor fields (read by AuditKit's default resolver) and the roles. */
export type DemoUser = Actor & { principal: DemoPrincipal }

export function demoUser(principal: DemoPrincipal): DemoUser {
  return { ...principal.actor, principal }
}

function requireRole(directory: WorkspaceDirectory, principal: DemoPrincipal | null, ws: string | undefined, least: Role): string {
  if (!principal) throw new DemoError(401, 'UNAUTHENTICATED', 'Send Authorization: Bearer <token>')
  // The directory's current roles: the walkthrough promotes, removes and revokes, and the API must follow.
  const role = ws === undefined ? undefined : directory.roleOf(ws, principal)
  if (ws === undefined || role === undefined) throw new DemoError(403, 'FORBIDDEN', `You are not a member of workspace ${ws}`)
  if (ROLES.indexOf(role) < ROLES.indexOf(least)) throw new DemoError(403, 'FORBIDDEN', `This needs the ${least} role; you are ${role}`)
  return ws
}

function field(body: unknown, name: string, required: true): string
function field(body: unknown, name: string, required: false): string | undefined
function field(body: unknown, name: string, required: boolean): string | undefined {
  const value = body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined
  if (value === undefined && !required) return undefined
  if (typeof value !== 'string' || value.trim() === '' || value.length > 200)
    throw new DemoError(400, 'INVALID_BODY', `${name} must be a non-empty string of at most 200 characters`)
  return value.trim()
}

function roleField(body: unknown): Role {
  const role = body !== null && typeof body === 'object' ? (body as { role?: unknown }).role : undefined
  if (!isRole(role) || role === 'owner') throw new DemoError(400, 'INVALID_BODY', 'role must be one of viewer, member, admin')
  return role
}

const emailField = (body: unknown): string => {
  const email = field(body, 'email', true)
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) throw new DemoError(400, 'INVALID_BODY', 'email must be an email address')
  return email
}

/** The demo's routes over one in-memory directory. Order matters only in that specific paths come first. */
export function createDemoRoutes(directory: WorkspaceDirectory = new WorkspaceDirectory()): DemoRoute[] {
  return [
    {
      method: 'GET',
      path: '/workspaces/:ws',
      handle: ({ params, principal }) => ({ status: 200, body: directory.summary(requireRole(directory, principal, params.ws, 'viewer')) }),
    },
    // Members
    {
      method: 'GET',
      path: '/workspaces/:ws/members',
      handle: ({ params, principal }) => ({ status: 200, body: toJson(directory.listMembers(requireRole(directory, principal, params.ws, 'viewer'))) }),
    },
    {
      method: 'POST',
      path: '/workspaces/:ws/members/invite',
      handle: ({ params, principal, body, audit }) => {
        const ws = requireRole(directory, principal, params.ws, 'admin')
        const member = directory.addMember(ws, { email: emailField(body), role: roleField(body) }, 'invited')
        audit.set({ resource: { id: member.id, name: member.email }, metadata: { role: member.role } })
        return { status: 201, body: toJson(member) }
      },
    },
    {
      method: 'POST',
      path: '/workspaces/:ws/members',
      handle: ({ params, principal, body, audit }) => {
        const ws = requireRole(directory, principal, params.ws, 'admin')
        const member = directory.addMember(ws, { email: emailField(body), name: field(body, 'name', false), role: roleField(body) }, 'active')
        audit.set({ action: 'member_added', resource: { id: member.id, name: member.name ?? member.email } }).after(toJson(member))
        return { status: 201, body: toJson(member) }
      },
    },
    {
      method: 'PATCH',
      path: '/workspaces/:ws/members/:memberId/role',
      handle: ({ params, principal, body, audit }) => {
        const ws = requireRole(directory, principal, params.ws, 'admin')
        const { before, after } = directory.changeRole(ws, params.memberId ?? '', roleField(body))
        audit.set({ resource: { name: after.name ?? after.email } }).before({ role: before.role }).after({ role: after.role })
        return { status: 200, body: toJson(after) }
      },
    },
    {
      method: 'DELETE',
      path: '/workspaces/:ws/members/:memberId',
      handle: ({ params, principal, audit }) => {
        const ws = requireRole(directory, principal, params.ws, 'admin')
        const removed = directory.removeMember(ws, params.memberId ?? '')
        audit.set({ action: 'member_removed', resource: { name: removed.name ?? removed.email } }).before(toJson(removed))
        return { status: 204 }
      },
    },
    // Projects
    {
      method: 'GET',
      path: '/workspaces/:ws/projects',
      handle: ({ params, principal }) => ({ status: 200, body: toJson(directory.listProjects(requireRole(directory, principal, params.ws, 'viewer'))) }),
    },
    {
      method: 'POST',
      path: '/workspaces/:ws/projects',
      handle: ({ params, principal, body, audit }) => {
        const ws = requireRole(directory, principal, params.ws, 'member')
        const project = directory.createProject(ws, { name: field(body, 'name', true), description: field(body, 'description', false) })
        audit.set({ resource: { id: project.id, name: project.name } }).after(toJson(project))
        return { status: 201, body: toJson(project) }
      },
    },
    {
      method: 'PATCH',
      path: '/workspaces/:ws/projects/:projectId',
      handle: ({ params, principal, body, audit }) => {
        const ws = requireRole(directory, principal, params.ws, 'member')
        const { before, after } = directory.updateProject(ws, params.projectId ?? '', {
          name: field(body, 'name', false),
          description: field(body, 'description', false),
        })
        audit.set({ resource: { name: after.name } }).before(toJson(before)).after(toJson(after))
        return { status: 200, body: toJson(after) }
      },
    },
    {
      method: 'DELETE',
      path: '/workspaces/:ws/projects/:projectId',
      handle: ({ params, principal, audit }) => {
        const ws = requireRole(directory, principal, params.ws, 'member')
        const deleted = directory.deleteProject(ws, params.projectId ?? '')
        audit.set({ resource: { name: deleted.name } }).before(toJson(deleted))
        return { status: 204 }
      },
    },
    // API keys: the secret goes to the caller once and never into the audit record.
    {
      method: 'GET',
      path: '/workspaces/:ws/api-keys',
      handle: ({ params, principal }) => ({ status: 200, body: toJson(directory.listApiKeys(requireRole(directory, principal, params.ws, 'admin'))) }),
    },
    {
      method: 'POST',
      path: '/workspaces/:ws/api-keys',
      handle: ({ params, principal, body, audit }) => {
        const ws = requireRole(directory, principal, params.ws, 'admin')
        const { key, secret } = directory.createApiKey(ws, field(body, 'name', true))
        // Only what identifies the key: never the secret, nor its prefix.
        audit.set({ resource: { id: key.id, name: key.name } }).after({ id: key.id, name: key.name, status: key.status })
        return { status: 201, body: { ...toJson(key), secret } }
      },
    },
    {
      method: 'POST',
      path: '/workspaces/:ws/api-keys/:keyId/rotate',
      handle: ({ params, principal, audit }) => {
        const ws = requireRole(directory, principal, params.ws, 'admin')
        const { key, secret } = directory.rotateApiKey(ws, params.keyId ?? '')
        audit.set({ resource: { name: key.name } })
        return { status: 200, body: { ...toJson(key), secret } }
      },
    },
    {
      method: 'POST',
      path: '/workspaces/:ws/api-keys/:keyId/revoke',
      handle: ({ params, principal, audit }) => {
        const ws = requireRole(directory, principal, params.ws, 'admin')
        const key = directory.revokeApiKey(ws, params.keyId ?? '')
        audit.set({ resource: { name: key.name } }).after({ status: key.status })
        return { status: 200, body: toJson(key) }
      },
    },
  ]
}

/** The body of an error answer. */
export function errorBody(error: DemoError): JsonValue {
  return { error: { code: error.code, message: error.message } }
}

function toJson(value: object): { [key: string]: JsonValue } {
  return JSON.parse(JSON.stringify(value)) as { [key: string]: JsonValue }
}
