import { pathToFileURL } from 'node:url'
import { createAuditLogger, type Actor, type AuditEventInput, type AuditStore, type JsonObject } from '@auditkit/core'
import { createDemoStore } from './store.js'

export interface SeedOptions {
  store: AuditStore
  /**
   * How many events to write.
   * @default 4000
   */
  events?: number
  /**
   * Over how many days before `now` they are spread.
   * @default 60
   */
  days?: number
  /**
   * The end of the seeded period (seeded events stop an hour before it).
   * @default new Date()
   */
  now?: Date
  /**
   * Seed of the pseudo-random generator, so that runs are repeatable.
   * @default 7
   */
  randomSeed?: number
}

interface SeedActor {
  actor: Actor
  ip: string
  userAgent: string
  /** Relative weight of how active the actor is. */
  weight: number
  role: 'owner' | 'admin' | 'member' | 'viewer' | 'api_key'
}

interface SeedTenant {
  id: string
  weight: number
  actors: SeedActor[]
  projects: string[]
}

const BROWSER = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15'
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0'
const CI = 'github-actions-deployer/2.4 (+https://github.com)'

const user = (id: string, name: string, email: string): Actor => ({ type: 'user', id, name, email })

const TENANTS: SeedTenant[] = [
  {
    id: 'acme',
    weight: 5,
    projects: ['Website relaunch', 'Billing v2', 'Mobile app', 'Data warehouse', 'Partner portal'],
    actors: [
      { actor: user('usr_olivia', 'Olivia Owner', 'olivia@acme.test'), ip: '198.51.100.23', userAgent: BROWSER, weight: 4, role: 'owner' },
      { actor: user('usr_max', 'Max Member', 'max@acme.test'), ip: '198.51.100.57', userAgent: CHROME, weight: 6, role: 'member' },
      { actor: user('usr_vera', 'Vera Viewer', 'vera@acme.test'), ip: '203.0.113.80', userAgent: FIREFOX, weight: 1, role: 'viewer' },
      { actor: { type: 'api_key', id: 'key_acme_ci', name: 'CI deploy key' }, ip: '192.0.2.10', userAgent: CI, weight: 3, role: 'api_key' },
    ],
  },
  {
    id: 'globex',
    weight: 3,
    projects: ['Reactor control', 'Hammock district', 'Sales dashboard'],
    actors: [
      { actor: user('usr_gina', 'Gina Globex', 'gina@globex.test'), ip: '198.51.100.140', userAgent: CHROME, weight: 4, role: 'admin' },
      { actor: user('usr_hank', 'Hank Scorpio', 'hank@globex.test'), ip: '198.51.100.141', userAgent: BROWSER, weight: 3, role: 'owner' },
    ],
  },
  {
    id: 'initech',
    weight: 2,
    projects: ['TPS reports', 'Y2K patch', 'Stapler inventory'],
    actors: [
      { actor: user('usr_peter', 'Peter Gibbons', 'peter@initech.test'), ip: '203.0.113.15', userAgent: FIREFOX, weight: 3, role: 'owner' },
      { actor: user('usr_milton', 'Milton Waddams', 'milton@initech.test'), ip: '203.0.113.16', userAgent: CHROME, weight: 1, role: 'viewer' },
      { actor: { type: 'api_key', id: 'key_initech_sync', name: 'HR sync' }, ip: '192.0.2.44', userAgent: 'initech-sync/1.0', weight: 2, role: 'api_key' },
    ],
  },
]

const SYSTEM: Actor = { type: 'system', id: 'scheduler', name: 'Nightly jobs' }
const INVITEES = ['sam', 'alex', 'kim', 'lee', 'jo', 'ray', 'pat', 'chris', 'dana', 'morgan']
const ROLES = ['viewer', 'member', 'admin'] as const

/** Mulberry32: small, fast and repeatable. */
function generator(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Fills the store with realistic activity: thousands of events over many days, several tenants and actors (users,
 * API keys, the system's nightly jobs), with failures (viewers refused, expired sessions, conflicts). Events are
 * written through the normal logger, backdated with its `clock` option, so every chain is intact.
 */
export async function seedDemoAuditLog(options: SeedOptions): Promise<number> {
  const total = options.events ?? 4000
  const days = options.days ?? 60
  const end = (options.now ?? new Date()).getTime() - 3_600_000
  const start = end - days * 86_400_000
  const random = generator(options.randomSeed ?? 7)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
  const weighted = <T extends { weight: number }>(items: readonly T[]): T => {
    let r = random() * items.reduce((sum, item) => sum + item.weight, 0)
    for (const item of items) if ((r -= item.weight) < 0) return item
    return items[items.length - 1] as T
  }

  // Office-hours-shaped timestamps, ascending so that each chain's order matches time.
  const times: number[] = []
  while (times.length < total) {
    const t = start + random() * (end - start)
    const hour = new Date(t).getUTCHours()
    const weekday = new Date(t).getUTCDay()
    const busy = (hour >= 7 && hour <= 18 ? 1 : 0.15) * (weekday === 0 || weekday === 6 ? 0.3 : 1)
    if (random() < busy) times.push(Math.floor(t))
  }
  times.sort((a, b) => a - b)

  let now = start
  const logger = createAuditLogger({ store: options.store, clock: () => new Date(now), batchSize: 500 })
  const counters = new Map<string, number>()
  const nextId = (prefix: string): string => {
    const n = (counters.get(prefix) ?? 0) + 1
    counters.set(prefix, n)
    return `${prefix}_${n.toString(36).padStart(4, '0')}`
  }
  let lastNightlyDay = -1

  for (const time of times) {
    // One nightly job per day, at the first event after 02:00.
    const day = Math.floor(time / 86_400_000)
    if (day !== lastNightlyDay && new Date(time).getUTCHours() >= 2) {
      lastNightlyDay = day
      for (const tenant of TENANTS) {
        now = time
        void logger.record({
          tenantId: tenant.id,
          actor: SYSTEM,
          action: 'workspace_backup_completed',
          resource: { type: 'workspace', id: tenant.id },
          outcome: random() < 0.03 ? 'failure' : 'success',
          metadata: { job: 'nightly_backup', sizeMb: Math.round(50 + random() * 900) },
        })
      }
    }
    now = time
    const tenant = weighted(TENANTS)
    const who = weighted(tenant.actors)
    void logger.record(scenario(tenant, who))
  }
  await logger.flush()
  await logger.close()
  return logger.stats().written

  function scenario(tenant: SeedTenant, who: SeedActor): AuditEventInput {
    const ws = tenant.id
    const context = (method: string, route: string, params: Record<string, string>, status: number) => ({
      ip: who.ip,
      userAgent: who.userAgent,
      method,
      route,
      path: route.replace(/:(\w+)/g, (_m, name: string) => params[name] ?? name),
      status,
      requestId: `req_${Math.floor(random() * 1e12).toString(36)}`,
    })
    const base = { tenantId: ws, actor: who.actor, targets: [{ type: 'workspace', id: ws }] }
    const r = random()

    // Refusals: viewers trying to write, and now and then an expired session.
    if (who.role === 'viewer' && r < 0.6) {
      const name = pick(tenant.projects)
      return {
        ...base,
        action: 'project_created',
        resource: { type: 'project' },
        outcome: 'failure',
        context: context('POST', '/workspaces/:ws/projects', { ws }, 403),
        metadata: { reason: 'viewer role cannot create projects', attemptedName: name },
      }
    }
    if (r < 0.03) {
      return {
        ...base,
        actor: { type: 'user', id: 'anonymous' },
        action: 'project_deleted',
        resource: { type: 'project', id: nextId('prj') },
        outcome: 'failure',
        context: { ...context('DELETE', '/workspaces/:ws/projects/:projectId', { ws, projectId: 'prj_x' }, 401), userAgent: 'curl/8.5.0' },
      }
    }
    if (who.role === 'api_key') {
      const name = pick(tenant.projects)
      const projectId = `prj_${name.toLowerCase().replace(/\W+/g, '_')}`
      return {
        ...base,
        action: 'project_updated',
        resource: { type: 'project', id: projectId, name },
        outcome: r < 0.05 ? 'failure' : 'success',
        context: context('PATCH', '/workspaces/:ws/projects/:projectId', { ws, projectId }, r < 0.05 ? 409 : 200),
        changes: { before: { deployedVersion: `1.${Math.floor(r * 40)}.0` }, after: { deployedVersion: `1.${Math.floor(r * 40) + 1}.0` } },
      }
    }
    const isAdmin = who.role === 'owner' || who.role === 'admin'
    if (isAdmin && r < 0.45) return memberOrKeyActivity(tenant, base, context)
    return projectActivity(tenant, base, context)
  }

  function projectActivity(tenant: SeedTenant, base: Pick<AuditEventInput, 'tenantId' | 'actor' | 'targets'>, context: ContextFn): AuditEventInput {
    const ws = tenant.id
    const name = pick(tenant.projects)
    const r = random()
    if (r < 0.3) {
      const projectId = nextId('prj')
      return {
        ...base,
        action: 'project_created',
        resource: { type: 'project', id: projectId, name },
        outcome: 'success',
        context: context('POST', '/workspaces/:ws/projects', { ws }, 201),
        changes: { after: { id: projectId, name, description: '' } },
      }
    }
    if (r < 0.85) {
      const projectId = nextId('prj')
      const renamed = `${name} ${pick(['(beta)', 'v2', 'phase 2', 'archive', 'EU'])}`
      return {
        ...base,
        action: 'project_updated',
        resource: { type: 'project', id: projectId, name: renamed },
        outcome: 'success',
        context: context('PATCH', '/workspaces/:ws/projects/:projectId', { ws, projectId }, 200),
        changes: { before: { name }, after: { name: renamed } },
      }
    }
    const projectId = nextId('prj')
    const missing = r > 0.97
    return {
      ...base,
      action: 'project_deleted',
      resource: { type: 'project', id: projectId, name },
      outcome: missing ? 'failure' : 'success',
      context: context('DELETE', '/workspaces/:ws/projects/:projectId', { ws, projectId }, missing ? 404 : 204),
      ...(missing ? {} : { changes: { before: { id: projectId, name } } }),
    }
  }

  function memberOrKeyActivity(tenant: SeedTenant, base: Pick<AuditEventInput, 'tenantId' | 'actor' | 'targets'>, context: ContextFn): AuditEventInput {
    const ws = tenant.id
    const r = random()
    const person = pick(INVITEES)
    const email = `${person}@${ws}.test`
    if (r < 0.3) {
      const role = pick(ROLES)
      return {
        ...base,
        action: 'member_invited',
        resource: { type: 'member', id: nextId('mem'), name: email },
        outcome: 'success',
        context: context('POST', '/workspaces/:ws/members/invite', { ws }, 201),
        metadata: { role },
      }
    }
    if (r < 0.55) {
      const memberId = nextId('mem')
      const [from, to] = random() < 0.5 ? (['member', 'admin'] as const) : (['viewer', 'member'] as const)
      return {
        ...base,
        action: 'member_role_updated',
        resource: { type: 'member', id: memberId, name: email },
        outcome: 'success',
        context: context('PATCH', '/workspaces/:ws/members/:memberId/role', { ws, memberId }, 200),
        changes: { before: { role: from }, after: { role: to } },
      }
    }
    if (r < 0.65) {
      const memberId = nextId('mem')
      return {
        ...base,
        action: 'member_removed',
        resource: { type: 'member', id: memberId, name: email },
        outcome: 'success',
        context: context('DELETE', '/workspaces/:ws/members/:memberId', { ws, memberId }, 204),
      }
    }
    const keyId = nextId('key')
    const keyName = pick(['CI deploy key', 'Zapier', 'Backup exporter', 'Metrics pusher'])
    if (r < 0.8)
      return {
        ...base,
        action: 'api_key_created',
        resource: { type: 'api_key', id: keyId, name: keyName },
        outcome: 'success',
        context: context('POST', '/workspaces/:ws/api-keys', { ws }, 201),
        changes: { after: { id: keyId, name: keyName, status: 'active' } },
      }
    if (r < 0.92)
      return {
        ...base,
        action: 'api_key_rotated',
        resource: { type: 'api_key', id: keyId, name: keyName },
        outcome: 'success',
        context: context('POST', '/workspaces/:ws/api-keys/:keyId/rotate', { ws, keyId }, 200),
        metadata: { reason: pick(['scheduled rotation', 'suspected leak', 'staff change']) } satisfies JsonObject,
      }
    return {
      ...base,
      action: 'api_key_revoked',
      resource: { type: 'api_key', id: keyId, name: keyName },
      outcome: 'success',
      context: context('POST', '/workspaces/:ws/api-keys/:keyId/revoke', { ws, keyId }, 200),
      changes: { after: { status: 'revoked' } },
    }
  }
}

type ContextFn = (method: string, route: string, params: Record<string, string>, status: number) => NonNullable<AuditEventInput['context']>

// `pnpm --filter @auditkit/demo seed`: seed the demo's database (run it while the demo is stopped).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { store, description } = createDemoStore()
  await store.init()
  if ((await store.listChains()).length > 0 && process.env.DEMO_SEED_FORCE !== '1') {
    // Backdated events after newer ones would put chain order against time order.
    console.error(`${description} already holds events; delete it first (or set DEMO_SEED_FORCE=1)`)
    process.exit(1)
  }
  const events = Number(process.env.DEMO_SEED_EVENTS ?? 4000)
  const written = await seedDemoAuditLog({ store, events })
  console.log(`Seeded ${written} audit events into ${description}`)
  await store.close()
}
