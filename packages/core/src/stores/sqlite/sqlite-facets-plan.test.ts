import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'libsql'
import { afterAll, expect, it, vi } from 'vitest'
import { ALL_TIME, buildFixtureEvents, expectedFacets, seedStore } from '@auditkit/test-utils'
import type { EventFilter } from '../../store/types.js'
import { createSqliteStore } from './sqlite-store.js'

const dir = mkdtempSync(join(tmpdir(), 'auditkit-sqlite-facets-plan-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** How many times the statements read the `events` table or one of its indexes (SCAN/SEARCH steps of their plans). */
function eventReads(path: string, statements: readonly string[]): number {
  const raw = new Database(path, { readonly: true })
  try {
    let reads = 0
    for (const sql of statements) {
      const params = [...sql.matchAll(/\?/g)].map(() => null)
      const plan = raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]
      reads += plan.filter(({ detail }) => /^(SCAN|SEARCH) events\b/.test(detail)).length
    }
    return reads
  } finally {
    raw.close()
  }
}

// A filter beyond the window has no summary: facets count the matching events. Three facets from three statements read
// the tenant's window (index walk and row lookups) three times: 0.75 s for `outcome=failure` over a year of a
// 1M-event tenant, and 3.8 s with an unindexed `q` (bench/query: "facets (filtered)").
it('counts the facets of a filtered window from one read of the matching events', async () => {
  const path = join(dir, 'facets.db')
  const fixtures = buildFixtureEvents()
  const tenantId = fixtures[0]?.tenantId ?? ''
  const seeding = createSqliteStore({ path, writer: 'inline' })
  await seedStore(seeding, fixtures)
  await seeding.close()

  // Read inline: the statements are prepared on this thread, where the spy sees them.
  const store = createSqliteStore({ path, reader: 'inline' })
  await store.init()
  const filters: EventFilter[] = [
    { tenantId, ...ALL_TIME, outcome: 'failure' },
    { tenantId, ...ALL_TIME, actorType: 'user', q: 'a' },
  ]
  for (const filter of filters) {
    // Calls through: the statements the store prepares for this call (the cache is per filter shape, all new here).
    const spy = vi.spyOn(Database.prototype, 'prepare')
    const facets = await store.facets(filter)
    const statements = spy.mock.calls.map(([sql]) => sql).filter((sql) => /\bFROM events\b/.test(sql))
    spy.mockRestore()
    expect(facets).toEqual(expectedFacets(fixtures, filter))
    expect(statements.length).toBeGreaterThan(0)
    expect(eventReads(path, statements)).toBe(1)
  }
  await store.close()
})
