import type { AuditRequestContext } from '@auditkit/core'
import { describe, expect, it } from 'vitest'
import { authenticate, createDemoRoutes, type DemoMethod, type DemoResponse } from './routes.js'
import { DemoError } from './workspaces.js'

/** Calls the shared routes as the framework apps do (authenticate, then the route's handler). */
function demoApi() {
  const routes = createDemoRoutes()
  const noAudit = new Proxy({}, { get: () => () => noAudit }) as unknown as AuditRequestContext
  return (method: DemoMethod, path: string, token: string, body?: unknown): DemoResponse => {
    for (const route of routes) {
      if (route.method !== method) continue
      const names: string[] = []
      const pattern = new RegExp(`^${route.path.replace(/:(\w+)/g, (_m, name: string) => (names.push(name), '([^/]+)'))}$`)
      const match = pattern.exec(path)
      if (!match) continue
      const params = Object.fromEntries(names.map((name, i) => [name, match[i + 1]]))
      try {
        return route.handle({ params, body, principal: authenticate(`Bearer ${token}`), audit: noAudit })
      } catch (error) {
        if (error instanceof DemoError) return { status: error.status, body: { error: { code: error.code, message: error.message } } }
        throw error
      }
    }
    throw new Error(`no route ${method} ${path}`)
  }
}

// The walkthrough changes who may do what (Max becomes admin, keys are revoked, members removed); the demo kept
// answering from the fixed credential roles, so the audit log recorded successes the API had just taken away.
describe('demo routes follow the directory, not the fixed credential roles', () => {
  it('a member promoted to admin may manage API keys', () => {
    const call = demoApi()
    expect(call('POST', '/workspaces/acme/api-keys', 'demo-member-token', { name: 'Max key' }).status).toBe(403)
    expect(call('PATCH', '/workspaces/acme/members/mem_acme_2/role', 'demo-owner-token', { role: 'admin' }).status).toBe(200)
    expect(call('POST', '/workspaces/acme/api-keys', 'demo-member-token', { name: 'Max key' }).status).toBe(201)
  })

  it('a removed member is refused', () => {
    const call = demoApi()
    expect(call('GET', '/workspaces/acme/projects', 'demo-viewer-token').status).toBe(200)
    expect(call('DELETE', '/workspaces/acme/members/mem_acme_3', 'demo-owner-token').status).toBe(204)
    expect(call('GET', '/workspaces/acme/projects', 'demo-viewer-token')).toMatchObject({ status: 403 })
  })

  it('the CI key stops working once revoked', () => {
    const call = demoApi()
    expect(call('POST', '/workspaces/acme/projects', 'ak_live_demo_acme_ci_4f9d2c', { name: 'Before' }).status).toBe(201)
    expect(call('POST', '/workspaces/acme/api-keys/key_acme_ci/revoke', 'demo-owner-token').status).toBe(200)
    expect(call('POST', '/workspaces/acme/projects', 'ak_live_demo_acme_ci_4f9d2c', { name: 'After' })).toMatchObject({
      status: 401,
      body: { error: { code: 'UNAUTHENTICATED' } },
    })
  })

  it('the CI key stops working once rotated (its new secret replaces it)', () => {
    const call = demoApi()
    expect(call('POST', '/workspaces/acme/api-keys/key_acme_ci/rotate', 'demo-owner-token').status).toBe(200)
    expect(call('POST', '/workspaces/acme/projects', 'ak_live_demo_acme_ci_4f9d2c', { name: 'After' }).status).toBe(401)
  })

  it("the owner's role cannot be changed (a workspace keeps its owner)", () => {
    const call = demoApi()
    expect(call('PATCH', '/workspaces/acme/members/mem_acme_1/role', 'demo-owner-token', { role: 'viewer' })).toMatchObject({
      status: 409,
      body: { error: { code: 'CONFLICT' } },
    })
    expect(call('POST', '/workspaces/acme/api-keys', 'demo-owner-token', { name: 'Still owner' }).status).toBe(201)
  })
})
