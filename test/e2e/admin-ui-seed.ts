import { createSealer, uuidv7, type AuditStore, type JsonValue, type UnsealedEvent } from '@auditkit/core'

/** What the browser tests look for: the seed is deterministic, so the page's answers can be checked exactly. */
export interface SeededLog {
  tenantId: string
  /** All seeded events, newest first (the page's order). */
  events: UnsealedEvent[]
  /** The event whose detail the diff test opens: `member_role_updated` with a changed, an added and a removed field. */
  diffEvent: UnsealedEvent
}

const DAY = 86_400_000

const PEOPLE = [
  { type: 'user', id: 'u_ayaka', name: 'Ayaka Sato', email: 'ayaka@acme.example' },
  { type: 'user', id: 'u_ben', name: 'Ben Carter', email: 'ben@acme.example' },
  { type: 'user', id: 'u_chloe', name: 'Chloé Martin', email: 'chloe@acme.example' },
  { type: 'api_key', id: 'key_ci', name: 'CI deploy key' },
  { type: 'system', id: 'scheduler', name: 'Scheduler' },
] as const

const IPS = ['203.0.113.24', '198.51.100.7', '192.0.2.44', '2001:db8::1f']

/** One seeded operation: action, resource and changes as the demo's API would record them. */
function operation(index: number): Pick<UnsealedEvent, 'action' | 'resource' | 'changes' | 'targets' | 'metadata' | 'outcome'> & { method: string; path: string; status: number } {
  const n = index % 9
  const project = { type: 'project', id: `prj_${100 + (index % 7)}`, name: ['Apollo', 'Borealis', 'Cosmos', 'Delta', 'Eclipse', 'Fjord', 'Gemini'][index % 7] as string }
  switch (n) {
    case 0:
      return { action: 'project_created', resource: project, outcome: 'success', changes: { after: { name: project.name, visibility: 'private' } }, method: 'POST', path: '/projects', status: 201 }
    case 1:
      return {
        action: 'project_updated',
        resource: project,
        outcome: 'success',
        changes: { before: { name: project.name, visibility: 'private' }, after: { name: `${project.name} v2`, visibility: 'internal' } },
        method: 'PATCH',
        path: `/projects/${project.id}`,
        status: 200,
      }
    case 2:
      return {
        action: 'member_invited',
        resource: { type: 'member', id: `mem_${index}`, name: `guest${index}@partner.example` },
        targets: [project],
        outcome: 'success',
        changes: { after: { email: `guest${index}@partner.example`, role: 'viewer' } },
        method: 'POST',
        path: '/members',
        status: 201,
      }
    case 3:
      return {
        action: 'api_key_created',
        resource: { type: 'api_key', id: `key_${index}`, name: `Build key ${index}` },
        outcome: 'success',
        changes: { after: { name: `Build key ${index}`, scopes: ['read', 'write'] } },
        method: 'POST',
        path: '/api-keys',
        status: 201,
      }
    case 4:
      return { action: 'api_key_revoked', resource: { type: 'api_key', id: `key_${index - 1}`, name: `Build key ${index - 1}` }, outcome: 'success', changes: { before: { revoked: false }, after: { revoked: true } }, method: 'DELETE', path: `/api-keys/key_${index - 1}`, status: 204 }
    case 5:
      return { action: 'project_deleted', resource: project, outcome: 'failure', method: 'DELETE', path: `/projects/${project.id}`, status: 403 }
    case 6:
      return {
        action: 'content_imported',
        resource: { type: 'content', id: `cnt_${index}`, name: 'Product catalogue' },
        outcome: 'success',
        metadata: { csvImportCount: 120 + index, csvImportSavedAt: '2026-11-01T09:00:00.000Z' },
        method: 'POST',
        path: '/contents/import',
        status: 202,
      }
    case 7:
      return {
        action: 'role_updated',
        resource: { type: 'role', id: 'role_editor', name: 'Editor' },
        outcome: 'success',
        changes: { before: { permissions: ['read', 'write'] }, after: { permissions: ['read', 'write', 'publish'] } },
        method: 'PUT',
        path: '/roles/role_editor',
        status: 200,
      }
    default:
      return { action: 'schedule_updated', resource: project, outcome: 'success', metadata: { scheduledStartAt: '2026-12-01T00:00:00.000Z', scheduledStopAt: '2026-12-31T00:00:00.000Z' }, changes: { before: { scheduled: false }, after: { scheduled: true } }, method: 'PUT', path: `/projects/${project.id}/schedule`, status: 200 }
  }
}

/**
 * Appends `count` realistic events to `store` for `tenantId`, spread over the last `spanDays` days before `now`
 * (oldest first, so the chain is in time order), plus one `member_role_updated` with a rich diff as the newest.
 */
export async function seedAdminUiLog(store: AuditStore, options: { tenantId: string; count?: number; spanDays?: number; now?: number }): Promise<SeededLog> {
  const { tenantId } = options
  const count = options.count ?? 140
  const spanMs = (options.spanDays ?? 20) * DAY
  const now = options.now ?? Date.now()
  const drafts: UnsealedEvent[] = []
  for (let i = 0; i < count; i++) {
    // Oldest first, evenly spread, a little jitter so times do not look generated.
    const at = now - spanMs + Math.round((i / count) * (spanMs - 3_600_000)) + ((i * 7919) % 600_000)
    const actor = PEOPLE[i % PEOPLE.length] as (typeof PEOPLE)[number]
    const { method, path, status, ...op } = operation(i)
    drafts.push({
      id: uuidv7(at),
      occurredAt: new Date(at).toISOString(),
      chainId: tenantId,
      tenantId,
      actor: { ...actor },
      ...op,
      context: { ip: IPS[i % IPS.length] as string, userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 Chrome/126.0 Safari/537.36', method, path, status, requestId: `req_${(i * 2654435761) % 1e8}` },
    })
  }
  const diffAt = now - 60_000
  const before: JsonValue = { role: 'viewer', email: 'dana@acme.example', teams: ['design'], mfa: true, legacyAccess: 'read-only' }
  const after: JsonValue = { role: 'admin', email: 'dana@acme.example', teams: ['design', 'security'], mfa: true, approvedBy: 'Ayaka Sato' }
  const diffEvent: UnsealedEvent = {
    id: uuidv7(diffAt),
    occurredAt: new Date(diffAt).toISOString(),
    chainId: tenantId,
    tenantId,
    actor: { type: 'user', id: 'u_ayaka', name: 'Ayaka Sato', email: 'ayaka@acme.example' },
    action: 'member_role_updated',
    resource: { type: 'member', id: 'mem_dana', name: 'Dana Kim' },
    outcome: 'success',
    context: { ip: '203.0.113.24', method: 'PATCH', path: '/members/mem_dana', route: '/members/:id', status: 200, requestId: 'req_diff' },
    changes: { before, after },
  }
  drafts.push(diffEvent)
  const seal = createSealer()
  for (let i = 0; i < drafts.length; i += 100) await store.append(drafts.slice(i, i + 100), seal)
  return { tenantId, events: [...drafts].reverse(), diffEvent }
}
