import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { expectIntactChain } from '@auditkit/test-utils'
import { afterAll, describe, expect, it } from 'vitest'
import { seedDemoAuditLog } from './seed.js'

describe('demo seed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'auditkit-demo-seed-'))
  const store = createSqliteStore({ path: join(dir, 'seed.db') })
  afterAll(async () => {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('writes backdated, varied activity over many days in intact chains', async () => {
    const now = new Date('2026-06-30T12:00:00.000Z')
    const written = await seedDemoAuditLog({ store, events: 1500, days: 30, now })
    expect(written).toBeGreaterThanOrEqual(1500)
    const chains = await store.listChains()
    expect(chains.sort()).toEqual(['acme', 'globex', 'initech'])
    let total = 0
    for (const chain of chains) total += await expectIntactChain(store, chain)
    expect(total).toBe(written)

    const acme = await store.query({ tenantId: 'acme', from: '2026-01-01T00:00:00.000Z', to: now.toISOString(), limit: 5000 })
    const days = new Set(acme.items.map((e) => e.occurredAt.slice(0, 10)))
    expect(days.size).toBeGreaterThan(20)
    expect(acme.items.every((e) => e.occurredAt < now.toISOString())).toBe(true)
    const actorTypes = new Set(acme.items.map((e) => e.actor.type))
    expect([...actorTypes].sort()).toEqual(['api_key', 'system', 'user'])
    expect(acme.items.some((e) => e.outcome === 'failure' && e.context?.status === 403)).toBe(true)
    const facets = await store.facets({ tenantId: 'acme', from: '2026-01-01T00:00:00.000Z', to: now.toISOString() })
    expect(facets.actions.map((a) => a.value)).toEqual(expect.arrayContaining(['project_created', 'member_role_updated', 'api_key_rotated']))
  })
})
