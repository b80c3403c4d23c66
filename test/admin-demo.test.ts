import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemo, type RunningDemo } from '../apps/demo/src/start.js'

// The demo mounts the admin routes at /admin/audit on each framework: owner/admin tokens administer their workspace.
describe.each(['express', 'hono', 'nestjs'])('demo on %s: admin routes at /admin/audit', (framework) => {
  let demo: RunningDemo
  let dir: string
  const get = (path: string, token?: string): Promise<Response> =>
    fetch(`${demo.url}/admin/audit${path}`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auditkit-demo-admin-'))
    process.env['DEMO_SEED_EVENTS'] = '300'
    demo = await startDemo({ framework, port: 0, dbPath: join(dir, 'demo.db'), seed: true })
  })
  afterAll(async () => {
    await demo?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('answers 401 without a token, 403 to members and viewers', async () => {
    expect((await get('/api/events')).status).toBe(401)
    expect((await get('/api/events', 'not-a-demo-token')).status).toBe(401)
    expect((await get('/api/events', 'demo-member-token')).status).toBe(403)
    expect((await get('/api/events', 'demo-viewer-token')).status).toBe(403)
  })

  it("shows the owner acme's log and the globex admin globex's log only", async () => {
    const acme = (await (await get('/api/events?limit=200', 'demo-owner-token')).json()) as { items: { tenantId: string }[] }
    expect(acme.items.length).toBeGreaterThan(0)
    expect(new Set(acme.items.map((e) => e.tenantId))).toEqual(new Set(['acme']))
    const globex = (await (await get('/api/events?limit=200', 'demo-globex-token')).json()) as { items: { tenantId: string }[] }
    expect(globex.items.every((e) => e.tenantId === 'globex')).toBe(true)
  })

  it('accepts the demo cookie so that a browser can open the page', async () => {
    const response = await fetch(`${demo.url}/admin/audit/api/columns`, { headers: { cookie: 'auditkit_demo_token=demo-owner-token' } })
    expect(response.status).toBe(200)
  })

  it('downloads CSV and records the export in the acme log', async () => {
    const csv = await get('/api/export.csv?locale=ja', 'demo-owner-token')
    expect(csv.status).toBe(200)
    expect(await csv.text()).toContain('操作内容')
    await demo.logger.flush()
    const page = (await (await get('/api/events?action=audit_log_exported', 'demo-owner-token')).json()) as { items: { actor: { id: string } }[] }
    expect(page.items[0]?.actor.id).toBe('usr_olivia')
  })
})
