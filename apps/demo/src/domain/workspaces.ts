import { randomBytes, randomUUID } from 'node:crypto'
import { DEMO_CREDENTIALS, DEMO_WORKSPACES, ROLES, type DemoPrincipal, type Role } from './demo-data.js'

/** A refusal the HTTP layer turns into `{ error: { code, message } }` with this status. */
export class DemoError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export interface Member {
  id: string
  userId?: string
  name?: string
  email: string
  role: Role
  status: 'active' | 'invited'
}

export interface Project {
  id: string
  name: string
  description: string
}

export interface ApiKey {
  id: string
  name: string
  /** The first characters of the secret, safe to show. */
  prefix: string
  status: 'active' | 'revoked'
  createdAt: string
}

interface Workspace {
  id: string
  name: string
  members: Map<string, Member>
  projects: Map<string, Project>
  apiKeys: Map<string, ApiKey>
}

const shortId = (prefix: string): string => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 10)}`

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value)
}

/** The demo's data, in memory (the audit log is what persists). */
export class WorkspaceDirectory {
  private readonly workspaces = new Map<string, Workspace>()

  constructor() {
    for (const seed of DEMO_WORKSPACES) {
      const members = new Map(
        seed.members.map((m, i): [string, Member] => [
          `mem_${seed.id}_${i + 1}`,
          { id: `mem_${seed.id}_${i + 1}`, userId: m.userId, name: m.name, email: m.email, role: m.role, status: 'active' },
        ]),
      )
      const projects = new Map(seed.projects.map((p): [string, Project] => [p.id, { ...p, description: '' }]))
      const apiKeys = new Map<string, ApiKey>()
      if (seed.id === 'acme')
        apiKeys.set('key_acme_ci', { id: 'key_acme_ci', name: 'CI deploy key', prefix: 'ak_live_demo', status: 'active', createdAt: new Date().toISOString() })
      this.workspaces.set(seed.id, { id: seed.id, name: seed.name, members, projects, apiKeys })
    }
  }

  workspace(id: string): Workspace {
    const workspace = this.workspaces.get(id)
    if (!workspace) throw new DemoError(404, 'NOT_FOUND', `No workspace ${id}`)
    return workspace
  }

  summary(id: string): { id: string; name: string; members: number; projects: number } {
    const w = this.workspace(id)
    return { id: w.id, name: w.name, members: w.members.size, projects: w.projects.size }
  }

  listMembers(ws: string): Member[] {
    return [...this.workspace(ws).members.values()]
  }

  member(ws: string, memberId: string): Member {
    const member = this.workspace(ws).members.get(memberId)
    if (!member) throw new DemoError(404, 'NOT_FOUND', `No member ${memberId} in ${ws}`)
    return member
  }

  addMember(ws: string, input: { email: string; name?: string; role: Role }, status: Member['status']): Member {
    const workspace = this.workspace(ws)
    if ([...workspace.members.values()].some((m) => m.email === input.email))
      throw new DemoError(409, 'CONFLICT', `${input.email} is already a member of ${ws}`)
    const member: Member = { id: shortId('mem'), email: input.email, role: input.role, status, ...(input.name ? { name: input.name } : {}) }
    workspace.members.set(member.id, member)
    return member
  }

  removeMember(ws: string, memberId: string): Member {
    const member = this.member(ws, memberId)
    if (member.role === 'owner') throw new DemoError(409, 'CONFLICT', 'The owner cannot be removed')
    this.workspace(ws).members.delete(memberId)
    return member
  }

  changeRole(ws: string, memberId: string, role: Role): { before: Member; after: Member } {
    const member = this.member(ws, memberId)
    if (member.role === 'owner') throw new DemoError(409, 'CONFLICT', "The owner's role cannot be changed")
    const before = { ...member }
    member.role = role
    return { before, after: { ...member } }
  }

  /**
   * The caller's role in `ws` now: a user's from the workspace's active members (so promoting, demoting and
   * removing take effect), an API key's from its credential while the key is active and not rotated. `undefined`
   * when the caller is not (or no longer) a member; throws 401 for a revoked or rotated key.
   */
  roleOf(ws: string, principal: DemoPrincipal): Role | undefined {
    const workspace = this.workspaces.get(ws)
    if (!workspace) return undefined
    const { actor } = principal
    if (actor.type === 'api_key') {
      const key = workspace.apiKeys.get(actor.id)
      const token = DEMO_CREDENTIALS.find((c) => c.actor.type === 'api_key' && c.actor.id === actor.id)?.token
      if (!key) return undefined
      if (key.status !== 'active' || token === undefined || !token.startsWith(key.prefix))
        throw new DemoError(401, 'UNAUTHENTICATED', `API key ${key.id} has been ${key.status === 'revoked' ? 'revoked' : 'rotated'}`)
      return principal.roles[ws]
    }
    for (const member of workspace.members.values()) if (member.userId === actor.id && member.status === 'active') return member.role
    return undefined
  }

  listProjects(ws: string): Project[] {
    return [...this.workspace(ws).projects.values()]
  }

  project(ws: string, projectId: string): Project {
    const project = this.workspace(ws).projects.get(projectId)
    if (!project) throw new DemoError(404, 'NOT_FOUND', `No project ${projectId} in ${ws}`)
    return project
  }

  createProject(ws: string, input: { name: string; description?: string }): Project {
    const project: Project = { id: shortId('prj'), name: input.name, description: input.description ?? '' }
    this.workspace(ws).projects.set(project.id, project)
    return project
  }

  updateProject(ws: string, projectId: string, input: { name?: string; description?: string }): { before: Project; after: Project } {
    const project = this.project(ws, projectId)
    const before = { ...project }
    if (input.name !== undefined) project.name = input.name
    if (input.description !== undefined) project.description = input.description
    return { before, after: { ...project } }
  }

  deleteProject(ws: string, projectId: string): Project {
    const project = this.project(ws, projectId)
    this.workspace(ws).projects.delete(projectId)
    return project
  }

  listApiKeys(ws: string): ApiKey[] {
    return [...this.workspace(ws).apiKeys.values()]
  }

  /** Creates a key; the secret is returned once and never stored or recorded. */
  createApiKey(ws: string, name: string): { key: ApiKey; secret: string } {
    const secret = `ak_live_${randomBytes(18).toString('base64url')}`
    const key: ApiKey = { id: shortId('key'), name, prefix: secret.slice(0, 12), status: 'active', createdAt: new Date().toISOString() }
    this.workspace(ws).apiKeys.set(key.id, key)
    return { key, secret }
  }

  apiKey(ws: string, keyId: string): ApiKey {
    const key = this.workspace(ws).apiKeys.get(keyId)
    if (!key) throw new DemoError(404, 'NOT_FOUND', `No API key ${keyId} in ${ws}`)
    return key
  }

  rotateApiKey(ws: string, keyId: string): { key: ApiKey; secret: string } {
    const key = this.apiKey(ws, keyId)
    if (key.status === 'revoked') throw new DemoError(409, 'CONFLICT', 'A revoked key cannot be rotated')
    const secret = `ak_live_${randomBytes(18).toString('base64url')}`
    key.prefix = secret.slice(0, 12)
    return { key: { ...key }, secret }
  }

  revokeApiKey(ws: string, keyId: string): ApiKey {
    const key = this.apiKey(ws, keyId)
    key.status = 'revoked'
    return { ...key }
  }
}
