import { spawn, spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'libsql'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { ALL_TIME, buildFixtureEvents, expectIntactChain, expectedEvents, expectedFacets, readAllPages, runInRounds, runStoreContract, seedStore, startRoundWorker } from '@auditkit/test-utils'
import { isAuditKitError } from '../../errors.js'
import type { AuditEvent, AuditEventInput } from '../../event/schema.js'
import { createSealer } from '../../integrity/hash.js'
import { verifyAll } from '../../integrity/verify.js'
import { createAuditLogger } from '../../logger/audit-logger.js'
import type { AuditStore, EventFilter } from '../../store/types.js'
import { uuidv7 } from '../../ids/uuidv7.js'
import { eventSearchText } from '../../store/search-text.js'
import { createSqliteStore, type SqliteStoreOptions } from './sqlite-store.js'

const dir = mkdtempSync(join(tmpdir(), 'auditkit-sqlite-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const paths = new WeakMap<AuditStore, string>()
let created = 0

/** The contract over SQLite files made with `options`, each also opened a second time (two processes on one file). */
function runSqliteContract(name: string, prefix: string, options: Omit<SqliteStoreOptions, 'path'> = {}): void {
  runStoreContract(
    name,
    async () => {
      const path = join(dir, `${prefix}-${++created}.db`)
      const store = createSqliteStore({ ...options, path })
      paths.set(store, path)
      return store
    },
    {
      openSecondInstance: async (store) => {
        const path = paths.get(store)
        if (path === undefined) throw new Error('not a store of this test')
        return createSqliteStore({ ...options, path })
      },
    },
  )
}

runSqliteContract('sqlite', 'contract')
// The same contract writing on the calling thread (the default writes on a worker thread).
runSqliteContract('sqlite with writer inline', 'contract-inline', { writer: 'inline' })
// The same contract with the trigram search index: `q` must mean exactly the same with and without it.
runSqliteContract('sqlite with searchIndex', 'contract-search', { searchIndex: true })

describe('sqlite facet counts and search index', () => {
  const fixtures = buildFixtureEvents({ seed: 11 })
  const tenantId = fixtures[0]?.tenantId ?? ''
  const windows: EventFilter[] = [
    { tenantId, ...ALL_TIME },
    { tenantId, from: '2025-07-14T09:30:00.000Z', to: '2026-04-02T17:45:00.000Z' },
    { tenantId, from: '2026-03-03T01:00:00.000Z', to: '2026-03-04T23:00:00.000Z' },
  ]

  it("names an actor after its newest event, whatever order the batches arrive in", async () => {
    const store = createSqliteStore({ path: join(dir, 'names.db') })
    const seal = createSealer()
    const at = (iso: string, name: string) => ({
      id: uuidv7(Date.parse(iso)),
      occurredAt: iso,
      tenantId: 'tenant-n',
      chainId: 'tenant-n',
      actor: { type: 'user' as const, id: 'user-1', name },
      action: 'project_created',
      resource: { type: 'project' },
      outcome: 'success' as const,
    })
    await store.append([at('2026-03-10T12:00:00.000Z', 'March'), at('2026-01-05T12:00:00.000Z', 'January')], seal)
    await store.append([at('2025-12-01T08:00:00.000Z', 'December')], seal)
    const year = { tenantId: 'tenant-n', from: '2025-06-01T00:00:00.000Z', to: '2026-06-01T00:00:00.000Z' }
    expect((await store.facets(year)).actors).toEqual([{ type: 'user', id: 'user-1', name: 'March', count: 3 }])
    expect((await store.facets({ ...year, to: '2026-03-01T00:00:00.000Z' })).actors).toEqual([{ type: 'user', id: 'user-1', name: 'January', count: 2 }])
    await store.append([at('2026-05-31T23:59:59.999Z', 'May')], seal)
    expect((await store.facets(year)).actors).toEqual([{ type: 'user', id: 'user-1', name: 'May', count: 4 }])
    await store.close()
  })

  it('fills the facet counts of a file written before they existed, and counts from the events when read-only', async () => {
    const path = join(dir, 'version-1.db')
    const writer = createSqliteStore({ path })
    await seedStore(writer, fixtures, 250)
    await writer.close()
    const raw = new Database(path)
    raw.exec('DROP TABLE facet_counts; DROP TABLE facet_progress; PRAGMA user_version = 1')
    raw.close()

    const reader = createSqliteStore({ path, readonly: true })
    for (const filter of windows) expect(await reader.facets(filter)).toEqual(expectedFacets(fixtures, filter))
    await reader.close()
    const upgraded = createSqliteStore({ path })
    await upgraded.init()
    const probe = new Database(path)
    expect(probe.prepare('SELECT counted_rowid AS n FROM facet_progress').get([])).toMatchObject({ n: fixtures.length })
    expect(probe.prepare('PRAGMA user_version').get([])).toMatchObject({ user_version: 3 })
    probe.close()
    for (const filter of windows) expect(await upgraded.facets(filter)).toEqual(expectedFacets(fixtures, filter))
    await upgraded.close()
  })

  it('counts exactly while appends move events from the uncounted tail into the summary', async () => {
    const store = createSqliteStore({ path: join(dir, 'tail.db') })
    const seal = createSealer()
    const written: AuditEvent[] = []
    const start = Date.parse('2026-01-20T00:00:00.000Z')
    let n = 0
    const checks: EventFilter[] = [
      { tenantId: 'tenant-t', ...ALL_TIME },
      { tenantId: 'tenant-t', from: '2026-01-25T10:00:00.000Z', to: '2026-03-04T07:00:00.000Z' },
    ]
    for (let batch = 0; batch < 18; batch++) {
      const events = Array.from({ length: 700 }, () => {
        const ms = start + (n++ % 50) * 86_400_000 * 0.97 + n * 1000
        return {
          id: uuidv7(ms),
          occurredAt: new Date(ms).toISOString(),
          tenantId: n % 5 === 0 ? 'tenant-u' : 'tenant-t',
          chainId: n % 5 === 0 ? 'tenant-u' : 'tenant-t',
          actor: { type: n % 7 === 0 ? ('api_key' as const) : ('user' as const), id: `actor-${n % 40}`, name: `Actor ${n % 40} v${batch}` },
          action: `thing_${n % 6}_done`,
          resource: { type: `thing_${n % 6}` },
          outcome: 'success' as const,
        }
      })
      written.push(...(await store.append(events, seal)))
      if (batch % 4 === 3 || batch === 17) for (const filter of checks) expect(await store.facets(filter)).toEqual(expectedFacets(written, filter))
    }
    await store.close()
  })

  it('indexes the events already in a file when searchIndex is turned on, and finds exactly the same events', async () => {
    const path = join(dir, 'search-later.db')
    const writer = createSqliteStore({ path })
    await seedStore(writer, fixtures)
    await writer.close()
    const store = createSqliteStore({ path, searchIndex: true })
    await store.init()
    const raw = new Database(path)
    const count = (sql: string): number => (raw.prepare(sql).get([]) as { n: number }).n
    expect(count("SELECT count(*) AS n FROM events_search WHERE events_search MATCH '\"exa\"'")).toBe(
      count("SELECT count(*) AS n FROM events WHERE instr(search, 'exa') > 0"),
    )
    raw.close()
    // A term across two fields of the search text (over its line break) matches with instr, so it must with the index.
    const text = eventSearchText(fixtures[0] as AuditEvent)
    const acrossLines = text.slice(Math.max(0, text.indexOf('\n') - 3), text.indexOf('\n') + 4)
    // Terms rare among the newest rows take the index path (common ones scan): the oldest event's own text is rare.
    const oldest = [...fixtures].filter((event) => event.tenantId === tenantId).sort((a, b) => a.occurredAt.localeCompare(b.occurredAt))[0] as AuditEvent
    const rareTerm = eventSearchText(oldest)
    const newest = expectedEvents(fixtures, { tenantId, ...ALL_TIME }).slice(0, 1000)
    expect(newest.filter((event) => eventSearchText(event).includes(rareTerm)).length).toBeLessThan(10)
    expect(expectedEvents(fixtures, { tenantId, ...ALL_TIME, q: rareTerm }).length).toBeGreaterThan(0)
    for (const q of ['ALICE', 'CHLOÉ', 'ob ta', 'dan 10% off', 'a_c', '山田 花', 'example.com', 'x"y', 'ab', 'nothing-like-this', acrossLines, rareTerm]) {
      for (const window of windows.slice(0, 2)) {
        const filter = { ...window, q }
        expect((await readAllPages(store, filter, 250)).flat().map((event) => event.id)).toEqual(expectedEvents(fixtures, filter).map((event) => event.id))
        expect(await store.facets(filter)).toEqual(expectedFacets(fixtures, filter))
      }
    }
    await store.close()
  })

  it('finds an event whose text holds a NUL character with the index exactly as without it, also in a file indexed before, and names its actor in full in facets', async () => {
    // FTS5's trigram tokenizer stops at a NUL: an actor naming itself "x\0y" must not hide its events from `q`.
    const seal = createSealer()
    const base = Date.parse('2026-02-01T00:00:00.000Z')
    const events = Array.from({ length: 60 }, (_, n) => ({
      id: uuidv7(base + n * 1000),
      occurredAt: new Date(base + n * 1000).toISOString(),
      tenantId: 'tenant-nul',
      chainId: 'tenant-nul',
      actor: { type: 'user' as const, id: n === 7 ? 'mallory\u0000' : `user-${n % 5}`, name: n === 9 ? 'Mallory\u0000Jr' : 'Someone' },
      action: 'project_deleted',
      resource: { type: 'project', id: n === 7 || n === 9 ? `secret-plans-${n}` : `p-${n}` },
      outcome: 'success' as const,
      context: { ip: n === 9 ? '198.51.100.99' : '192.0.2.1' },
    }))
    const window = { tenantId: 'tenant-nul', ...ALL_TIME }
    const terms = ['secret-plans', 'SECRET-PLANS-9', '198.51.100.99', 'project_deleted', 'r\u0000j', 'mallory\u0000\nmallory', 'plans-7']
    const expectSame = async (store: AuditStore, written: AuditEvent[], only = terms): Promise<void> => {
      for (const q of only) {
        const filter = { ...window, q }
        expect((await readAllPages(store, filter, 5)).flat().map((event) => event.id), q).toEqual(expectedEvents(written, filter).map((event) => event.id))
      }
      expect(expectedEvents(written, { ...window, q: '198.51.100.99' })).toHaveLength(1)
      // Facets name such an actor in full (the driver cuts text at a NUL), from the summary and from the events.
      for (const filter of [window, { ...window, action: 'project_deleted' }]) expect(await store.facets(filter)).toEqual(expectedFacets(written, filter))
      expect((await store.facets(window)).actors.map((actor) => actor.id)).toContain('mallory\u0000')
    }

    const fresh = createSqliteStore({ path: join(dir, 'nul-fresh.db'), searchIndex: true, writer: 'inline' })
    const written = await fresh.append(events, seal)
    await expectSame(fresh, written)
    await fresh.close()

    // A file written before (schema version 2): its search text holds the NUL and its index stops at it. Read-only, the
    // store answers exactly; the first writer rewrites those rows and indexes them again.
    const path = join(dir, 'nul-old.db')
    const old = createSqliteStore({ path, searchIndex: true, writer: 'inline' })
    const oldWritten = await old.append(events, createSealer())
    await old.close()
    const raw = new Database(path)
    for (const event of oldWritten.filter((e) => JSON.stringify(e.actor).includes('\\u0000'))) {
      const { rowid, search } = raw.prepare('SELECT rowid, search FROM events WHERE id = ?').get([event.id]) as { rowid: number; search: string }
      const before = [event.actor.id, event.actor.name, event.action, event.resource.type, event.resource.id, event.context?.ip].join('\n').toLowerCase()
      raw.prepare("INSERT INTO events_search (events_search, rowid, search) VALUES ('delete', ?, ?)").run([rowid, search])
      raw.prepare('UPDATE events SET search = ? WHERE rowid = ?').run([before, rowid])
      raw.prepare('INSERT INTO events_search (rowid, search) VALUES (?, ?)').run([rowid, before])
    }
    raw.exec('PRAGMA user_version = 2')
    expect(raw.prepare("SELECT count(*) AS n FROM events WHERE instr(search, char(0)) > 0").get([])).toMatchObject({ n: 2 })
    raw.close()
    const reader = createSqliteStore({ path, readonly: true })
    // (Terms holding a NUL match those rows only once a writer has rewritten them.)
    await expectSame(reader, oldWritten, terms.filter((q) => !q.includes('\u0000')))
    await reader.close()
    const upgraded = createSqliteStore({ path, writer: 'inline' })
    await upgraded.init()
    const probe = new Database(path)
    expect(probe.prepare("SELECT count(*) AS n FROM events WHERE instr(search, char(0)) > 0").get([])).toMatchObject({ n: 0 })
    expect(probe.prepare('PRAGMA user_version').get([])).toMatchObject({ user_version: 3 })
    probe.close()
    await expectSame(upgraded, oldWritten)
    await upgraded.close()
  })
})

describe('sqlite window bounds with a keyset cursor', () => {
  // Events one hour apart, several of them exactly at the window's end and before its start: a bound dropped in favour
  // of the cursor (a cursor is the tighter bound only inside the window) would let them in.
  const tenantId = 'tenant-window'
  const base = Date.parse('2026-03-01T00:00:00.000Z')
  const hour = 3_600_000
  const from = new Date(base + 3 * hour).toISOString()
  const to = new Date(base + 9 * hour).toISOString()
  const events = Array.from({ length: 36 }, (_, n) => {
    // Appended out of time order (rowid order is not time order), three events at each hour; few name the keeper, so
    // that a `q` for it is answered from the trigram index.
    const at = base + ((n * 7) % 12) * hour
    return {
      id: uuidv7(at),
      occurredAt: new Date(at).toISOString(),
      tenantId,
      chainId: tenantId,
      actor: { type: 'user' as const, id: `user-${n % 4}`, name: n % 9 === 4 ? 'Zebra "Keeper"' : 'Someone' },
      action: 'project_updated',
      resource: { type: 'project', id: `p-${n}` },
      outcome: 'success' as const,
    }
  })

  it('never lets a cursor at or after the window end widen the window, whichever query ran before on the connection', async () => {
    for (const options of [{}, { reader: 'inline' as const, writer: 'inline' as const }, { searchIndex: true }]) {
      const store = createSqliteStore({ path: join(dir, `window-${++created}.db`), ...options })
      const written = await store.append(events, createSealer())
      const filter: EventFilter = { tenantId, from, to }
      const expected = expectedEvents(written, filter).map((event) => event.id)
      expect(expected.length).toBeGreaterThan(0)
      expect(written.some((event) => event.occurredAt === to)).toBe(true)
      // At the window's end with the greatest id, and past it: every event of the window is still to come, none at or after `to`.
      for (const occurredAt of [to, new Date(base + 11 * hour).toISOString()]) {
        const page = await store.query({ ...filter, limit: 100, after: { occurredAt, id: 'ffffffff-ffff-7fff-bfff-ffffffffffff' } })
        expect(page.items.map((event) => event.id), occurredAt).toEqual(expected)
        // The same filter without a cursor, after one with a cursor outside the window.
        expect((await store.query({ ...filter, limit: 100 })).items.map((event) => event.id), occurredAt).toEqual(expected)
      }
      // A `q` means the same with and without the search index, also with a `"` (FTS5 quoting) in the term.
      for (const q of ['zebra "keeper"', '"keeper"']) {
        const searched = { ...filter, ...ALL_TIME, q }
        expect((await store.query({ ...searched, limit: 100 })).items.map((event) => event.id), q).toEqual(expectedEvents(written, searched).map((event) => event.id))
      }
      await store.close()
    }
  })

  it('streams only the window, oldest first, in batches, also for a q the search index answers', async () => {
    const store = createSqliteStore({ path: join(dir, `window-stream-${++created}.db`), searchIndex: true, writer: 'inline', reader: 'inline' })
    const written = await store.append(events, createSealer())
    for (const filter of [{ tenantId, from, to }, { tenantId, from, to, q: 'zebra "keeper"' }, { tenantId, ...ALL_TIME, q: '"keeper"' }] as EventFilter[]) {
      const expected = expectedEvents(written, filter).reverse().map((event) => event.id)
      expect(expected.length).toBeGreaterThan(1)
      for (const batchSize of [2, 1000]) {
        const streamed: string[] = []
        for await (const event of store.stream(filter, { batchSize })) streamed.push(event.id)
        expect(streamed, `${JSON.stringify(filter)} by ${batchSize}`).toEqual(expected)
      }
    }
    await store.close()
  })
})

/** Read-only bind mounts (root on Linux), standing for write-protected media. */
const readOnlyMount = (() => {
  const run = (args: string[]): boolean => spawnSync('mount', args, { stdio: 'ignore' }).status === 0
  const mount = (source: string): { path: string; unmount(): void } => {
    const target = mkdtempSync(join(tmpdir(), 'auditkit-ro-'))
    if (!run(['--bind', source, target]) || !run(['-o', 'remount,ro,bind', target])) throw new Error(`cannot mount ${source} read-only`)
    // Lazily: the driver may hold the file open until its statements are garbage-collected.
    return { path: target, unmount: () => void spawnSync('umount', ['-l', target]) }
  }
  let available = false
  try {
    const probe = mkdtempSync(join(tmpdir(), 'auditkit-ro-probe-'))
    mount(probe).unmount()
    available = true
  } catch {
    console.warn('SKIPPED: reading SQLite evidence from read-only media needs a read-only bind mount (root on Linux)')
  }
  return { available, mount }
})()

describe('sqlite specifics', () => {
  const input = (tenantId: string, n: number): AuditEventInput => ({
    tenantId,
    actor: { type: 'user', id: `user-${n % 3}` },
    action: 'project_created',
    resource: { type: 'project', id: `p-${n}` },
    outcome: 'success',
  })

  it('runs in WAL mode with one index per filter', async () => {
    const path = join(dir, 'wal.db')
    const store = createSqliteStore({ path })
    await store.init()
    const probe = new Database(path)
    try {
      expect(probe.prepare('PRAGMA journal_mode').get([])).toMatchObject({ journal_mode: 'wal' })
      const indexes = (probe.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'").all([]) as { name: string }[])
        .map((row) => row.name)
        .sort()
      expect(indexes).toEqual(
        expect.arrayContaining(['events_by_action', 'events_by_actor', 'events_by_chain', 'events_by_id', 'events_by_resource_id', 'events_by_resource_type', 'events_by_time']),
      )
    } finally {
      probe.close()
      await store.close()
    }
  })

  it("lists a tenant id holding a NUL in full (chains, state keys, checkpoints), never as the tenant it starts with", async () => {
    const store = createSqliteStore({ path: join(dir, 'nul-tenant.db'), writer: 'inline' })
    try {
      const logger = createAuditLogger({ store })
      for (const tenantId of ['acme', 'acme\0evil']) await logger.record(input(tenantId, 1), { delivery: 'await' })
      await logger.close()
      expect(await store.listChains()).toEqual(['acme', 'acme\0evil'])
      await store.putState('siem.settings', 'acme\0evil', { endpoint: 'https://evil.example/v1/logs' })
      await store.putState('siem.settings', 'acme', { endpoint: 'https://acme.example/v1/logs' })
      expect(await store.listState('siem.settings')).toEqual([
        { key: 'acme', value: { endpoint: 'https://acme.example/v1/logs' } },
        { key: 'acme\0evil', value: { endpoint: 'https://evil.example/v1/logs' } },
      ])
      const checkpoint = { chainId: 'acme\0evil', seq: 1, hash: 'h', createdAt: '2026-01-01T00:00:00.000Z', prevSignature: '', signature: 's', keyId: 'k' }
      await store.appendCheckpoint(checkpoint)
      expect(await store.listCheckpoints('acme\0evil')).toEqual([checkpoint])
      expect(await store.lastCheckpoint('acme\0evil')).toEqual(checkpoint)
      expect(await store.listCheckpoints('acme')).toEqual([])
    } finally {
      await store.close()
    }
  })

  it('verifies the chain of a tenant id holding a lone surrogate, which the file (UTF-8) and so listChains spell with U+FFFD', async () => {
    const store = createSqliteStore({ path: join(dir, 'surrogate-tenant.db'), writer: 'inline' })
    try {
      const logger = createAuditLogger({ store })
      for (let n = 1; n <= 3; n++) await logger.record(input('lone\ud800tenant', n), { delivery: 'await' })
      await logger.close()
      expect(await store.listChains()).toEqual(['lone\ufffdtenant'])
      // Its events hold the id as recorded (their JSON keeps the \ud800 escape): the same chain, not one copied in.
      const result = await verifyAll({ source: store })
      expect(result.chains[0]?.firstBreak ?? null).toBeNull()
      expect(result).toMatchObject({ ok: true, chains: [{ eventsChecked: 3 }] })
    } finally {
      await store.close()
    }
  })

  it('keeps a tenant id that starts with U+FEFF (pasted from a file with a byte order mark) as it is: chains, state keys, checkpoints', async () => {
    const store = createSqliteStore({ path: join(dir, 'bom-tenant.db'), writer: 'inline' })
    try {
      const logger = createAuditLogger({ store })
      for (const tenantId of ['\ufeffacme', 'acme']) await logger.record(input(tenantId, 1), { delivery: 'await' })
      await logger.close()
      expect(await store.listChains()).toEqual(['acme', '\ufeffacme'])
      expect(await verifyAll({ source: store })).toMatchObject({ ok: true, chains: [{ chainId: 'acme', eventsChecked: 1 }, { chainId: '\ufeffacme', eventsChecked: 1 }] })
      await store.putState('siem.settings', '\ufeffacme', { endpoint: 'https://other.example/v1/logs' })
      expect((await store.listState('siem.settings')).map((entry) => entry.key)).toEqual(['\ufeffacme'])
      const checkpoint = { chainId: '\ufeffacme', seq: 1, hash: 'h', createdAt: '2026-01-01T00:00:00.000Z', prevSignature: '', signature: 's', keyId: 'k' }
      await store.appendCheckpoint(checkpoint)
      expect(await store.lastCheckpoint('\ufeffacme')).toEqual(checkpoint)
    } finally {
      await store.close()
    }
  })

  it('keeps events, state and chain heads across close and reopen', async () => {
    const path = join(dir, 'reopen.db')
    const first = createSqliteStore({ path })
    const logger = createAuditLogger({ store: first })
    for (let n = 0; n < 5; n++) await logger.record(input('tenant-r', n))
    await logger.close()
    await first.putState('settings', 'siem', { enabled: true })
    const head = await first.chainHead('tenant-r')
    await first.close()
    await expect(first.chainHead('tenant-r')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })

    const second = createSqliteStore({ path })
    try {
      expect(await second.chainHead('tenant-r')).toEqual(head)
      expect(await second.getState('settings', 'siem')).toEqual({ enabled: true })
      const next = createAuditLogger({ store: second })
      await next.record(input('tenant-r', 5), { delivery: 'await' })
      await next.close()
      expect(await expectIntactChain(second, 'tenant-r')).toBe(6)
    } finally {
      await second.close()
    }
  })

  it('leaves every event in the database file itself once closed, so that a copy of that file alone is complete', async () => {
    for (const writer of ['thread', 'inline'] as const) {
      const path = join(dir, `copied-${writer}.db`)
      const store = createSqliteStore({ path, writer })
      const logger = createAuditLogger({ store })
      for (let n = 0; n < 20; n++) void logger.record(input('tenant-copy', n))
      await logger.close()
      await store.query({ tenantId: 'tenant-copy', ...ALL_TIME, limit: 1 }) // a read connection on this thread too
      await store.close()
      const evidence = join(dir, `evidence-${writer}.db`)
      copyFileSync(path, evidence) // the file alone, as an admin copies it: no -wal beside it
      const copy = createSqliteStore({ path: evidence, readonly: true })
      try {
        expect(await expectIntactChain(copy, 'tenant-copy')).toBe(20)
      } finally {
        await copy.close()
      }
    }
  })

  it('a second close() waits, like the first, until the writes already sent to the thread are in the file', async () => {
    const path = join(dir, 'close-twice.db')
    const store = createSqliteStore({ path })
    await store.init()
    const seal = createSealer()
    const events = Array.from({ length: 2000 }, (_, n) => {
      const ms = Date.parse('2026-05-01T00:00:00.000Z') + n
      return { ...input('tenant-c', n), id: uuidv7(ms), occurredAt: new Date(ms).toISOString(), tenantId: 'tenant-c', chainId: 'tenant-c' }
    })
    const appended = store.append(events, seal)
    void store.close()
    await store.close()
    const probe = new Database(path, { readonly: true })
    try {
      expect(probe.prepare('SELECT count(*) AS n FROM events').get([])).toMatchObject({ n: 2000 })
    } finally {
      probe.close()
    }
    await expect(appended).resolves.toHaveLength(2000)
  })

  it('opens a file read-only without changing it, and refuses writes', async () => {
    const path = join(dir, 'evidence dir #1', 'audit.db')
    mkdirSync(dirname(path))
    const writer = createSqliteStore({ path })
    const logger = createAuditLogger({ store: writer })
    for (let n = 0; n < 3; n++) await logger.record(input('tenant-ro', n))
    await logger.close()
    await writer.close()
    const before = readFileSync(path)

    const reader = createSqliteStore({ path, readonly: true })
    try {
      expect(await expectIntactChain(reader, 'tenant-ro')).toBe(3)
      expect((await reader.query({ tenantId: 'tenant-ro', from: '1970-01-01T00:00:00.000Z', to: '9999-01-01T00:00:00.000Z', limit: 10 })).items).toHaveLength(3)
      const [event] = await reader.readChain('tenant-ro', 0, 1)
      await expect(reader.append([{ ...(event as AuditEvent), id: 'another' }], createSealer())).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
      await expect(reader.putState('s', 'k', 1)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
    } finally {
      await reader.close()
    }
    expect(readFileSync(path).equals(before)).toBe(true)
    await expect(createSqliteStore({ path: join(dir, 'absent.db'), readonly: true }).init()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
  })

  // Write-protected media (evidence on a locked disk) need a read-only mount: root can bind-mount here; elsewhere the
  // case is skipped, loudly. Checked by hand too (docs/stores.md).
  it.runIf(readOnlyMount.available)('reads a WAL-mode file on read-only media, and says what to do when its WAL holds events', async () => {
    const source = join(dir, 'evidence-media')
    const path = join(source, 'audit.db')
    const writer = createSqliteStore({ path, writer: 'inline' })
    const logger = createAuditLogger({ store: writer })
    for (let n = 0; n < 3; n++) await logger.record(input('tenant-wp', n))
    await logger.close()
    await writer.close()
    // The evidence is the database file alone (close() folded the WAL into it): no -shm on the media.
    rmSync(`${path}-wal`, { force: true })
    rmSync(`${path}-shm`, { force: true })
    const mounted = readOnlyMount.mount(source)
    try {
      const reader = createSqliteStore({ path: join(mounted.path, 'audit.db'), readonly: true })
      try {
        expect(await expectIntactChain(reader, 'tenant-wp')).toBe(3)
      } finally {
        await reader.close()
      }
    } finally {
      mounted.unmount()
    }
    // A WAL with events not yet in the file, and no -shm: not readable whole from read-only media; said, not shortened.
    const pending = join(dir, 'evidence-pending')
    mkdirSync(pending)
    const live = createSqliteStore({ path: join(pending, 'audit.db'), writer: 'inline' })
    const liveLogger = createAuditLogger({ store: live })
    await liveLogger.record(input('tenant-wp', 9), { delivery: 'await' })
    const copy = join(dir, 'evidence-pending-copy')
    mkdirSync(copy)
    copyFileSync(join(pending, 'audit.db'), join(copy, 'audit.db'))
    copyFileSync(join(pending, 'audit.db-wal'), join(copy, 'audit.db-wal'))
    await liveLogger.close()
    await live.close()
    const media = readOnlyMount.mount(copy)
    try {
      await expect(createSqliteStore({ path: join(media.path, 'audit.db'), readonly: true }).init()).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
        message: expect.stringContaining('copy both files to writable storage'),
      })
    } finally {
      media.unmount()
    }
  })

  it('creates the folders on the path of a new file, writing on the thread and inline', async () => {
    for (const writer of ['thread', 'inline'] as const) {
      const path = join(dir, `new-folder-${writer}`, 'nested', 'audit.db')
      const store = createSqliteStore({ path, writer })
      const logger = createAuditLogger({ store })
      const { event } = await logger.record(input('tenant-f', 1), { delivery: 'await' })
      expect(await store.get('tenant-f', event?.id ?? '')).toEqual(event)
      await logger.close()
      await store.close()
      expect(readFileSync(path).subarray(0, 15).toString()).toBe('SQLite format 3')
    }
  })

  it("never opens a restored copy with the replaced file's write-ahead log left beside it (which corrupts it): refused, reported and retried until it is moved away", async () => {
    for (const writer of ['thread', 'inline'] as const) {
      const path = join(dir, `restored-beside-old-wal-${writer}.db`)
      const store = createSqliteStore({ path, writer })
      const errors: string[] = []
      const logger = createAuditLogger({ store, retry: { initialDelayMs: 1, maxDelayMs: 20 }, onError: (error) => errors.push(`${error.code}: ${error.message}`) })
      for (let n = 0; n < 20; n++) await logger.record(input('tenant-r', n), { delivery: 'await' })
      const backup = new Database(path)
      backup.exec(`VACUUM INTO '${path}.backup'`)
      backup.close()
      // Written after the backup: in the -wal only (no checkpoint yet), as on a live server.
      for (let n = 20; n < 60; n++) await logger.record(input('tenant-r', n), { delivery: 'await' })
      expect(readFileSync(`${path}-wal`).length).toBeGreaterThan(0)
      // The backup restored over the file alone (`mv audit.db.backup audit.db`): the old -wal and -shm stay.
      renameSync(`${path}.backup`, path)
      const pending = logger.record(input('tenant-r', 60), { delivery: 'await' })
      await vi.waitFor(() => expect(errors.some((e) => e.includes(`${path}-wal`) && e.startsWith('STORE_UNAVAILABLE'))).toBe(true), { timeout: 5000, interval: 5 })
      expect(logger.stats().written).toBe(60)
      // Moved away: the retry opens the restored file and continues its chain.
      for (const suffix of ['-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true })
      expect((await pending).event?.seq).toBe(21)
      await logger.close()
      await store.close()
      const check = new Database(path)
      expect(check.prepare('PRAGMA integrity_check').get([])).toMatchObject({ integrity_check: 'ok' })
      check.close()
      const reopened = createSqliteStore({ path, writer: 'inline' })
      expect((await reopened.readChain('tenant-r', 0, 100)).map((e) => e.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1))
      expect((await verifyAll({ source: reopened })).ok).toBe(true)
      await reopened.close()
    }
  })

  it('turns driver failures into STORE_UNAVAILABLE with the cause', async () => {
    // A folder that cannot be made: a regular file is in its place.
    writeFileSync(join(dir, 'a-file'), '')
    const store = createSqliteStore({ path: join(dir, 'a-file', 'x.db') })
    const error = await store.init().then(
      () => null,
      (reason: unknown) => reason,
    )
    expect(isAuditKitError(error)).toBe(true)
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE' })
    expect((error as Error).cause).toBeInstanceOf(Error)
    expect(() => createSqliteStore({ path: '' })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
  })

  it('works in memory for tests', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const logger = createAuditLogger({ store })
    const { event } = await logger.record(input('tenant-m', 1), { delivery: 'await' })
    expect(await store.get('tenant-m', event?.id ?? '')).toEqual(event)
    await logger.close()
    await store.close()
  })

  it('opens a new file that another process is writing to: it waits for the lock instead of failing at once', async () => {
    // A fresh file is in rollback-journal mode until its first store switches it to WAL. SQLite refuses that switch at
    // once, without waiting out busy_timeout, while another process holds the write lock (as two app instances
    // starting together on a new file do).
    const path = join(dir, 'held-while-opening.db')
    const holdMs = 400
    // The holder keeps the lock for holdMs from the moment it reads "go", which the parent sends after noting the time:
    // the lock is surely still held for holdMs after `started`, however late either process runs.
    const holder = spawn(
      process.execPath,
      ['-e', `const Database = require('libsql'); const db = new Database(${JSON.stringify(path)}); db.exec('BEGIN IMMEDIATE'); db.exec('CREATE TABLE held (x)'); process.stdout.write('held\\n'); process.stdin.once('data', () => setTimeout(() => { db.exec('COMMIT'); db.close(); process.stdin.destroy() }, ${holdMs}))`],
      { cwd: fileURLToPath(new URL('.', import.meta.url)), stdio: ['pipe', 'pipe', 'inherit'] },
    )
    const exited = new Promise((resolve) => holder.once('exit', resolve))
    await new Promise((resolve) => holder.stdout.once('data', resolve))
    // A busy timeout that only bounds a hang: the holder may be slow to read "go" on a busy machine.
    const store = createSqliteStore({ path, writer: 'inline', busyTimeoutMs: 30_000 })
    const started = Date.now()
    // Handed to the OS before init() starts (which blocks this thread while it retries).
    await new Promise((resolve) => holder.stdin.write('go\n', resolve))
    try {
      await store.init()
      expect(Date.now() - started).toBeGreaterThanOrEqual(holdMs / 2)
      const logger = createAuditLogger({ store })
      const { event } = await logger.record(input('tenant-held', 1), { delivery: 'await' })
      expect(event?.seq).toBe(1)
      await logger.close()
    } finally {
      await store.close()
      await exited
    }
  })

  it('two processes writing to one file keep every chain gapless and linked', async () => {
    const path = join(dir, 'processes.db')
    await createSqliteStore({ path }).close()
    const writer = fileURLToPath(new URL('./test-support/concurrent-writer.ts', import.meta.url))
    const perProcess = 400
    const rounds = 4
    const results = await runInRounds(
      ['writer-a', 'writer-b'].map((name) => startRoundWorker<{ ids: string[]; stats: { written: number } }>(writer, [path, name, String(perProcess), String(rounds)])),
      rounds,
    )
    for (const result of results) expect(result.stats.written).toBe(perProcess)
    const store = createSqliteStore({ path })
    try {
      const total = (await expectIntactChain(store, 'tenant-0')) + (await expectIntactChain(store, 'tenant-1'))
      expect(total).toBe(perProcess * 2)
      const stored = [...(await store.readChain('tenant-0', 0, 10_000)), ...(await store.readChain('tenant-1', 0, 10_000))]
      expect(stored.map((event) => event.id).sort()).toEqual(results.flatMap((result) => result.ids).sort())
      // Both writers appended to each chain in every round: at least one switch of writer a round in each chain.
      const switches = stored.filter((event, i) => i > 0 && event.actor.id !== stored[i - 1]?.actor.id).length
      expect(switches).toBeGreaterThanOrEqual(rounds)
    } finally {
      await store.close()
    }
  }, 90_000)
})
