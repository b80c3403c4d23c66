import type { AuditEvent, AuditEventInput, AuditStore, EventFilter, EventQuery, SignedCheckpoint, UnsealedEvent } from '@auditkit/core'
import { GENESIS_HASH, computeEventHash, createAuditLogger, createSealer, isAuditKitError } from '@auditkit/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURE_NOW, buildFixtureEvents, seedStore, unsealed } from '../fixtures/build-fixtures.js'
import { ALL_TIME, contractQueries } from '../fixtures/contract-queries.js'
import { expectedEvents, expectedFacets, newestFirst } from '../fixtures/reference.js'

export interface StoreContractOptions {
  /**
   * Opens a second, independent instance on the same database as `store` (another connection, as a second app
   * process would). The concurrent-writers check runs one logger on each instance and never calls the second one's
   * `init()` (the store must initialise lazily); another check runs `init()` on a new store and its second instance at
   * once. Without it, both loggers share the one instance and the concurrent `init()` check is skipped. Give it for a
   * server-backed store.
   */
  openSecondInstance?: (store: AuditStore) => Promise<AuditStore>
}

/** Reads every page of a query, newest first. */
export async function readAllPages(store: AuditStore, filter: EventFilter, limit: number): Promise<AuditEvent[][]> {
  const pages: AuditEvent[][] = []
  let query: EventQuery = { ...filter, limit }
  for (;;) {
    const page = await store.query(query)
    pages.push(page.items)
    if (page.next === null) return pages
    if (pages.length > 100_000) throw new Error('query paging does not end')
    query = { ...filter, limit, after: page.next }
  }
}

/** `work`, or a rejection saying `what` once `ms` have passed without it settling. */
async function within<T>(ms: number, work: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), ms)
  })
  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
  }
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of iterable) items.push(item)
  return items
}

const ids = (events: readonly AuditEvent[]): string[] => events.map((event) => event.id)

/** Checks that one chain is gapless, linked and correctly hashed; returns how many events it holds. */
export async function expectIntactChain(store: AuditStore, chainId: string, hmacKey?: string): Promise<number> {
  let previous: AuditEvent | null = null
  for (;;) {
    const batch = await store.readChain(chainId, previous?.seq ?? 0, 500)
    for (const event of batch) {
      const { hash, ...content } = event
      const intact =
        event.chainId === chainId &&
        event.seq === (previous?.seq ?? 0) + 1 &&
        event.prevHash === (previous?.hash ?? GENESIS_HASH) &&
        computeEventHash(content, hmacKey) === hash
      // One assertion per broken link (not per field of every event) keeps long chains fast to check.
      if (!intact) {
        expect({ chainId: event.chainId, seq: event.seq, prevHash: event.prevHash, hash }).toEqual({
          chainId,
          seq: (previous?.seq ?? 0) + 1,
          prevHash: previous?.hash ?? GENESIS_HASH,
          hash: computeEventHash(content, hmacKey),
        })
      }
      previous = event
    }
    if (batch.length < 500) break
  }
  const head = await store.chainHead(chainId)
  expect(head).toEqual(previous === null ? null : { seq: previous.seq, hash: previous.hash })
  return previous?.seq ?? 0
}

function input(tenantId: string, n: number, writer: string): AuditEventInput {
  return {
    tenantId,
    actor: { type: 'user', id: `${writer}-user-${n % 7}`, name: `Writer ${writer}` },
    action: n % 3 === 0 ? 'project_created' : 'project_updated',
    resource: { type: 'project', id: `project-${n % 11}` },
    outcome: n % 10 === 0 ? 'failure' : 'success',
    context: { ip: '127.0.0.1', method: 'POST', path: `/projects/${n}` },
    metadata: { n, writer },
  }
}

/**
 * The behaviour every `AuditStore` must have. Call inside a test file; `createStore` must return a new, empty store
 * each time it is called (three times, four with `openSecondInstance`). The run is sized to finish in seconds on an
 * embedded store.
 */
export function runStoreContract(name: string, createStore: () => Promise<AuditStore>, options: StoreContractOptions = {}): void {
  describe(`AuditStore contract: ${name}`, () => {
    const fixtures = buildFixtureEvents()
    const tenants = [...new Set(fixtures.map((event) => event.tenantId))].sort()
    const mainTenant = 'tenant-a'
    let store: AuditStore
    /** A second, empty store for the small cases that write (append, names in facets) and the last ones (close). */
    let fresh: AuditStore

    beforeAll(async () => {
      store = await createStore()
      await store.init()
      await store.init() // idempotent
      await seedStore(store, fixtures)
      fresh = await createStore()
      await fresh.init()
    }, 60_000)

    afterAll(async () => {
      await store?.close()
      // A close that never completes failed its own case ('close' below) already.
      await within(5000, fresh?.close() ?? Promise.resolve(), 'close() hangs').catch(() => undefined)
    })

    describe('query', () => {
      for (const { name: queryName, filter } of contractQueries(fixtures)) {
        it(`returns exactly the matching events, newest first: ${queryName}`, async () => {
          const expected = expectedEvents(fixtures, filter)
          // Guard against a vacuous pass: only the queries meant to be empty may select nothing.
          if (!/no match|unknown/.test(queryName)) expect(expected.length).toBeGreaterThan(0)
          const pages = await readAllPages(store, filter, 500)
          expect(ids(pages.flat())).toEqual(ids(expected))
          for (const page of pages) expect(page.length).toBeLessThanOrEqual(500)
        })
      }

      it('pages through 10,000 events with ties on occurredAt, each exactly once, newest first', async () => {
        const filter = { tenantId: mainTenant, ...ALL_TIME }
        const expected = expectedEvents(fixtures, filter)
        expect(expected.length).toBe(10_000)
        const pages = await readAllPages(store, filter, 97)
        const seen = pages.flat()
        expect(seen.length).toBe(10_000)
        expect(new Set(ids(seen)).size).toBe(10_000)
        for (let i = 1; i < seen.length; i++) expect(newestFirst(seen[i - 1] as AuditEvent, seen[i] as AuditEvent)).toBeLessThan(0)
        expect(ids(seen)).toEqual(ids(expected))
        // The fixtures hold ties, and some tie group is split by a page boundary (the hard case for keysets).
        const ties = seen.filter((event, i) => i > 0 && seen[i - 1]?.occurredAt === event.occurredAt).length
        expect(ties).toBeGreaterThan(500)
        const splitTies = pages.filter((page, i) => i > 0 && pages[i - 1]?.at(-1)?.occurredAt === page[0]?.occurredAt).length
        expect(splitTies).toBeGreaterThan(0)
        expect(pages.at(-1)?.length).toBe(10_000 % 97)
      })

      it('returns whole events, equal to what was appended', async () => {
        const page = await store.query({ tenantId: 'tenant-c', ...ALL_TIME, limit: 500 })
        const expected = expectedEvents(fixtures, { tenantId: 'tenant-c', ...ALL_TIME })
        expect(page.items).toEqual(expected)
        expect(page.next).toBeNull()
      })

      it('continues after any cursor position, not only a page end', async () => {
        const filter = { tenantId: mainTenant, ...ALL_TIME }
        const expected = expectedEvents(fixtures, filter)
        const pivot = expected[4321] as AuditEvent
        const page = await store.query({ ...filter, limit: 25, after: { occurredAt: pivot.occurredAt, id: pivot.id } })
        expect(ids(page.items)).toEqual(ids(expected.slice(4322, 4347)))
        expect(page.next).toEqual({ occurredAt: expected[4346]?.occurredAt, id: expected[4346]?.id })
      })

      it('treats the window as [from, to): from inclusive, to exclusive, older events excluded', async () => {
        const mine = fixtures.filter((event) => event.tenantId === mainTenant)
        const tied = mine.find((event, i) => i > 5000 && mine[i + 1]?.occurredAt === event.occurredAt) as AuditEvent
        const sameInstant = mine.filter((event) => event.occurredAt === tied.occurredAt)
        expect(sameInstant.length).toBeGreaterThan(1)
        const at = Date.parse(tied.occurredAt)
        const window = await readAllPages(
          store,
          { tenantId: mainTenant, from: tied.occurredAt, to: new Date(at + 1).toISOString() },
          10,
        )
        expect(ids(window.flat()).sort()).toEqual(ids(sameInstant).sort())
        const before = await store.query({ tenantId: mainTenant, from: ALL_TIME.from, to: tied.occurredAt, limit: 5 })
        expect(before.items.every((event) => event.occurredAt < tied.occurredAt)).toBe(true)
        expect(before.items.length).toBe(5)
        // Events older than the default 365-day window exist but are not returned by it.
        const yearAgo = new Date(Date.parse(FIXTURE_NOW) - 365 * 86_400_000).toISOString()
        expect(mine.some((event) => event.occurredAt < yearAgo)).toBe(true)
        const year = (await readAllPages(store, { tenantId: mainTenant, from: yearAgo, to: FIXTURE_NOW }, 1000)).flat()
        expect(year.length).toBe(mine.filter((event) => event.occurredAt >= yearAgo).length)
        expect(year.every((event) => event.occurredAt >= yearAgo)).toBe(true)
      })

      it('parses window bounds as instants (without milliseconds or with an offset they mean the same) and rejects a bad one with INVALID_RANGE', async () => {
        const canonical = { tenantId: mainTenant, from: '2026-01-01T00:00:00.000Z', to: '2026-02-01T00:00:00.000Z' }
        const expected = ids(expectedEvents(fixtures, canonical))
        expect(expected.length).toBeGreaterThan(0)
        const short = (await readAllPages(store, { ...canonical, from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z' }, 1000)).flat()
        expect(ids(short)).toEqual(expected)
        const offset = (await readAllPages(store, { ...canonical, from: '2026-01-01T09:00:00.000+09:00', to: '2026-02-01T09:00:00+09:00' }, 1000)).flat()
        expect(ids(offset)).toEqual(expected)
        await expect(store.query({ ...canonical, from: 'yesterday', limit: 10 })).rejects.toMatchObject({ code: 'INVALID_RANGE' })
      })

      it('answers an empty window with an empty last page', async () => {
        const page = await store.query({ tenantId: mainTenant, from: FIXTURE_NOW, to: FIXTURE_NOW, limit: 10 })
        expect(page).toEqual({ items: [], next: null })
      })
    })

    describe('get', () => {
      it("returns one of the tenant's events, and null for another tenant's id or an unknown id", async () => {
        const event = fixtures.find((e) => e.tenantId === 'tenant-b') as AuditEvent
        expect(await store.get('tenant-b', event.id)).toEqual(event)
        expect(await store.get(mainTenant, event.id)).toBeNull()
        expect(await store.get('tenant-b', '00000000-0000-7000-8000-000000000000')).toBeNull()
      })
    })

    describe('facets', () => {
      const cases: [string, EventFilter][] = [
        ['everything', { tenantId: mainTenant, ...ALL_TIME }],
        ['failures of one month', { tenantId: mainTenant, from: '2026-01-01T00:00:00.000Z', to: '2026-02-01T00:00:00.000Z', outcome: 'failure' }],
        ['q', { tenantId: 'tenant-b', ...ALL_TIME, q: 'bob' }],
        ['unknown tenant', { tenantId: 'tenant-nobody', ...ALL_TIME }],
        // Windows that start and end inside a day, or on day and month boundaries: a store that sums per-period counts
        // must still count exactly the events in [from, to).
        ['a year with partial days at both edges', { tenantId: mainTenant, from: '2025-06-01T13:17:05.123Z', to: '2026-05-20T08:00:00.001Z' }],
        ['whole months only', { tenantId: mainTenant, from: '2025-09-01T00:00:00.000Z', to: '2026-02-01T00:00:00.000Z' }],
        ['whole days inside one month', { tenantId: mainTenant, from: '2026-03-03T00:00:00.000Z', to: '2026-03-19T05:00:00.000Z' }],
        ['part of one day', { tenantId: mainTenant, from: '2026-03-03T01:00:00.000Z', to: '2026-03-03T23:00:00.000Z' }],
        ['across a month boundary by hours', { tenantId: mainTenant, from: '2026-02-27T18:00:00.000Z', to: '2026-03-02T06:30:00.000Z' }],
      ]
      for (const [caseName, filter] of cases) {
        it(`counts actors, actions and resource types within the filter: ${caseName}`, async () => {
          expect(await store.facets(filter)).toEqual(expectedFacets(fixtures, filter))
        })
      }
      it('names an actor after its newest event, counts one entry per (type, id), breaks ties in code-point order', async () => {
        const base = unsealed(fixtures[0] as AuditEvent)
        const event = (n: number, day: number, actor: AuditEvent['actor'], resourceType: string): UnsealedEvent => ({
          ...base,
          id: `0190f0b4-0000-7000-8000-${String(n).padStart(12, '0')}`,
          tenantId: 'tenant-names',
          chainId: 'tenant-names',
          occurredAt: `2026-03-${String(day).padStart(2, '0')}T12:00:00.000Z`,
          actor,
          resource: { type: resourceType },
        })
        // Appended out of time order: the newest event (day 20) is not the last one appended.
        const drafts = [
          event(1, 1, { type: 'user', id: 'alice', name: 'Alice (old)' }, 'Widget'),
          event(2, 20, { type: 'user', id: 'alice', name: 'Alice' }, 'gadget'),
          event(3, 10, { type: 'user', id: 'alice', name: 'Alice (middle)' }, 'Widget'),
          event(4, 5, { type: 'api_key', id: 'alice', name: 'Alice bot' }, '\uff47adget'), // U+FF47
          event(5, 6, { type: 'user', id: 'Zed', name: 'Zed' }, '\u{1d4b6}gadget'), // U+1D4B6, after U+FF47 by code point
          event(6, 7, { type: 'api_key', id: 'Zed' }, 'Gadget'),
          event(7, 8, { type: 'user', id: 'bob' }, 'gadget'),
        ]
        const sealed = await fresh.append(drafts, createSealer())
        const filter = { tenantId: 'tenant-names', ...ALL_TIME }
        const facets = await fresh.facets(filter)
        expect(facets).toEqual(expectedFacets(sealed, filter))
        // Count desc, then id, then type, each by code point (not by locale: 'Zed' before 'alice').
        expect(facets.actors).toEqual([
          { type: 'user', id: 'alice', name: 'Alice', count: 3 },
          { type: 'api_key', id: 'Zed', count: 1 },
          { type: 'user', id: 'Zed', name: 'Zed', count: 1 },
          { type: 'api_key', id: 'alice', name: 'Alice bot', count: 1 },
          { type: 'user', id: 'bob', count: 1 },
        ])
        expect(facets.resourceTypes.map((facet) => facet.value)).toEqual(['Widget', 'gadget', 'Gadget', '\uff47adget', '\u{1d4b6}gadget'])
      })

      it('never counts another tenant', async () => {
        const facets = await store.facets({ tenantId: 'tenant-c', ...ALL_TIME })
        const total = facets.actions.reduce((sum, facet) => sum + facet.count, 0)
        expect(total).toBe(fixtures.filter((event) => event.tenantId === 'tenant-c').length)
      })
    })

    describe('stream', () => {
      it('yields the filtered events oldest first, the same for any batch size', async () => {
        const filter: EventFilter = { tenantId: 'tenant-b', ...ALL_TIME, outcome: 'success' }
        const expected = ids(expectedEvents(fixtures, filter).reverse())
        for (const batchSize of [1, 7, 1000, undefined]) {
          const streamed = await collect(store.stream(filter, batchSize === undefined ? {} : { batchSize }))
          expect(ids(streamed)).toEqual(expected)
        }
      })

      it('streams 10,000 events with ties in ascending order, each once, only from its tenant', async () => {
        const streamed = await collect(store.stream({ tenantId: mainTenant, ...ALL_TIME }, { batchSize: 333 }))
        expect(streamed.length).toBe(10_000)
        expect(new Set(ids(streamed)).size).toBe(10_000)
        expect(streamed.every((event) => event.tenantId === mainTenant)).toBe(true)
        for (let i = 1; i < streamed.length; i++) expect(newestFirst(streamed[i - 1] as AuditEvent, streamed[i] as AuditEvent)).toBeGreaterThan(0)
      })
    })

    describe('chains', () => {
      it('lists one chain per tenant and reports each head', async () => {
        expect((await store.listChains()).sort()).toEqual(tenants)
        for (const tenant of tenants) {
          const last = fixtures.filter((event) => event.chainId === tenant).at(-1) as AuditEvent
          expect(await store.chainHead(tenant)).toEqual({ seq: last.seq, hash: last.hash })
        }
        expect(await store.chainHead('tenant-nobody')).toBeNull()
      })

      it('reads a chain by seq, ascending, bounded, only that chain', async () => {
        const chain = fixtures.filter((event) => event.chainId === 'tenant-c')
        expect(await store.readChain('tenant-c', 0, 3)).toEqual(chain.slice(0, 3))
        expect(ids(await store.readChain('tenant-c', 490, 100))).toEqual(ids(chain.slice(490)))
        expect(await store.readChain('tenant-c', 500, 10)).toEqual([])
        expect(await store.readChain('tenant-nobody', 0, 10)).toEqual([])
        for (const tenant of tenants) expect(await expectIntactChain(store, tenant)).toBe(fixtures.filter((e) => e.chainId === tenant).length)
      })
    })

    describe('state', () => {
      it('stores JSON values by scope and key, overwrites, and lists a scope by key', async () => {
        expect(await store.getState('settings', 'siem')).toBeNull()
        await store.putState('settings', 'siem', { enabled: true, headers: { a: '1' }, list: [1, 'x', null] })
        await store.putState('settings', 'siem', { enabled: false })
        await store.putState('settings', 'alpha', 42)
        await store.putState('other-scope', 'siem', 'not this one')
        expect(await store.getState('settings', 'siem')).toEqual({ enabled: false })
        expect(await store.listState('settings')).toEqual([
          { key: 'alpha', value: 42 },
          { key: 'siem', value: { enabled: false } },
        ])
        expect(await store.listState('nobody')).toEqual([])
      })
    })

    describe('leases', () => {
      it('are exclusive, renewable by their owner, released only by their owner, and expire', async () => {
        expect(await store.acquireLease('exporter', 'a', 60_000)).toBe(true)
        expect(await store.acquireLease('exporter', 'b', 60_000)).toBe(false)
        expect(await store.acquireLease('exporter', 'a', 60_000)).toBe(true) // renewal
        expect(await store.acquireLease('other-lease', 'b', 60_000)).toBe(true)
        await store.releaseLease('exporter', 'b') // not the owner: no effect
        expect(await store.acquireLease('exporter', 'b', 60_000)).toBe(false)
        await store.releaseLease('exporter', 'a')
        // b's short lease is refused to a until it expires. A busy machine can let a short TTL pass between two calls:
        // the refusal counts only when checked within the TTL (as measured here), else again with a longer TTL.
        for (let ttl = 40; ; ttl *= 10) {
          const before = Date.now()
          expect(await store.acquireLease('exporter', 'b', ttl)).toBe(true)
          const granted = await store.acquireLease('exporter', 'a', 60_000)
          const checkedAt = Date.now()
          if (checkedAt - before < ttl) {
            expect(granted).toBe(false)
            // b took it no later than checkedAt, so it has expired once ttl has passed since then.
            await new Promise((resolve) => setTimeout(resolve, ttl + 40))
            break
          }
          if (granted) await store.releaseLease('exporter', 'a')
          if (ttl > 100_000) throw new Error('two lease calls never ran within the TTL')
        }
        expect(await store.acquireLease('exporter', 'a', 60_000)).toBe(true) // b's lease expired
        expect(await store.acquireLease('exporter', 'b', 60_000)).toBe(false)
      })
    })

    describe('checkpoints', () => {
      it('appends and lists checkpoints per chain, ascending by seq', async () => {
        const checkpoint = (chainId: string, seq: number, prevSignature: string): SignedCheckpoint => ({
          chainId,
          seq,
          hash: `${chainId}-${seq}`.padEnd(64, '0'),
          createdAt: '2026-06-01T00:00:00.000Z',
          prevSignature,
          signature: `sig-${chainId}-${seq}`,
          keyId: 'key-1',
        })
        expect(await store.listCheckpoints('tenant-b')).toEqual([])
        const second = checkpoint('tenant-b', 200, 'sig-tenant-b-100')
        const first = checkpoint('tenant-b', 100, '')
        await store.appendCheckpoint(second)
        await store.appendCheckpoint(first)
        await store.appendCheckpoint(checkpoint('tenant-c', 100, ''))
        expect(await store.listCheckpoints('tenant-b')).toEqual([first, second])
        await store.appendCheckpoint(first) // the same checkpoint again is harmless
        expect(await store.listCheckpoints('tenant-b')).toHaveLength(2)
        // A different checkpoint at a position already signed is a fork: refused, and the first one stays.
        await expect(store.appendCheckpoint({ ...first, hash: 'f'.repeat(64), signature: 'sig-forged' })).rejects.toMatchObject({ code: 'INTEGRITY_ERROR' })
        expect(await store.listCheckpoints('tenant-b')).toEqual([first, second])

        // The newest one, and ranges (afterSeq excluded, toSeq included), without reading the whole list.
        const third = checkpoint('tenant-b', 300, 'sig-tenant-b-200')
        await store.appendCheckpoint(third)
        expect(await store.lastCheckpoint('tenant-b')).toEqual(third)
        expect(await store.lastCheckpoint('tenant-c')).toMatchObject({ chainId: 'tenant-c', seq: 100 })
        expect(await store.lastCheckpoint('tenant-none')).toBeNull()
        expect(await store.listCheckpoints('tenant-b', { afterSeq: 100 })).toEqual([second, third])
        expect(await store.listCheckpoints('tenant-b', { toSeq: 200 })).toEqual([first, second])
        expect(await store.listCheckpoints('tenant-b', { afterSeq: 100, toSeq: 299 })).toEqual([second])
        expect(await store.listCheckpoints('tenant-b', { afterSeq: 300 })).toEqual([])
        expect(await store.listCheckpoints('tenant-c', { afterSeq: 0, toSeq: 300 })).toHaveLength(1)

        // A chain whose events are all gone but whose signed checkpoints remain is still listed, so that verifying
        // every chain finds it cut instead of never looking at it.
        await store.appendCheckpoint(checkpoint('tenant-ghost', 10, ''))
        expect(await store.listChains()).toContain('tenant-ghost')
      })
    })

    describe('append', () => {
      it('places each event after its chain head, in input order, across interleaved chains', async () => {
        const seal = createSealer()
        const drafts = fixtures.filter((event) => event.tenantId === 'tenant-c').slice(0, 6).map(unsealed)
        const other = fixtures.filter((event) => event.tenantId === 'tenant-b').slice(0, 3).map(unsealed)
        const first = await fresh.append([drafts[0], other[0], drafts[1]].filter((event) => event !== undefined), seal)
        expect(first.map((event) => [event.chainId, event.seq])).toEqual([
          ['tenant-c', 1],
          ['tenant-b', 1],
          ['tenant-c', 2],
        ])
        expect(first[0]?.prevHash).toBe(GENESIS_HASH)
        expect(first[2]?.prevHash).toBe(first[0]?.hash)
        const second = await fresh.append([...drafts.slice(2), ...other.slice(1)], seal)
        expect(second.map((event) => event.seq)).toEqual([3, 4, 5, 6, 2, 3])
        expect(await fresh.append([], seal)).toEqual([])
        expect(await expectIntactChain(fresh, 'tenant-c')).toBe(6)
        expect(await expectIntactChain(fresh, 'tenant-b')).toBe(3)
      })

      it('writes nothing of a batch whose sealing fails', async () => {
        const before = await fresh.chainHead('tenant-c')
        const drafts = fixtures.filter((event) => event.tenantId === 'tenant-c').slice(10, 13).map(unsealed)
        const seal = createSealer()
        let calls = 0
        const failing = await fresh
          .append(drafts, (event, head) => {
            if (++calls === 3) throw new Error('sealer exploded')
            return seal(event, head)
          })
          .then(
            () => null,
            (error: unknown) => error,
          )
        expect(isAuditKitError(failing) || failing instanceof Error).toBe(true)
        expect(await fresh.chainHead('tenant-c')).toEqual(before)
        for (const draft of drafts) expect(await fresh.get('tenant-c', draft.id)).toBeNull()
      })

      it('refuses with CHAIN_CONFLICT a sealer that places an event anywhere but right after the head', async () => {
        const before = await fresh.chainHead('tenant-c')
        const [draft] = fixtures.filter((event) => event.tenantId === 'tenant-c').slice(20, 21).map(unsealed)
        const seal = createSealer()
        // Places the event one past the head (seq + 2), as a sealer handed a stale or mis-read head would.
        const skipping = (event: UnsealedEvent, head: { seq: number; hash: string } | null) =>
          seal(event, { seq: (head?.seq ?? 0) + 1, hash: head?.hash ?? GENESIS_HASH })
        await expect(fresh.append([draft as UnsealedEvent], skipping)).rejects.toMatchObject({ code: 'CHAIN_CONFLICT' })
        expect(await fresh.chainHead('tenant-c')).toEqual(before)
        expect(await fresh.get('tenant-c', (draft as UnsealedEvent).id)).toBeNull()
      })

      it('returns events already stored by id as stored and writes only the others (a batch retried after a lost commit)', async () => {
        const seal = createSealer()
        const [a1, a2, a3] = fixtures.filter((event) => event.tenantId === 'tenant-a').slice(0, 3).map(unsealed) as UnsealedEvent[]
        const [b1] = fixtures.filter((event) => event.tenantId === 'tenant-b').slice(30, 31).map(unsealed) as UnsealedEvent[]
        const first = await fresh.append([a1, a2] as UnsealedEvent[], seal)
        const head = await fresh.chainHead('tenant-a')
        // The same batch again: the stored events, unchanged (same seq and hash), and the chain head does not move.
        expect(await fresh.append([a1, a2] as UnsealedEvent[], seal)).toEqual(first)
        expect(await fresh.chainHead('tenant-a')).toEqual(head)
        // A batch partly stored: the stored events as stored, the missing ones written after their chain heads.
        const bHead = await fresh.chainHead('tenant-b')
        const retried = await fresh.append([a1, b1, a2, a3] as UnsealedEvent[], seal)
        expect([retried[0], retried[2]]).toEqual(first)
        expect(retried.map((event) => [event.id, event.chainId, event.seq])).toEqual([
          [a1?.id, 'tenant-a', 1],
          [b1?.id, 'tenant-b', (bHead?.seq ?? 0) + 1],
          [a2?.id, 'tenant-a', 2],
          [a3?.id, 'tenant-a', 3],
        ])
        expect(await expectIntactChain(fresh, 'tenant-a')).toBe(3)
        expect(await expectIntactChain(fresh, 'tenant-b')).toBe((bHead?.seq ?? 0) + 1)
      })

      it("refuses with INTEGRITY_ERROR another event under an id already stored, never answering with the stored one", async () => {
        const seal = createSealer()
        const [stored] = fixtures.filter((event) => event.tenantId === 'tenant-a').slice(5, 6).map(unsealed) as UnsealedEvent[]
        await fresh.append([stored as UnsealedEvent], seal)
        const head = await fresh.chainHead('tenant-b')
        const [other] = fixtures.filter((event) => event.tenantId === 'tenant-b').slice(40, 41).map(unsealed) as UnsealedEvent[]
        // Another tenant's event under the same id: not the stored one come back, and nothing of it may leak across.
        const impostor = { ...(other as UnsealedEvent), id: (stored as UnsealedEvent).id }
        await expect(fresh.append([impostor], seal)).rejects.toMatchObject({ code: 'INTEGRITY_ERROR' })
        expect(await fresh.chainHead('tenant-b')).toEqual(head)
        expect(await fresh.get('tenant-b', impostor.id)).toBeNull()
        expect(await fresh.get('tenant-a', impostor.id)).toMatchObject({ tenantId: 'tenant-a', action: (stored as UnsealedEvent).action })
      })
    })

    describe('concurrent writers', () => {
      // Only for a store that can be opened twice (a file, a server): an in-memory one has no second instance, and the
      // case is left out rather than reported as skipped.
      const openSecond = options.openSecondInstance
      if (openSecond) it('two instances of a new database can run init() at once', async () => {
        const first = await createStore()
        const second = await openSecond(first)
        try {
          await Promise.all([first.init(), second.init()])
          await second.putState('contract', 'init', 'from the second')
          expect(await first.getState('contract', 'init')).toBe('from the second')
        } finally {
          if (second !== first) await second.close()
          await first.close()
        }
      })

      it('two loggers writing at once keep every chain gapless and linked', async () => {
        const first = await createStore()
        await first.init()
        const second = options.openSecondInstance ? await options.openSecondInstance(first) : first
        try {
          const hmacKey = 'contract-hmac-key'
          const loggers = [first, second].map((target) =>
            createAuditLogger({ store: target, batchSize: 20, hmacKey, onError: () => {}, retry: { initialDelayMs: 5, maxDelayMs: 50 } }),
          )
          const chains = ['tenant-x', 'tenant-y', 'tenant-z']
          const recorded: string[] = []
          const perLogger = 600
          for (let n = 0; n < perLogger; n++) {
            for (const [index, logger] of loggers.entries()) {
              const receipt = await logger.record(input(chains[(n + index) % chains.length] as string, n, `w${index}`))
              recorded.push(receipt.id)
            }
            // Let both loggers' batches interleave with the recording.
            if (n % 25 === 0) await new Promise((resolve) => setImmediate(resolve))
          }
          await Promise.all(loggers.map((logger) => logger.close()))
          for (const logger of loggers) expect(logger.stats()).toMatchObject({ written: perLogger, queued: 0, invalid: 0 })
          let total = 0
          for (const chain of chains) total += await expectIntactChain(first, chain, hmacKey)
          expect(total).toBe(perLogger * 2)
          const stored = new Set<string>()
          for (const chain of chains) for (const event of await first.readChain(chain, 0, 10_000)) stored.add(event.id)
          expect([...stored].sort()).toEqual([...recorded].sort())
        } finally {
          if (second !== first) await second.close()
          await first.close()
        }
      })
    })

    describe('close', () => {
      it('a stream abandoned early holds nothing: writes go on, and close() completes', async () => {
        let taken = 0
        for await (const _event of fresh.stream({ tenantId: 'tenant-c', ...ALL_TIME }, { batchSize: 2 })) {
          if (++taken === 3) break
        }
        expect(taken).toBe(3)
        await fresh.putState('contract', 'after-stream', { ok: true })
        expect(await fresh.getState('contract', 'after-stream')).toEqual({ ok: true })
        await within(5000, fresh.close(), 'close() did not complete within 5 s of abandoning a stream: the stream still holds a connection, cursor or transaction')
      }, 15_000)

      it('once closed, every method rejects with STORE_UNAVAILABLE, and close() again resolves', async () => {
        await within(5000, fresh.close(), 'close() did not complete within 5 s')
        const filter = { tenantId: 'tenant-c', ...ALL_TIME }
        const calls: [string, () => Promise<unknown>][] = [
          ['init', () => fresh.init()],
          ['append', () => fresh.append(fixtures.filter((event) => event.tenantId === 'tenant-c').slice(40, 41).map(unsealed), createSealer())],
          ['query', () => fresh.query({ ...filter, limit: 10 })],
          ['get', () => fresh.get('tenant-c', fixtures[0]?.id as string)],
          ['facets', () => fresh.facets(filter)],
          ['stream', () => collect(fresh.stream(filter))],
          ['readChain', () => fresh.readChain('tenant-c', 0, 10)],
          ['chainHead', () => fresh.chainHead('tenant-c')],
          ['listChains', () => fresh.listChains()],
          ['getState', () => fresh.getState('contract', 'after-stream')],
          ['putState', () => fresh.putState('contract', 'after-close', 1)],
          ['listState', () => fresh.listState('contract')],
          ['acquireLease', () => fresh.acquireLease('closed', 'a', 60_000)],
          ['releaseLease', () => fresh.releaseLease('closed', 'a')],
          ['appendCheckpoint', () => fresh.appendCheckpoint({ chainId: 'tenant-c', seq: 1, hash: 'a'.repeat(64), createdAt: FIXTURE_NOW, prevSignature: '', signature: 's', keyId: 'k' })],
          ['listCheckpoints', () => fresh.listCheckpoints('tenant-c')],
          ['lastCheckpoint', () => fresh.lastCheckpoint('tenant-c')],
        ]
        const answers: Record<string, unknown> = {}
        for (const [method, call] of calls) answers[method] = await call().then(() => 'resolved', (error: unknown) => (isAuditKitError(error) ? error.code : String(error)))
        expect(answers).toEqual(Object.fromEntries(calls.map(([method]) => [method, 'STORE_UNAVAILABLE'])))
        await expect(fresh.close()).resolves.toBeUndefined()
      })
    })
  })
}
