import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AuditEvent, AuditStore } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemo, type RunningDemo } from '../apps/demo/src/start.js'

// The demo on Express over a real HTTP server, read back from its real SQLite file through a second connection.
describe('demo API on Express', () => {
  const dir = mkdtempSync(join(tmpdir(), 'auditkit-demo-e2e-'))
  const dbPath = join(dir, 'demo-audit.db')
  let demo: RunningDemo
  let reader: AuditStore

  beforeAll(async () => {
    demo = await startDemo({ framework: 'express', port: 0, host: '127.0.0.1', dbPath, seed: false })
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
        'user-agent': 'demo-e2e/1.0',
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })

  /** Every event of the tenant in the file, oldest first, once the logger has written what it holds. */
  async function eventsInFile(tenantId: string): Promise<AuditEvent[]> {
    await demo.logger.flush()
    const page = await reader.query({ tenantId, from: '2000-01-01T00:00:00.000Z', to: '2999-01-01T00:00:00.000Z', limit: 1000 })
    return page.items.sort((a, b) => a.seq - b.seq)
  }

  it('records exactly one event for a POST, with actor, IP, action, resource and outcome', async () => {
    const before = (await eventsInFile('acme')).length
    const res = await call('POST', '/workspaces/acme/projects', 'demo-owner-token', { name: 'Apollo' })
    expect(res.status).toBe(201)
    const project = (await res.json()) as { id: string }
    const events = (await eventsInFile('acme')).slice(before)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      tenantId: 'acme',
      actor: { type: 'user', id: 'usr_olivia', name: 'Olivia Owner', email: 'olivia@acme.test' },
      action: 'project_created',
      resource: { type: 'project', id: project.id, name: 'Apollo' },
      targets: [{ type: 'workspace', id: 'acme' }],
      outcome: 'success',
      context: { ip: '127.0.0.1', method: 'POST', route: '/workspaces/:ws/projects', status: 201, userAgent: 'demo-e2e/1.0' },
    })
  })

  it('records nothing for a GET', async () => {
    const before = (await eventsInFile('acme')).length
    expect((await call('GET', '/workspaces/acme/projects', 'demo-viewer-token')).status).toBe(200)
    expect((await eventsInFile('acme')).length).toBe(before)
  })

  it('records a forbidden request as a failure event', async () => {
    const before = (await eventsInFile('acme')).length
    const res = await call('POST', '/workspaces/acme/projects', 'demo-viewer-token', { name: 'Not allowed' })
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ error: { code: 'FORBIDDEN' } })
    const events = (await eventsInFile('acme')).slice(before)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      actor: { type: 'user', id: 'usr_vera' },
      action: 'project_created',
      outcome: 'failure',
      context: { status: 403, ip: '127.0.0.1' },
    })
  })

  it('records role changes with before/after, API key actors, and never an API key secret', async () => {
    const members = (await (await call('GET', '/workspaces/acme/members', 'demo-owner-token')).json()) as { id: string; email: string }[]
    const max = members.find((m) => m.email === 'max@acme.test')
    expect(max).toBeDefined()
    expect((await call('PATCH', `/workspaces/acme/members/${max?.id}/role`, 'demo-owner-token', { role: 'admin' })).status).toBe(200)
    const created = await call('POST', '/workspaces/acme/api-keys', 'demo-owner-token', { name: 'Zapier' })
    const { id: keyId, secret } = (await created.json()) as { id: string; secret: string }
    const rotated = (await (await call('POST', `/workspaces/acme/api-keys/${keyId}/rotate`, 'demo-owner-token')).json()) as { secret: string }
    expect((await call('POST', `/workspaces/acme/api-keys/${keyId}/revoke`, 'demo-owner-token')).status).toBe(200)
    expect((await call('POST', '/workspaces/acme/projects', 'ak_live_demo_acme_ci_4f9d2c', { name: 'Deployed by CI' })).status).toBe(201)

    const events = await eventsInFile('acme')
    const byAction = (action: string) => events.filter((e) => e.action === action).at(-1)
    expect(byAction('member_role_updated')).toMatchObject({
      resource: { type: 'member', id: max?.id },
      changes: { before: { role: 'member' }, after: { role: 'admin' } },
    })
    expect(byAction('api_key_created')?.resource).toEqual({ type: 'api_key', id: keyId, name: 'Zapier' })
    expect(byAction('api_key_rotated')?.resource.id).toBe(keyId)
    expect(byAction('api_key_revoked')?.changes).toEqual({ after: { status: 'revoked' } })
    expect(events.at(-1)?.actor).toEqual({ type: 'api_key', id: 'key_acme_ci', name: 'CI deploy key' })
    const everything = JSON.stringify(events)
    expect(everything).not.toContain(secret)
    expect(everything).not.toContain(rotated.secret)
  })

  it('keeps tenants apart: a globex write lands in the globex chain only', async () => {
    const acmeBefore = (await eventsInFile('acme')).length
    expect((await call('POST', '/workspaces/globex/projects', 'demo-globex-token', { name: 'Hammock' })).status).toBe(201)
    expect((await call('POST', '/workspaces/globex/projects', 'demo-owner-token', { name: 'Intruder' })).status).toBe(403)
    const globex = await eventsInFile('globex')
    expect(globex.map((e) => [e.actor.id, e.outcome])).toEqual([
      ['usr_gina', 'success'],
      ['usr_olivia', 'failure'],
    ])
    expect((await eventsInFile('acme')).length).toBe(acmeBefore)
  })
})
