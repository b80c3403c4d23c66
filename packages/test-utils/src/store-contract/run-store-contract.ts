import type { AuditEvent, AuditEventInput, AuditStore, EventFilter, EventQuery, SignedCheckpoint } from '@auditkit/core'
import { GENESIS_HASH, computeEventHash, createAuditLogger, createSealer, isAuditKitError } from '@auditkit/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURE_NOW, buildFixtureEvents, seedStore, unsealed } from '../fixtures/build-fixtures.js'
import { ALL_TIME, contractQueries } from '../fixtures/contract-queries.js'
import { expectedEvents, expectedFacets, newestFirst } from '../fixtures/reference.js'

export interface StoreContractOptions {
  /**
   * Opens a second, independent instance on the same database as `store` (another connection, as a second app
   * process would). The concurrent-writers check then runs one logger on each instance. Without it, both loggers
   * share the one instance.
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
 * each time (it is called three times). The run is sized to finish in seconds on an embedded store.
 */
export function runStoreContract(name: string, createStore: () => Promise<AuditStore>, options: StoreContractOptions = {}): void {
  describe(`AuditStore contract: ${name}`, () => {
    const fixtures = buildFixtureEvents()
    const tenants = [...new Set(fixtures.map((event) => event.tenantId))].sort()
    const mainTenant = 'tenant-a'
    let store: AuditStore

    beforeAll(async () => {
      store = await createStore()
      await store.init()
      await store.init() // idempotent
      await seedStore(store, fixtures)
    }, 60_000)

    afterAll(async () => {
      await store?.close()
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

      it('reads window bounds as instants: without milliseconds or with an offset they mean the same', async () => {
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

      it('can be abandoned early without holding the store', async () => {
        let taken = 0
        for await (const _event of store.stream({ tenantId: mainTenant, ...ALL_TIME }, { batchSize: 50 })) {
          if (++taken === 3) break
        }
        expect(taken).toBe(3)
        await store.putState('contract', 'after-stream', { ok: true })
        expect(await store.getState('contract', 'after-stream')).toEqual({ ok: true })
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
      let fresh: AuditStore
      beforeAll(async () => {
        fresh = await createStore()
        await fresh.init()
      })
      afterAll(async () => {
        await fresh?.close()
      })

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
    })

    describe('concurrent writers', () => {
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
  })
}
