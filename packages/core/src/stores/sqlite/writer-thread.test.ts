import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'libsql'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { ALL_TIME, buildFixtureEvents, expectedEvents, expectedFacets, expectIntactChain, seedStore, storeWithAppend, unsealed } from '@auditkit/test-utils'
import { isAuditKitError } from '../../errors.js'
import type { AuditEvent, AuditEventInput } from '../../event/schema.js'
import { createSealer, sealerKeyOf, type Sealer } from '../../integrity/hash.js'
import { createAuditLogger } from '../../logger/audit-logger.js'
import type { AuditStore } from '../../store/types.js'
import { createSqliteStore } from './sqlite-store.js'
import { createReaderThread, createWriterThread, type StoreThread } from './writer-thread.js'

const dir = mkdtempSync(join(tmpdir(), 'auditkit-writer-thread-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const freshPath = (): string => join(dir, `writer-${++files}.db`)

const settingsOf = (path: string) => ({ path, busyTimeoutMs: 5000, cacheSizeKiB: 4096, searchIndex: false })

async function readAll(store: AuditStore, chainIds: Iterable<string>): Promise<AuditEvent[]> {
  const all: AuditEvent[] = []
  for (const chainId of chainIds) all.push(...(await store.readChain(chainId, 0, 100_000)))
  return all
}

function eventInput(n: number, tenantId = 'tenant-w'): AuditEventInput {
  return {
    tenantId,
    actor: { type: 'user', id: `user-${n % 7}` },
    action: 'project_updated',
    resource: { type: 'project', id: `p-${n}` },
    outcome: 'success',
    changes: { before: { name: `old ${n}` }, after: { name: `new ${n}`, tags: ['a', n % 2 === 0 ? 'b' : 'c'] } },
  }
}

describe('sqlite store writing on its writer thread', () => {
  it('writes exactly the rows the main thread would: the same seq, prevHash and hash as the reference chains', async () => {
    const fixtures = buildFixtureEvents({ seed: 5, hmacKey: 'writer-thread-key' })
    const store = createSqliteStore({ path: freshPath() })
    const seal = createSealer('writer-thread-key')
    const returned: AuditEvent[] = []
    for (let i = 0; i < fixtures.length; i += 700) returned.push(...(await store.append(fixtures.slice(i, i + 700).map(unsealed), seal)))
    expect(returned).toEqual(fixtures)
    const chains = new Set(fixtures.map((event) => event.chainId))
    const stored = await readAll(store, chains)
    expect(stored).toHaveLength(fixtures.length)
    expect(new Map(stored.map((event) => [event.id, event]))).toEqual(new Map(fixtures.map((event) => [event.id, event])))
    for (const chainId of chains) await expectIntactChain(store, chainId, 'writer-thread-key')
    await store.close()
  })

  it('keeps a Buffer HMAC key across the thread boundary', async () => {
    const key = Buffer.from('00112233445566778899aabbccddeeff', 'hex')
    const store = createSqliteStore({ path: freshPath() })
    const logger = createAuditLogger({ store, hmacKey: key })
    const recorded = await Promise.all(Array.from({ length: 50 }, (_, n) => logger.record(eventInput(n), { delivery: 'await' })))
    await logger.close()
    // Sealed on the thread, checked here with the same Buffer: a key that lost its bytes on the way gives other hashes.
    const reseal = createSealer(key)
    let head: { seq: number; hash: string } | null = null
    for (const event of await store.readChain('tenant-w', 0, 100)) {
      const { seq: _seq, prevHash: _prevHash, hash: _hash, ...content } = event
      const expected = reseal(content, head)
      expect(event).toEqual(expected)
      head = { seq: expected.seq, hash: expected.hash }
    }
    expect(head?.seq).toBe(50)
    expect(recorded.map((result) => result.event?.hash)).toEqual(expect.arrayContaining([head?.hash]))
    await store.close()
  })

  it('writes on the calling thread for a sealer it cannot remake there', async () => {
    const store = createSqliteStore({ path: freshPath() })
    const base = createSealer()
    const foreign: Sealer = (event, head) => ({ ...base(event, head), metadata: { sealedBy: 'foreign' } })
    expect(sealerKeyOf(foreign)).toBeNull()
    const [event] = buildFixtureEvents({ seed: 9 }).slice(0, 1).map(unsealed)
    const [written] = await store.append([event as NonNullable<typeof event>], foreign)
    expect(written?.metadata).toEqual({ sealedBy: 'foreign' })
    expect((await store.get(written?.tenantId ?? '', written?.id ?? ''))?.metadata).toEqual({ sealedBy: 'foreign' })
    await store.close()
  })

  it('refuses an unknown writer with INVALID_OPTIONS', () => {
    expect(() => createSqliteStore({ path: freshPath(), writer: 'forked' as 'thread' })).toThrowError(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
  })

  it('refuses a batch that is not JSON data with INVALID_EVENT, writes nothing of it, and goes on writing', async () => {
    const path = freshPath()
    const thread = createWriterThread(settingsOf(path)) as StoreThread
    const [good, other] = buildFixtureEvents({ seed: 4, tenants: [{ tenantId: 'tenant-j', count: 2 }] }).map(unsealed)
    if (!good || !other) throw new Error('fixture events missing')
    // The store's append is typed for JSON data; a caller bypassing the types must get a coded error, not a crash.
    const notJson = { ...other, metadata: { callback: () => 'not data' } } as unknown as typeof other
    const refused: unknown = await thread.append([good, notJson], undefined).then(() => null, (error: unknown) => error)
    expect(isAuditKitError(refused) && refused.code).toBe('INVALID_EVENT')
    const [written] = await thread.append([good], undefined)
    expect(written?.seq).toBe(1)
    const direct = createSqliteStore({ path, writer: 'inline' })
    expect((await direct.readChain('tenant-j', 0, 10)).map((event) => event.id)).toEqual([good.id])
    await thread.close()
    await direct.close()
  })

  it('does not write twice a batch committed just before its thread died', async () => {
    const path = freshPath()
    const thread = createWriterThread(settingsOf(path)) as StoreThread
    expect(thread).not.toBeNull()
    const batch = buildFixtureEvents({ seed: 2, tenants: [{ tenantId: 'tenant-c', count: 40 }] }).map(unsealed)
    // The thread dies with the batch in flight: its outcome is unknown to the caller.
    const inFlight = thread.append(batch, undefined)
    await thread.terminate()
    const failure: unknown = await inFlight.then(() => null, (error: unknown) => error)
    expect(isAuditKitError(failure) && failure.code).toBe('STORE_UNAVAILABLE')
    // Whatever the dead thread managed, make it the worst case: the batch is committed.
    const direct = createSqliteStore({ path, writer: 'inline' })
    const committed = await direct.readChain('tenant-c', 0, 1000)
    if (committed.length === 0) await direct.append(batch, createSealer())
    const stored = await direct.readChain('tenant-c', 0, 1000)
    // The retry (as the logger makes it) on a new thread finds the committed events instead of writing them again.
    const retried = await thread.append(batch, undefined)
    expect(retried).toEqual(stored)
    expect(await direct.readChain('tenant-c', 0, 1000)).toHaveLength(batch.length)
    // Later appends continue the chain.
    const [next] = await thread.append(buildFixtureEvents({ seed: 3, tenants: [{ tenantId: 'tenant-c', count: 1 }] }).map(unsealed), undefined)
    expect(next?.seq).toBe(batch.length + 1)
    await expectIntactChain(direct, 'tenant-c')
    await thread.close()
    await direct.close()
  })

  it('loses and duplicates nothing when its thread dies again and again under a logger', async () => {
    const path = freshPath()
    const thread = createWriterThread(settingsOf(path)) as StoreThread
    const inline = createSqliteStore({ path, writer: 'inline' })
    let inFlight = 0
    const onThread = storeWithAppend(inline, async (events, seal) => {
      inFlight++
      try {
        return await thread.append(events, sealerKeyOf(seal)?.hmacKey)
      } finally {
        inFlight--
      }
    })
    const failures: string[] = []
    const logger = createAuditLogger({ store: onThread, batchSize: 100, groupCommitMs: 0, retry: { initialDelayMs: 1, maxDelayMs: 5 }, onError: (error) => failures.push(error.code) })
    const count = 3000
    for (let n = 0; n < count; n++) {
      void logger.record(eventInput(n, `tenant-${n % 3}`))
      if (n % 500 === 250) {
        // Kill the thread while a batch is in flight, as a crash would.
        while (inFlight === 0) await new Promise((resolve) => setImmediate(resolve))
        await thread.terminate()
      }
    }
    await logger.close()
    expect(failures.length).toBeGreaterThan(0)
    expect(new Set(failures)).toEqual(new Set(['STORE_UNAVAILABLE']))
    expect(logger.stats()).toMatchObject({ accepted: count, written: count, queued: 0 })
    const stored = await readAll(inline, ['tenant-0', 'tenant-1', 'tenant-2'])
    expect(stored).toHaveLength(count)
    expect(new Set(stored.map((event) => event.id)).size).toBe(count)
    for (const chainId of ['tenant-0', 'tenant-1', 'tenant-2']) expect(await expectIntactChain(inline, chainId)).toBe(count / 3)
    await thread.close()
    await inline.close()
  })

  it('writes every queued event before close() ends the thread', async () => {
    const path = freshPath()
    const store = createSqliteStore({ path })
    const logger = createAuditLogger({ store })
    for (let n = 0; n < 2000; n++) void logger.record(eventInput(n))
    await logger.close()
    await store.close()
    const reopened = createSqliteStore({ path, writer: 'inline' })
    expect(await expectIntactChain(reopened, 'tenant-w')).toBe(2000)
    await reopened.close()
  })
})

describe('sqlite store reading on its reader thread', () => {
  /** A file with the fixture events, written and closed; the tenant most of them belong to. */
  async function seededFile(): Promise<{ path: string; tenantId: string; fixtures: AuditEvent[] }> {
    const path = freshPath()
    const fixtures = buildFixtureEvents({ seed: 11 })
    const seeding = createSqliteStore({ path, writer: 'inline', reader: 'inline' })
    await seedStore(seeding, fixtures)
    await seeding.close()
    return { path, tenantId: fixtures[0]?.tenantId ?? '', fixtures }
  }

  /** Statements reading `events` that the calling thread prepares while `work` runs. */
  async function eventStatementsPreparedHere(work: () => Promise<unknown>): Promise<string[]> {
    const spy = vi.spyOn(Database.prototype, 'prepare')
    try {
      await work()
      return spy.mock.calls.map(([sql]) => String(sql)).filter((sql) => /\bFROM events\b/.test(sql))
    } finally {
      spy.mockRestore()
    }
  }

  it('answers queries and facets from its thread, as the calling thread would, and prepares none of their statements here', async () => {
    const { path, tenantId, fixtures } = await seededFile()
    const filter = { tenantId, ...ALL_TIME, outcome: 'failure' as const }
    const onThread = createSqliteStore({ path })
    const inline = createSqliteStore({ path, reader: 'inline' })
    const answers: unknown[][] = []
    for (const store of [onThread, inline]) {
      const results: unknown[] = []
      const prepared = await eventStatementsPreparedHere(async () => {
        results.push(await store.query({ ...filter, limit: 20 }), await store.facets(filter), await store.facets({ tenantId, ...ALL_TIME }))
      })
      // The control: inline, the spy sees the statements; on the thread, none runs on this one.
      expect(prepared.length > 0).toBe(store === inline)
      answers.push(results)
    }
    expect(answers[0]).toEqual(answers[1])
    const [page, facets] = answers[0] as [{ items: AuditEvent[] }, unknown]
    expect(page.items).toEqual(expectedEvents(fixtures, filter).slice(0, 20))
    expect(facets).toEqual(expectedFacets(fixtures, filter))
    await onThread.close()
    await inline.close()
  })

  it('leaves the event loop free while a read runs: other work goes on before it answers', async () => {
    const { path, tenantId } = await seededFile()
    for (const reader of ['thread', 'inline'] as const) {
      const store = createSqliteStore({ path, reader })
      let settled = false
      const reading = store.facets({ tenantId, ...ALL_TIME, q: 'no such text anywhere' }).finally(() => (settled = true))
      let turns = 0
      while (!settled && turns < 1_000_000) {
        await new Promise((resolve) => setImmediate(resolve))
        turns++
      }
      await reading
      // Inline the read runs to its end inside the call (settled by the first turn); on the thread the loop turns
      // while it starts and runs.
      expect(turns > 1).toBe(reader === 'thread')
      await store.close()
    }
  })

  it('fails the reads in flight of a thread that died with STORE_UNAVAILABLE, and the next read starts a new thread', async () => {
    const { path, tenantId, fixtures } = await seededFile()
    const thread = createReaderThread(settingsOf(path)) as StoreThread
    expect(thread).not.toBeNull()
    const inFlight = thread.read('query', { tenantId, ...ALL_TIME, limit: 5 })
    await thread.terminate()
    const failure: unknown = await inFlight.then(() => null, (error: unknown) => error)
    expect(isAuditKitError(failure) && failure.code).toBe('STORE_UNAVAILABLE')
    const page = await thread.read('query', { tenantId, ...ALL_TIME, limit: 5 })
    expect(page.items).toEqual(expectedEvents(fixtures, { tenantId, ...ALL_TIME }).slice(0, 5))
    await thread.close()
  })

  it('reads the file the store was made for, even after the process changed its working directory', async () => {
    const { path, tenantId, fixtures } = await seededFile()
    const cwd = process.cwd()
    process.chdir(dir)
    try {
      // A relative path, resolved when the store is made; the thread starts on the first read, after the change.
      const store = createSqliteStore({ path: path.slice(dir.length + 1) })
      process.chdir(tmpdir())
      const page = await store.query({ tenantId, ...ALL_TIME, limit: 3 })
      expect(page.items).toEqual(expectedEvents(fixtures, { tenantId, ...ALL_TIME }).slice(0, 3))
      await store.close()
    } finally {
      process.chdir(cwd)
    }
  })

  it('opens the file the store was made for on the calling thread too, after a change of working directory: get and query read the same file', async () => {
    const { path, tenantId, fixtures } = await seededFile()
    const elsewhere = mkdtempSync(join(tmpdir(), 'auditkit-elsewhere-'))
    const cwd = process.cwd()
    process.chdir(dir)
    try {
      const name = path.slice(dir.length + 1)
      for (const options of [{}, { readonly: true }]) {
        const store = createSqliteStore({ path: name, ...options })
        process.chdir(elsewhere)
        const first = expectedEvents(fixtures, { tenantId, ...ALL_TIME })[0] as AuditEvent
        expect((await store.query({ tenantId, ...ALL_TIME, limit: 1 })).items).toEqual([first])
        // `get` runs on this thread's connection: the same file as the reader thread's, not a new one in the new cwd.
        expect(await store.get(tenantId, first.id)).toEqual(first)
        expect(existsSync(join(elsewhere, name))).toBe(false)
        await store.close()
        process.chdir(dir)
      }
    } finally {
      process.chdir(cwd)
      rmSync(elsewhere, { recursive: true, force: true })
    }
  })

  it('refuses an unknown reader with INVALID_OPTIONS', () => {
    expect(() => createSqliteStore({ path: freshPath(), reader: 'worker' as never })).toThrow(/reader/)
  })
})
