/**
 * The MongoDB store's query translation, checked without a MongoDB server: the same fixture events as the store
 * contract go into a real SQLite store file and, as the documents the MongoDB store writes, into an array. Every
 * representative query is then paged through on both — the translated filter, sort and limit run by `mingo` (an
 * implementation of MongoDB's query language), the cursor taken from each page — and each page must be the SQLite
 * store's page. Facet pipelines and export batches likewise.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ALL_TIME, buildFixtureEvents, contractQueries, expectedEvents, seedStore } from '@auditkit/test-utils'
import { aggregate, find } from 'mingo'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditEvent } from '../../event/schema.js'
import type { AuditStore, EventCursor, EventFilter, EventPage } from '../../store/types.js'
import { createSqliteStore } from '../sqlite/index.js'
import { fromEventDocument, toEventDocument, type EventDocument } from './documents.js'
import { cursorOf, fromFacetResult, toEventPage, toFacetPipeline, toMongoExportQuery, toMongoQuery, type FacetAggregationResult } from './query.js'

const fixtures = buildFixtureEvents()
const queries = contractQueries(fixtures)
let directory: string
let sqlite: AuditStore
let documents: EventDocument[]

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'auditkit-mongo-differential-'))
  sqlite = createSqliteStore({ path: join(directory, 'audit.db') })
  await sqlite.init()
  await seedStore(sqlite, fixtures)
  // Exactly what the MongoDB store's append writes for these events.
  documents = fixtures.map(toEventDocument)
}, 60_000)

afterAll(async () => {
  await sqlite?.close()
  if (directory) rmSync(directory, { recursive: true, force: true })
})

/** One page as the MongoDB store computes it, with mingo in place of the server. */
function mongoPage(filter: EventFilter, limit: number, after?: EventCursor): EventPage {
  const query = toMongoQuery(after === undefined ? { ...filter, limit } : { ...filter, limit, after })
  const found = find<EventDocument>(documents, query.filter, query.projection).sort(query.sort).limit(query.limit).all()
  return toEventPage(found, limit)
}

/** The facet pipeline as the MongoDB store runs it, with mingo in place of the server. */
function runFacets(filter: EventFilter): FacetAggregationResult[] {
  return aggregate(documents, toFacetPipeline(filter)) as unknown as FacetAggregationResult[]
}

const ids = (events: readonly AuditEvent[]): string[] => events.map((event) => event.id)

/** Pages through both stores in lockstep; returns how many pages were compared. */
async function comparePages(filter: EventFilter, limit: number): Promise<{ pages: number; events: number }> {
  let after: EventCursor | undefined
  let pages = 0
  let events = 0
  for (;;) {
    const expected = await sqlite.query(after === undefined ? { ...filter, limit } : { ...filter, limit, after })
    const actual = mongoPage(filter, limit, after)
    pages++
    events += actual.items.length
    expect(ids(actual.items), `page ${pages}`).toEqual(ids(expected.items))
    expect(actual.next, `cursor after page ${pages}`).toEqual(expected.next)
    if (actual.next === null) return { pages, events }
    // Continue from this store's own cursor (asserted equal to SQLite's above).
    after = actual.next
  }
}

describe('MongoDB query translation equals the SQLite store, page by page (run with mingo)', () => {
  for (const { name, filter } of queries) {
    it(`query: ${name}`, async () => {
      const total = expectedEvents(fixtures, filter).length
      // Whole result in pages of 500, and the first pages in small ones, so that cursors land inside tie groups.
      expect((await comparePages(filter, 500)).events).toBe(total)
      if (total > 0) {
        let after: EventCursor | undefined
        for (let page = 0; page < 4; page++) {
          const expected = await sqlite.query(after === undefined ? { ...filter, limit: 3 } : { ...filter, limit: 3, after })
          const actual = mongoPage(filter, 3, after)
          expect(ids(actual.items)).toEqual(ids(expected.items))
          expect(actual.next).toEqual(expected.next)
          if (expected.next === null) break
          after = expected.next
        }
      }
    })
  }

  it('pages through a chain with ties on occurredAt in small pages: every page and cursor equal, ties split by pages', async () => {
    const filter = { tenantId: 'tenant-b', ...ALL_TIME }
    const ordered = expectedEvents(fixtures, filter)
    const { pages, events } = await comparePages(filter, 29)
    expect(events).toBe(1500)
    expect(pages).toBe(Math.ceil(1500 / 29))
    // Some page boundary falls inside a group of events of the same millisecond: the hard case for keysets.
    const splitTies = ordered.filter((event, i) => i % 29 === 0 && i > 0 && ordered[i - 1]?.occurredAt === event.occurredAt)
    expect(splitTies.length).toBeGreaterThan(0)
  })

  it('continues after a cursor inside a tie group, as SQLite does', async () => {
    const filter = { tenantId: 'tenant-a', ...ALL_TIME }
    const ordered = expectedEvents(fixtures, filter)
    const tied = ordered.findIndex((event, i) => i > 3000 && ordered[i + 1]?.occurredAt === event.occurredAt)
    expect(tied).toBeGreaterThan(0)
    const pivot = cursorOf(ordered[tied] as AuditEvent)
    const expected = await sqlite.query({ ...filter, limit: 10, after: pivot })
    expect(ids(mongoPage(filter, 10, pivot).items)).toEqual(ids(expected.items))
    expect(ids(expected.items)[0]).toBe(ordered[tied + 1]?.id)
  })

  it('returns whole events equal to the appended ones (document round trip)', () => {
    const filter = { tenantId: 'tenant-c', ...ALL_TIME }
    expect(mongoPage(filter, 500).items).toEqual(expectedEvents(fixtures, filter))
    expect(documents.map(fromEventDocument)).toEqual(fixtures)
  })
})

describe('MongoDB facet pipeline equals the SQLite store (run with mingo)', () => {
  const cases: [string, EventFilter][] = [
    ['failures of one month', { tenantId: 'tenant-a', from: '2026-01-01T00:00:00.000Z', to: '2026-02-01T00:00:00.000Z', outcome: 'failure' }],
    ...queries.map(({ name, filter }): [string, EventFilter] => [name, filter]),
  ]
  for (const [name, filter] of cases) {
    it(`facets: ${name}`, async () => {
      const [result] = runFacets(filter)
      const expected = await sqlite.facets(filter)
      expect(fromFacetResult(result)).toEqual(expected)
    })
  }
  it('facets are not vacuous: the unfiltered window names every actor type', async () => {
    const [result] = runFacets({ tenantId: 'tenant-a', ...ALL_TIME })
    const facets = fromFacetResult(result)
    expect(new Set(facets.actors.map((actor) => actor.type))).toEqual(new Set(['user', 'api_key', 'system']))
    expect(facets.actors.some((actor) => actor.name === undefined)).toBe(true)
    expect(facets.actions.reduce((sum, facet) => sum + facet.count, 0)).toBe(10_000)
  })
})

describe('MongoDB export query equals the SQLite stream (run with mingo)', () => {
  it('yields the same events oldest first when resumed from a cursor after every batch', async () => {
    const filter: EventFilter = { tenantId: 'tenant-b', ...ALL_TIME, outcome: 'success' }
    const expected: string[] = []
    for await (const event of sqlite.stream(filter, { batchSize: 100 })) expected.push(event.id)
    const actual: string[] = []
    let after: EventCursor | undefined
    for (;;) {
      const query = toMongoExportQuery(filter, after)
      const batch = find<EventDocument>(documents, query.filter, query.projection).sort(query.sort).limit(77).all().map(fromEventDocument)
      actual.push(...ids(batch))
      const last = batch.at(-1)
      if (batch.length < 77 || !last) break
      after = cursorOf(last)
    }
    expect(expected.length).toBeGreaterThan(500)
    expect(actual).toEqual(expected)
  })
})
