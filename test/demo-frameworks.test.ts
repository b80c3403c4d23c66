import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AuditEvent, AuditStore } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemo, type DemoFramework, type RunningDemo } from '../apps/demo/src/start.js'

// One end-to-end scenario against the demo API in every framework: the same routes (apps/demo/src/domain), the same
// audit records. Real HTTP, read back from the real SQLite file through a second connection.
const FRAMEWORKS: DemoFramework[] = ['express', 'nestjs', 'hono']

describe.each(FRAMEWORKS)('demo API on %s', (framework) => {
  const dir = mkdtempSync(join(tmpdir(), `auditkit-demo-${framework}-`))
  const dbPath = join(dir, 'demo-audit.db')
  let demo: RunningDemo
  let reader: AuditStore

  beforeAll(async () => {
    demo = await startDemo({ framework, port: 0, host: '127.0.0.1', dbPath, seed: false })
    reader = createSqliteStore({ path: dbPath })
  })
  afterAll(async () => {
    await demo?.close()
    await reader?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const call = (method: string, path: string, token?: string, body?: unknown): Promise<Response> =>
    fetch(`${demo.url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        'user-agent': `demo-${framework}/1.0`,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })

  /** The tenant's events written since `since` events, oldest first. */
  async function eventsInFile(tenantId: string, since = 0): Promise<AuditEvent[]> {
    await demo.logger.flush()
    const page = await reader.query({ tenantId, from: '2000-01-01T00:00:00.000Z', to: '2999-01-01T00:00:00.000Z', limit: 1000 })
    return page.items.sort((a, b) => a.seq - b.seq).slice(since)
  }

  it('records exactly one event for a POST, with actor, IP, action, resource and outcome', async () => {
    const before = (await eventsInFile('acme')).length
    const res = await call('POST', '/workspaces/acme/projects', 'demo-owner-token', { name: 'Apollo' })
    expect(res.status).toBe(201)
    const project = (await res.json()) as { id: string; name: string }
    expect(project.name).toBe('Apollo')
    const events = await eventsInFile('acme', before)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      tenantId: 'acme',
      actor: { type: 'user', id: 'usr_olivia', name: 'Olivia Owner', email: 'olivia@acme.test' },
      action: 'project_created',
      resource: { type: 'project', id: project.id, name: 'Apollo' },
      targets: [{ type: 'workspace', id: 'acme' }],
      outcome: 'success',
      changes: { after: { id: project.id, name: 'Apollo' } },
      context: {
        ip: '127.0.0.1',
        method: 'POST',
        path: '/workspaces/acme/projects',
        route: '/workspaces/:ws/projects',
        status: 201,
        userAgent: `demo-${framework}/1.0`,
      },
    })
  })

  it('records nothing for a GET', async () => {
    const before = (await eventsInFile('acme')).length
    const res = await call('GET', '/workspaces/acme/projects', 'demo-viewer-token')
    expect(res.status).toBe(200)
    expect(Array.isArray(await res.json())).toBe(true)
    expect(await eventsInFile('acme', before)).toEqual([])
  })

  it('records a forbidden request as a failure event', async () => {
    const before = (await eventsInFile('acme')).length
    const res = await call('POST', '/workspaces/acme/projects', 'demo-viewer-token', { name: 'Not allowed' })
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ error: { code: 'FORBIDDEN' } })
    const events = await eventsInFile('acme', before)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      actor: { type: 'user', id: 'usr_vera' },
      action: 'project_created',
      outcome: 'failure',
      context: { status: 403, ip: '127.0.0.1', route: '/workspaces/:ws/projects' },
    })
  })

  it('records a denied SIEM settings change as a failed siem_config_updated, and an allowed one once', async () => {
    const before = (await eventsInFile('acme')).length
    const settings = { enabled: false, endpoint: 'http://127.0.0.1:4317', protocol: 'grpc' }
    const denied = await call('PUT', '/admin/audit/api/settings/siem', 'demo-member-token', settings)
    expect(denied.status).toBe(403)
    const saved = await call('PUT', '/admin/audit/api/settings/siem', 'demo-owner-token', settings)
    expect(saved.status).toBe(200)
    const events = await eventsInFile('acme', before)
    expect(events.map((event) => [event.action, event.outcome, event.actor.id])).toEqual([
      ['siem_config_updated', 'failure', 'usr_max'],
      ['siem_config_updated', 'success', 'usr_olivia'],
    ])
    expect(events[0]).toMatchObject({ resource: { type: 'siem_integration' }, context: { status: 403, ip: '127.0.0.1' } })
  })

  it("records a refused admin request of a browser session (the admin page's cookie) against its caller and workspace", async () => {
    const before = (await eventsInFile('acme')).length
    const denied = await fetch(`${demo.url}/admin/audit/api/settings/siem`, {
      method: 'PUT',
      headers: { cookie: 'auditkit_demo_token=demo-member-token', 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: false }),
    })
    expect(denied.status).toBe(403)
    const events = await eventsInFile('acme', before)
    expect(events.map((event) => [event.action, event.outcome, event.actor.id])).toEqual([['siem_config_updated', 'failure', 'usr_max']])
  })

  it('refuses a body over 100 KB with 413 before reading it whole, recorded once against its sender', async () => {
    const before = (await eventsInFile('acme')).length
    const res = await call('POST', '/workspaces/acme/projects', 'demo-owner-token', { name: 'x'.repeat(200 * 1024) })
    expect(res.status).toBe(413)
    const events = await eventsInFile('acme', before)
    expect(events.map((event) => [event.outcome, event.context?.status, event.actor.id])).toEqual([['failure', 413, 'usr_olivia']])
  })

  it('records an unknown token as an anonymous 401 and keeps every error in one JSON shape', async () => {
    const before = (await eventsInFile('acme')).length
    const refused = await call('DELETE', '/workspaces/acme/projects/prj_x', 'not-a-token')
    expect(refused.status).toBe(401)
    expect(await refused.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } })
    const missing = await call('POST', '/workspaces/acme/nothing-here', 'demo-owner-token', {})
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ error: { code: 'NOT_FOUND' } })
    const events = await eventsInFile('acme', before)
    expect(events.map((e) => [e.actor.id, e.outcome, e.context?.status])).toEqual([
      ['anonymous', 'failure', 401],
      ['usr_olivia', 'failure', 404],
    ])
  })

  it('records a malformed JSON body against its authenticated sender, answered in the same JSON shape', async () => {
    const before = (await eventsInFile('acme')).length
    const res = await fetch(`${demo.url}/workspaces/acme/projects`, {
      method: 'POST',
      headers: { authorization: 'Bearer demo-owner-token', 'content-type': 'application/json' },
      body: '{"name":',
    })
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({ error: { code: 'INVALID_BODY', message: 'The request body is not valid JSON' } })
    const events = await eventsInFile('acme', before)
    expect(events.map((e) => [e.actor.id, e.action, e.outcome, e.context?.status])).toEqual([['usr_olivia', 'project_created', 'failure', 400]])
  })

  it('files an event under the workspace the route acted on, however the path spells it', async () => {
    const created = (await (await call('POST', '/workspaces/acme/projects', 'demo-member-token', { name: 'Encoded' })).json()) as { id: string }
    const acmeBefore = (await eventsInFile('acme')).length
    const globexBefore = (await eventsInFile('globex')).length
    // `ac%6De` is `acme` percent-encoded: the route decodes it and deletes acme's project, so acme's log must show it.
    expect((await call('DELETE', `/workspaces/ac%6De/projects/${created.id}`, 'demo-member-token')).status).toBe(204)
    const projects = (await (await call('GET', '/workspaces/acme/projects', 'demo-member-token')).json()) as { id: string }[]
    expect(projects.map((p) => p.id)).not.toContain(created.id)
    // Express routes ignore case; an attempt on globex belongs in globex's log whatever the framework answers.
    expect([403, 404]).toContain((await call('POST', '/Workspaces/globex/projects', 'demo-owner-token', { name: 'Intruder' })).status)
    expect((await eventsInFile('acme', acmeBefore)).map((e) => [e.actor.id, e.action, e.resource.id, e.outcome])).toEqual([
      ['usr_max', 'project_deleted', created.id, 'success'],
    ])
    expect((await eventsInFile('globex', globexBefore)).map((e) => [e.actor.id, e.outcome])).toEqual([['usr_olivia', 'failure']])
    const chains = await reader.listChains()
    expect(chains.filter((chain) => chain.toLowerCase().includes('ac%'))).toEqual([])
  })

  it("opens no hash chain for a workspace that does not exist: the attempt goes to the caller's own workspace", async () => {
    const acmeBefore = (await eventsInFile('acme')).length
    expect([403, 404]).toContain((await call('POST', '/workspaces/made-up-by-max/projects', 'demo-member-token', { name: 'X' })).status)
    expect((await call('POST', '/workspaces/made-up-anonymously/projects', undefined, { name: 'X' })).status).toBe(401)
    expect((await eventsInFile('acme', acmeBefore)).map((e) => [e.actor.id, e.outcome])).toEqual([['usr_max', 'failure']])
    expect((await reader.listChains()).filter((chain) => chain.startsWith('made-up'))).toEqual([])
  })

  it('records role changes with before/after and API key actors, never an API key secret', async () => {
    const members = (await (await call('GET', '/workspaces/acme/members', 'demo-owner-token')).json()) as { id: string; email: string }[]
    const max = members.find((m) => m.email === 'max@acme.test')
    expect((await call('PATCH', `/workspaces/acme/members/${max?.id}/role`, 'demo-owner-token', { role: 'admin' })).status).toBe(200)
    const { id: keyId, secret } = (await (await call('POST', '/workspaces/acme/api-keys', 'demo-owner-token', { name: 'Zapier' })).json()) as {
      id: string
      secret: string
    }
    expect((await call('POST', '/workspaces/acme/projects', 'ak_live_demo_acme_ci_4f9d2c', { name: 'Deployed by CI' })).status).toBe(201)
    const events = await eventsInFile('acme')
    expect(events.find((e) => e.action === 'member_role_updated')).toMatchObject({
      resource: { type: 'member', id: max?.id },
      changes: { before: { role: 'member' }, after: { role: 'admin' } },
    })
    expect(events.find((e) => e.action === 'api_key_created')?.resource).toEqual({ type: 'api_key', id: keyId, name: 'Zapier' })
    expect(events.at(-1)?.actor).toEqual({ type: 'api_key', id: 'key_acme_ci', name: 'CI deploy key' })
    expect(JSON.stringify(events)).not.toContain(secret)
  })

  it('keeps tenants apart: a globex write lands in the globex chain only', async () => {
    const acmeBefore = (await eventsInFile('acme')).length
    const globexBefore = (await eventsInFile('globex')).length
    expect((await call('POST', '/workspaces/globex/projects', 'demo-globex-token', { name: 'Hammock' })).status).toBe(201)
    expect((await call('POST', '/workspaces/globex/projects', 'demo-owner-token', { name: 'Intruder' })).status).toBe(403)
    const globex = await eventsInFile('globex', globexBefore)
    expect(globex.map((e) => [e.actor.id, e.outcome])).toEqual([
      ['usr_gina', 'success'],
      ['usr_olivia', 'failure'],
    ])
    expect((await eventsInFile('acme')).length).toBe(acmeBefore)
  })
})
