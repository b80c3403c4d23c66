import type { Actor } from '@auditkit/core'

/** Roles in a workspace, weakest first. */
export const ROLES = ['viewer', 'member', 'admin', 'owner'] as const
export type Role = (typeof ROLES)[number]

/** A caller the demo knows: an actor, and its role in each workspace it belongs to. */
export interface DemoPrincipal {
  actor: Actor
  /** The workspace used when a request names none (the tenant of non-workspace routes). */
  homeWorkspace: string
  roles: Record<string, Role>
}

export interface DemoCredential extends DemoPrincipal {
  /** The bearer token (`Authorization: Bearer <token>`). */
  token: string
  /** What the token is for, printed at start. */
  description: string
}

/**
 * The demo's fixed credentials, printed at start and listed in docs/demo.md. The API key is a credential like the
 * others but records as an `api_key` actor.
 */
export const DEMO_CREDENTIALS: readonly DemoCredential[] = [
  {
    token: 'demo-owner-token',
    description: 'Olivia, owner of acme (may do everything)',
    actor: { type: 'user', id: 'usr_olivia', name: 'Olivia Owner', email: 'olivia@acme.test' },
    homeWorkspace: 'acme',
    roles: { acme: 'owner' },
  },
  {
    token: 'demo-member-token',
    description: 'Max, member of acme (projects only)',
    actor: { type: 'user', id: 'usr_max', name: 'Max Member', email: 'max@acme.test' },
    homeWorkspace: 'acme',
    roles: { acme: 'member' },
  },
  {
    token: 'demo-viewer-token',
    description: 'Vera, viewer of acme (reads only: writes get 403)',
    actor: { type: 'user', id: 'usr_vera', name: 'Vera Viewer', email: 'vera@acme.test' },
    homeWorkspace: 'acme',
    roles: { acme: 'viewer' },
  },
  {
    token: 'demo-globex-token',
    description: 'Gina, admin of globex (another tenant)',
    actor: { type: 'user', id: 'usr_gina', name: 'Gina Globex', email: 'gina@globex.test' },
    homeWorkspace: 'globex',
    roles: { globex: 'admin' },
  },
  {
    token: 'ak_live_demo_acme_ci_4f9d2c',
    description: 'API key "CI deploy key" of acme (member rights)',
    actor: { type: 'api_key', id: 'key_acme_ci', name: 'CI deploy key' },
    homeWorkspace: 'acme',
    roles: { acme: 'member' },
  },
]

export interface SeedWorkspace {
  id: string
  name: string
  members: { userId: string; name: string; email: string; role: Role }[]
  projects: { id: string; name: string }[]
}

/** The workspaces the demo starts with. */
export const DEMO_WORKSPACES: readonly SeedWorkspace[] = [
  {
    id: 'acme',
    name: 'Acme Corp',
    members: [
      { userId: 'usr_olivia', name: 'Olivia Owner', email: 'olivia@acme.test', role: 'owner' },
      { userId: 'usr_max', name: 'Max Member', email: 'max@acme.test', role: 'member' },
      { userId: 'usr_vera', name: 'Vera Viewer', email: 'vera@acme.test', role: 'viewer' },
    ],
    projects: [
      { id: 'prj_website', name: 'Website relaunch' },
      { id: 'prj_billing', name: 'Billing v2' },
    ],
  },
  {
    id: 'globex',
    name: 'Globex',
    members: [{ userId: 'usr_gina', name: 'Gina Globex', email: 'gina@globex.test', role: 'admin' }],
    projects: [{ id: 'prj_reactor', name: 'Reactor control' }],
  },
  {
    id: 'initech',
    name: 'Initech',
    members: [{ userId: 'usr_peter', name: 'Peter Gibbons', email: 'peter@initech.test', role: 'owner' }],
    projects: [{ id: 'prj_tps', name: 'TPS reports' }],
  },
]
