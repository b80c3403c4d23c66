import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemo, type RunningDemo } from '../apps/demo/src/start.js'

// The demo as `npm run demo` starts it: SIEM settings, integrity and the browser sign-in are wired, not just the log.
describe('demo admin wiring', () => {
  let dir: string
  let demo: RunningDemo

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auditkit-demo-wiring-'))
    demo = await startDemo({ port: 0, dbPath: join(dir, 'audit.db'), seed: false })
  })
  afterAll(async () => {
    await demo.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('signs a browser in with a demo token and opens the admin page', async () => {
    const signIn = await fetch(`${demo.url}/demo/sign-in?token=demo-owner-token`, { redirect: 'manual' })
    expect(signIn.status).toBe(303)
    expect(signIn.headers.get('location')).toBe('/admin/audit/')
    const cookie = signIn.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(/^auditkit_demo_token=demo-owner-token;.*HttpOnly/)
    const page = await fetch(`${demo.url}/admin/audit/`, { headers: { cookie: cookie.split(';')[0] ?? '' } })
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<html')
  })

  it('refuses an unknown token without setting a cookie', async () => {
    const signIn = await fetch(`${demo.url}/demo/sign-in?token=nope`, { redirect: 'manual' })
    expect(signIn.status).toBe(400)
    expect(signIn.headers.get('set-cookie')).toBeNull()
  })

  it('serves SIEM settings and integrity verification to the owner', async () => {
    const headers = { authorization: 'Bearer demo-owner-token' }
    await fetch(`${demo.url}/workspaces/acme/projects`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Wired' }),
    })
    await demo.logger.flush()
    const siem = await fetch(`${demo.url}/admin/audit/api/settings/siem`, { headers })
    expect(siem.status).toBe(200)
    const verify = await fetch(`${demo.url}/admin/audit/api/integrity/verify`, { headers })
    expect(verify.status).toBe(200)
    const report = (await verify.json()) as { ok: boolean }
    expect(report.ok).toBe(true)
  })

  it('keeps its keys beside the database, readable only by the owner', () => {
    const mode = statSync(join(dir, 'keys', 'signing.pem')).mode & 0o777
    expect(mode).toBe(0o600)
  })
})
