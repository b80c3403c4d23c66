import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'libsql'
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { expectIntactChain, startSourceScript, storeWithAppend, storeWithCalls, waitFor } from '@auditkit/test-utils'
import { AuditKitError } from '../errors.js'
import type { AuditEvent, AuditEventInput } from '../event/schema.js'
import { verifyChain } from '../integrity/verify.js'
import { REDACTED } from '../redaction/redact.js'
import type { AuditStore } from '../store/types.js'
import { createSqliteStore } from '../stores/sqlite/sqlite-store.js'
import { createAuditLogger, type AuditLoggerOptions } from './audit-logger.js'

/**
 * The logger's backoff sleeps (`setTimeout` of node:timers/promises) pass through unchanged, unless a test asks for
 * their delays: then each is noted and cut to 0 ms, so that the backoff schedule is checked exactly, not by the clock.
 */
const backoffSleeps = vi.hoisted(() => ({ noting: false, delays: [] as number[] }))
vi.mock('node:timers/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:timers/promises')>()
  const setTimeout: typeof actual.setTimeout = (delay, value, options) => {
    if (!backoffSleeps.noting) return actual.setTimeout(delay, value, options)
    backoffSleeps.delays.push(delay ?? 0)
    return actual.setTimeout(0, value, options)
  }
  return { ...actual, setTimeout }
})

const dir = mkdtempSync(join(tmpdir(), 'auditkit-logger-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const ALL_TIME = { from: '1970-01-01T00:00:00.000Z', to: '9999-01-01T00:00:00.000Z' }
let files = 0

function input(n: number, overrides: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    tenantId: 'tenant-1',
    actor: { type: 'user', id: `user-${n % 4}`, name: 'Ada' },
    action: 'project_updated',
    resource: { type: 'project', id: `project-${n}` },
    outcome: 'success',
    ...overrides,
  }
}

/** Counts a tenant's stored events through the public API. */
async function countStored(store: AuditStore, tenantId = 'tenant-1'): Promise<number> {
  return (await store.chainHead(tenantId))?.seq ?? 0
}

/** A promise settled from outside: a store call held until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => {}
  const promise = new Promise<void>((resolve) => (open = resolve))
  return { promise, open }
}

/**
 * A second connection that holds SQLite's write lock: the store's appends then fail for real with SQLITE_BUSY
 * (after its short busy timeout) until `release()`.
 */
function lockWrites(path: string): { release: () => void } {
  const blocker = new Database(path)
  blocker.exec('BEGIN IMMEDIATE')
  return {
    release: () => {
      blocker.exec('COMMIT')
      blocker.close()
    },
  }
}

describe('createAuditLogger with the SQLite store', () => {
  let path: string
  let store: AuditStore
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason)

  beforeEach(async () => {
    path = join(dir, `logger-${++files}.db`)
    store = createSqliteStore({ path, busyTimeoutMs: 5 })
    await store.init()
    unhandled.length = 0
    process.on('unhandledRejection', onUnhandled)
  })

  afterEach(async () => {
    // Give stray promises a chance to surface before checking.
    await new Promise((resolve) => setTimeout(resolve, 10))
    process.off('unhandledRejection', onUnhandled)
    expect(unhandled).toEqual([])
    await store.close()
  })

  const logger = (options: Partial<AuditLoggerOptions> = {}) =>
    createAuditLogger({ store, onError: () => {}, retry: { initialDelayMs: 10, maxDelayMs: 80 }, ...options })

  it('writes in batches of at most batchSize (group commit)', async () => {
    const audit = logger({ batchSize: 500 })
    const batches: number[] = []
    audit.onAppend((events) => batches.push(events.length))
    for (let n = 0; n < 1200; n++) void audit.record(input(n))
    await audit.flush()
    expect(batches).toEqual([500, 500, 200])
    expect(audit.stats()).toMatchObject({ accepted: 1200, written: 1200, queued: 0 })
    expect(await expectIntactChain(store, 'tenant-1')).toBe(1200)
    await audit.close()
  })

  it('async delivery resolves once queued; await delivery resolves once durable, with the sealed event', async () => {
    const audit = logger()
    const queued = await audit.record(input(1))
    expect(queued.event).toBeUndefined()
    expect(await store.get('tenant-1', queued.id)).toBeNull() // not yet written: the batch runs on a later tick

    const durable = await audit.record(input(2), { delivery: 'await' })
    const stored = await store.get('tenant-1', durable.id)
    expect(stored).toEqual(durable.event)
    expect(durable.event).toMatchObject({ id: durable.id, occurredAt: durable.occurredAt, chainId: 'tenant-1', seq: 2 })
    expect(await store.get('tenant-1', queued.id)).not.toBeNull() // written in order before it
    await audit.close()
  })

  it('stamps id and occurredAt from the server clock and redacts secrets before hashing', async () => {
    const audit = logger({ clock: () => new Date('2026-03-04T05:06:07.089Z') })
    const { event } = await audit.record(
      input(1, { changes: { before: { password: 'hunter2', name: 'a' }, after: { nested: { apiKey: 'k-123' } } }, metadata: { token: 't' } }),
      { delivery: 'await' },
    )
    expect(event?.occurredAt).toBe('2026-03-04T05:06:07.089Z')
    expect(event?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/)
    expect(event?.changes).toEqual({ before: { password: REDACTED, name: 'a' }, after: { nested: { apiKey: REDACTED } } })
    expect(event?.metadata).toEqual({ token: REDACTED })
    expect(JSON.stringify(await store.get('tenant-1', event?.id ?? ''))).not.toMatch(/hunter2|k-123/)
    expect(await expectIntactChain(store, 'tenant-1')).toBe(1)
    await audit.close()
  })

  it('rejects invalid events with a code and details, and loses none of the valid ones', async () => {
    const errors: string[] = []
    const audit = logger({ onError: (error) => errors.push(error.code), limits: { maxMetadataBytes: 100 } })
    const outcomes = await Promise.allSettled([
      audit.record(input(1)),
      audit.record({ ...input(2), action: 'Created Project' }),
      audit.record(input(3)),
      audit.record({ ...input(4), actor: { type: 'robot', id: 'x' } } as unknown as AuditEventInput),
      audit.record(input(5, { metadata: { blob: 'x'.repeat(200) } })),
      audit.record({ ...input(6), extra: true } as unknown as AuditEventInput),
      audit.record(input(7)),
    ])
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled'])
    const reasons = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as AuditKitError] : []))
    expect(reasons.every((reason) => reason instanceof AuditKitError)).toBe(true)
    expect(reasons.map((reason) => reason.code)).toEqual(['INVALID_EVENT', 'INVALID_EVENT', 'PAYLOAD_TOO_LARGE', 'INVALID_EVENT'])
    expect(reasons[0]?.details).toEqual([expect.objectContaining({ path: 'action', reason: 'invalid_format' })])
    expect(reasons[1]?.details).toEqual([expect.objectContaining({ path: 'actor.type' })])
    expect(reasons[2]?.details).toEqual([expect.objectContaining({ path: 'metadata', reason: 'too_large' })])
    expect(reasons[3]?.details).toEqual([expect.objectContaining({ reason: 'unknown_field' })])
    await audit.flush()
    expect(audit.stats()).toMatchObject({ accepted: 3, written: 3, invalid: 4 })
    expect(errors).toEqual(['INVALID_EVENT', 'INVALID_EVENT', 'PAYLOAD_TOO_LARGE', 'INVALID_EVENT'])
    expect(await expectIntactChain(store, 'tenant-1')).toBe(3)
    await audit.close()
  })

  it('retries a failing store with growing backoff, counts and reports each failure, then writes everything', async () => {
    const reports: { code: string; attempt: number | undefined; at: number }[] = []
    const audit = logger({ onError: (error, info) => reports.push({ code: error.code, attempt: info.attempt, at: Date.now() }) })
    const lock = lockWrites(path)
    const started = Date.now()
    for (let n = 0; n < 50; n++) void audit.record(input(n))
    while (reports.length < 4) await new Promise((resolve) => setTimeout(resolve, 5))
    const stats = audit.stats()
    expect(stats.written).toBe(0)
    expect(stats.queued).toBe(50)
    expect(stats.writeFailures).toBeGreaterThanOrEqual(4)
    expect(stats.lastError).toMatchObject({ code: 'STORE_UNAVAILABLE' })
    expect(reports.slice(0, 4).map((report) => [report.code, report.attempt])).toEqual([
      ['STORE_UNAVAILABLE', 1],
      ['STORE_UNAVAILABLE', 2],
      ['STORE_UNAVAILABLE', 3],
      ['STORE_UNAVAILABLE', 4],
    ])
    // Backoff with full jitter waits at least half of 10, 20, 40 ms between the first four attempts.
    expect((reports[3]?.at ?? 0) - started).toBeGreaterThanOrEqual(5 + 10 + 20 - 2)
    lock.release()
    await audit.flush()
    expect(audit.stats()).toMatchObject({ written: 50, queued: 0 })
    expect(await expectIntactChain(store, 'tenant-1')).toBe(50)
    await audit.close()
  })

  it('starts the backoff over after a successful write: a later outage is retried from the shortest delay', async () => {
    const attempts: number[] = []
    const audit = logger({ onError: (_error, info) => void attempts.push(info.attempt ?? 0) })
    const first = lockWrites(path)
    void audit.record(input(1))
    while (attempts.length < 3) await new Promise((resolve) => setTimeout(resolve, 5))
    first.release()
    await audit.flush()
    expect(attempts.slice(0, 3)).toEqual([1, 2, 3])

    // The second outage is a new one: attempt 1 again (its backoff starts from initialDelayMs), not where the first left off.
    attempts.length = 0
    const second = lockWrites(path)
    void audit.record(input(2))
    while (attempts.length < 1) await new Promise((resolve) => setTimeout(resolve, 5))
    second.release()
    await audit.flush()
    expect(attempts[0]).toBe(1)
    expect(await expectIntactChain(store, 'tenant-1')).toBe(2)
    await audit.close()
  })

  it('backs off while the store cannot even open, however many events keep arriving, then writes them all', async () => {
    // A regular file where the database's folder should be: the folder cannot be made until it is removed.
    const missing = join(dir, `later-${++files}`)
    writeFileSync(missing, '')
    const lateStore = createSqliteStore({ path: join(missing, 'audit.db') })
    const attempts: { attempt: number; at: number }[] = []
    const audit = createAuditLogger({
      store: lateStore,
      retry: { initialDelayMs: 20, maxDelayMs: 1000 },
      onError: (error, info) => {
        if (error.code === 'STORE_UNAVAILABLE') attempts.push({ attempt: info.attempt ?? 0, at: performance.now() })
      },
    })
    // New events keep arriving, one every couple of ms, until the fourth attempt to open. (Counting the attempts in a
    // fixed time instead depends on how fast a busy machine runs the ticks.)
    const deadline = Date.now() + 20_000
    let recorded = 0
    while (attempts.length < 4) {
      if (Date.now() > deadline) throw new Error(`only ${attempts.length} attempts to open in 20 s`)
      void audit.record(input(recorded++))
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    expect(attempts.map(({ attempt }) => attempt)).toEqual(attempts.map((_, i) => i + 1))
    // Opening is retried on the backoff schedule (10-20, 20-40, 40-80 ms, ...), not on every new event: each retry
    // came at least half its backoff ceiling after the one before (less a timer's rounding).
    for (let i = 1; i < attempts.length; i++) {
      expect((attempts[i]?.at ?? 0) - (attempts[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual((20 * 2 ** (i - 1)) / 2 - 2)
    }
    rmSync(missing)
    mkdirSync(missing)
    await audit.flush()
    expect(audit.stats()).toMatchObject({ accepted: recorded, written: recorded, queued: 0 })
    expect(await expectIntactChain(lateStore, 'tenant-1')).toBe(recorded)
    await audit.close()
    await lateStore.close()
  })

  it('await delivery times out with AWAIT_TIMEOUT while the store is down, and the event is still written', async () => {
    const codes: string[] = []
    const audit = logger({ awaitTimeoutMs: 60, onError: (reported) => void codes.push(reported.code) })
    const lock = lockWrites(path)
    const error = await audit.record(input(1), { delivery: 'await' }).catch((reason: unknown) => reason)
    expect(error).toMatchObject({ code: 'AWAIT_TIMEOUT', message: expect.stringContaining('stays queued') })
    expect(audit.stats()).toMatchObject({ awaitTimeouts: 1, written: 0 })
    expect(codes.filter((code) => code === 'AWAIT_TIMEOUT')).toHaveLength(1) // told, not only counted
    lock.release()
    await audit.flush()
    expect(await countStored(store)).toBe(1)
    expect(audit.stats()).toMatchObject({ awaitTimeouts: 1, written: 1 })
    await audit.close()
  })

  it('refuses new events with QUEUE_FULL when the queue is at its cap, and never drops queued ones', async () => {
    const codes: string[] = []
    const audit = logger({ maxQueueSize: 10, onError: (error) => codes.push(error.code) })
    const lock = lockWrites(path)
    const outcomes = await Promise.allSettled(Array.from({ length: 15 }, (_, n) => audit.record(input(n))))
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(10)
    const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as AuditKitError] : []))
    expect(refused.map((reason) => reason.code)).toEqual(Array(5).fill('QUEUE_FULL'))
    expect(codes.filter((code) => code === 'QUEUE_FULL')).toHaveLength(5)
    expect(audit.stats()).toMatchObject({ accepted: 10, rejected: 5, queued: 10 })
    lock.release()
    await audit.flush()
    expect(await countStored(store)).toBe(10)
    // Room again once written.
    await expect(audit.record(input(99))).resolves.toMatchObject({ id: expect.any(String) })
    await audit.close()
    expect(await countStored(store)).toBe(11)
  })

  it('lets onError record the problem itself without looping while the queue is full, also after an await', async () => {
    // `onError: (error) => logger.record({ action: 'audit_failed', ... })` is a natural way to keep failures in the log;
    // with the queue full, each refusal called onError again: a stack overflow, or (after an await) a loop forever.
    const failure = (error: AuditKitError): AuditEventInput => ({ ...input(0), action: 'audit_failed', metadata: { code: error.code } })
    for (const asyncOnError of [false, true]) {
      const seen: string[] = []
      const audit: ReturnType<typeof logger> = logger({
        maxQueueSize: 3,
        onError: async (error) => {
          seen.push(error.code)
          if (asyncOnError) await new Promise((resolve) => setImmediate(resolve))
          await audit.record(failure(error)).catch(() => {})
        },
      })
      const lock = lockWrites(path)
      const outcomes = await Promise.allSettled(Array.from({ length: 5 }, (_, n) => audit.record(input(n))))
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected'])
      await new Promise((resolve) => setTimeout(resolve, 50))
      // Each refusal of a caller's event reached onError once; the refusals of onError's own records were only counted.
      expect(seen.filter((code) => code === 'QUEUE_FULL'), `async: ${asyncOnError}`).toEqual(['QUEUE_FULL', 'QUEUE_FULL'])
      // Two refused callers' events, two refused records of those refusals, and one for each write failure meanwhile.
      const { accepted, rejected } = audit.stats()
      expect({ accepted, rejected: rejected - seen.filter((code) => code === 'STORE_UNAVAILABLE').length }).toEqual({ accepted: 3, rejected: 4 })
      lock.release()
      await audit.flush()
      // Write failures while locked still reached onError (the write loop does not inherit onError's context).
      expect(seen, `async: ${asyncOnError}`).toContain('STORE_UNAVAILABLE')
      // With room in the queue, what onError records is written.
      await expect(audit.record({ ...input(9), action: 'bad action' })).rejects.toMatchObject({ code: 'INVALID_EVENT' })
      await new Promise((resolve) => setTimeout(resolve, 20))
      await audit.close()
    }
    const stored = await store.query({ tenantId: 'tenant-1', ...ALL_TIME, limit: 100 })
    expect(stored.items.filter((event) => event.action === 'project_updated')).toHaveLength(6)
    expect(stored.items.filter((event) => event.action === 'audit_failed').map((event) => event.metadata)).toEqual([{ code: 'INVALID_EVENT' }, { code: 'INVALID_EVENT' }])
    expect(await expectIntactChain(store, 'tenant-1')).toBe(stored.items.length)
  })

  it('does not pass onError\'s context on to the write loop it started: refusals of records made there are reported', async () => {
    const seen: string[] = []
    const audit = logger({
      onError: (error) => {
        seen.push(error.code)
        // Queue has room: this record is accepted and schedules the write (from inside onError).
        if (error.code === 'INVALID_EVENT' && seen.length === 1) void audit.record({ ...input(1), action: 'audit_failed' })
      },
    })
    let listenerCalls = 0
    audit.onAppend(() => {
      // Code run by the write loop, e.g. an exporter woken by it: its refused records are its own, not onError's.
      if (++listenerCalls === 1) void audit.record({ ...input(2), action: 'bad action' })
    })
    await expect(audit.record({ ...input(3), action: 'bad action' })).rejects.toMatchObject({ code: 'INVALID_EVENT' })
    await audit.flush()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(listenerCalls).toBeGreaterThan(0)
    expect(seen).toEqual(['INVALID_EVENT', 'INVALID_EVENT'])
    expect(audit.stats()).toMatchObject({ invalid: 2, written: 1 })
    await audit.close()
  })

  it('close() writes everything queued, then refuses new events with LOGGER_CLOSED', async () => {
    const audit = logger({ batchSize: 100 })
    for (let n = 0; n < 3000; n++) void audit.record(input(n, { tenantId: `tenant-${n % 3}` }))
    await audit.close()
    expect(audit.stats()).toMatchObject({ accepted: 3000, written: 3000, queued: 0 })
    for (const tenant of ['tenant-0', 'tenant-1', 'tenant-2']) expect(await expectIntactChain(store, tenant)).toBe(1000)
    await expect(audit.record(input(1))).rejects.toMatchObject({ code: 'LOGGER_CLOSED' })
    void audit.record(input(2)) // not awaited, not caught: must not become an unhandled rejection
  })

  it('close() gives up after timeoutMs with STORE_UNAVAILABLE when the store stays down', async () => {
    const audit = logger()
    const lock = lockWrites(path)
    void audit.record(input(1))
    await expect(audit.close({ timeoutMs: 50 })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
    lock.release()
  })

  it('flush() and close() write a partial batch at once, not after flushIntervalMs', async () => {
    const audit = logger({ flushIntervalMs: 60_000 })
    void audit.record(input(1))
    const started = Date.now()
    await audit.flush()
    expect(Date.now() - started).toBeLessThan(5000)
    expect(await countStored(store)).toBe(1)
    // A flushIntervalMs longer than close()'s timeout must not make close() give up on a healthy store.
    void audit.record(input(2))
    await audit.close({ timeoutMs: 5000 })
    expect(audit.stats()).toMatchObject({ accepted: 2, written: 2, queued: 0 })
    expect(await countStored(store)).toBe(2)
  })

  it('waits as long as it takes when close() or await delivery is given an Infinity timeout', async () => {
    // setTimeout fires after 1 ms for anything beyond 2^31-1 ms, Infinity included.
    const audit = logger({ awaitTimeoutMs: Infinity })
    const lock = lockWrites(path)
    const recorded = audit.record(input(1), { delivery: 'await' })
    const closing = audit.close({ timeoutMs: Infinity })
    await new Promise((resolve) => setTimeout(resolve, 150))
    lock.release()
    await expect(closing).resolves.toBeUndefined()
    await expect(recorded).resolves.toMatchObject({ event: { seq: 1 } })
    expect(audit.stats()).toMatchObject({ written: 1, queued: 0 })
    expect(await countStored(store)).toBe(1)
  })

  it('once close() gave up, flush() and await deliveries reject with its error instead of waiting forever', async () => {
    const audit = logger({ awaitTimeoutMs: 60_000 })
    const lock = lockWrites(path)
    const recorded = audit.record(input(1), { delivery: 'await' })
    void audit.record(input(2))
    const flushing = audit.flush()
    const gaveUp: unknown = await audit.close({ timeoutMs: 50 }).then(() => null, (error: unknown) => error)
    expect(gaveUp).toMatchObject({ code: 'STORE_UNAVAILABLE' })
    // Nothing more is written, so each waiter is told (once a write in flight has failed) instead of waiting forever.
    await expect(flushing).rejects.toBe(gaveUp)
    await expect(recorded).rejects.toBe(gaveUp)
    await expect(audit.flush()).rejects.toBe(gaveUp)
    await expect(audit.close()).rejects.toBe(gaveUp)
    expect(audit.stats()).toMatchObject({ accepted: 2, written: 0, queued: 2 })
    lock.release()
  })

  it('lets the process exit once close() gave up: no backoff or await timer is left running', async () => {
    // A separate process that records while the store is locked, gives up closing, closes the store and should end.
    const script = join(dir, 'gives-up.mjs')
    writeFileSync(
      script,
      `const [loggerUrl, storeUrl, path] = process.argv.slice(2)
       const { createAuditLogger } = await import(loggerUrl)
       const { createSqliteStore } = await import(storeUrl)
       const store = createSqliteStore({ path, busyTimeoutMs: 5 })
       const logger = createAuditLogger({ store, onError: () => {}, retry: { initialDelayMs: 60000, maxDelayMs: 60000 }, awaitTimeoutMs: 60000 })
       void logger.record(${JSON.stringify(input(1))}, { delivery: 'await' })
       await logger.close({ timeoutMs: 300 }).catch((error) => process.stdout.write(error.code + '\\n'))
       await store.close()`,
    )
    const lock = lockWrites(path)
    const child = startSourceScript(script, [new URL('./audit-logger.ts', import.meta.url).href, new URL('../stores/sqlite/sqlite-store.ts', import.meta.url).href, path], {
      cwd: fileURLToPath(new URL('.', import.meta.url)),
    })
    const gaveUpAt = await child.firstLine()
    lock.release()
    const ended = await child.exitsWithin(10_000)
    expect(child.stdout).toBe('STORE_UNAVAILABLE\n')
    expect(ended).toBe(true)
    expect(Date.now() - gaveUpAt).toBeLessThan(10_000)
  }, 30_000)

  it('opens the store (init) once, before its first write, whoever created it', async () => {
    const fresh = createSqliteStore({ path: join(dir, `fresh-${++files}.db`) }) // not opened by the test
    const calls: string[] = []
    const counted = storeWithCalls(fresh, (method, call) => {
      if (method === 'init' || method === 'append') calls.push(method)
      return call()
    })
    const audit = logger({ store: counted })
    await audit.record(input(1), { delivery: 'await' })
    await audit.record(input(2), { delivery: 'await' })
    await audit.close()
    expect(calls).toEqual(['init', 'append', 'append'])
    expect(await expectIntactChain(fresh, 'tenant-1')).toBe(2)
    await fresh.close()
  })

  it('yields to the event loop between the batches of a backlog, also to a store that writes synchronously', async () => {
    const inline = createSqliteStore({ path: join(dir, `inline-${++files}.db`), writer: 'inline' })
    const audit = logger({ store: inline, batchSize: 10 })
    await audit.record(input(0), { delivery: 'await' }) // opened: what follows is writes alone
    for (let n = 1; n <= 300; n++) void audit.record(input(n))
    const flushed = audit.flush()
    // Queued behind the first write: it runs between two batches, not once the whole backlog is written.
    const writtenMeanwhile = await new Promise<number>((resolve) => setImmediate(() => resolve(audit.stats().written)))
    expect(writtenMeanwhile).toBeLessThan(301)
    await flushed
    expect(audit.stats()).toMatchObject({ written: 301, queued: 0 })
    await audit.close()
    expect(await expectIntactChain(inline, 'tenant-1')).toBe(301)
    await inline.close()
  })

  it('writes a full batch at once, whatever flushIntervalMs or groupCommitMs would make a partial one wait', async () => {
    for (const options of [{ flushIntervalMs: 60_000 }, { groupCommitMs: 60_000 }]) {
      const audit = logger({ batchSize: 3, ...options })
      void audit.record(input(0))
      await audit.flush() // a write has just ended: a partial batch would now wait the full minute
      const recorded = await Promise.all([1, 2, 3].map((n) => audit.record(input(n), { delivery: 'await' })))
      expect(recorded.map((result) => result.event?.id)).toEqual(recorded.map((result) => result.id))
      expect(audit.stats()).toMatchObject({ written: 4, queued: 0 })
      await audit.close()
    }
    expect(await countStored(store)).toBe(8)
  })

  it('lets a partial batch wait flushIntervalMs for company: not written before it, or before a flush()', async () => {
    const audit = logger({ flushIntervalMs: 60_000 })
    void audit.record(input(1))
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(audit.stats()).toMatchObject({ accepted: 1, written: 0, queued: 1 })
    expect(await countStored(store)).toBe(0)
    await audit.flush()
    expect(await countStored(store)).toBe(1)
    await audit.close()
  })

  it('holds what arrived during a write for groupCommitMs after it, unless flush() asks for it now', async () => {
    const held = gate()
    let appends = 0
    const slow = storeWithAppend(store, async (events, seal) => {
      if (++appends === 1) await held.promise
      return store.append(events, seal)
    })
    const audit = logger({ store: slow, groupCommitMs: 60_000 })
    void audit.record(input(1))
    void audit.flush() // written at once, whatever the time since the process started
    await waitFor(() => appends === 1, 'the first write')
    void audit.record(input(2))
    void audit.record(input(3))
    held.open()
    await waitFor(() => audit.stats().written === 1, 'the first write to end')
    // The two that arrived meanwhile wait for the next group commit (a minute away), and so does one arriving now.
    void audit.record(input(4))
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(audit.stats()).toMatchObject({ written: 1, queued: 3 })
    expect(appends).toBe(1)
    await audit.flush()
    expect(audit.stats()).toMatchObject({ written: 4, queued: 0 })
    expect(appends).toBe(2)
    expect(await expectIntactChain(store, 'tenant-1')).toBe(4)
    await audit.close()
  })

  it('writes what arrived during a write once groupCommitMs has passed, with no further record() or flush()', async () => {
    const held = gate()
    let appends = 0
    const slow = storeWithAppend(store, async (events, seal) => {
      if (++appends === 1) await held.promise
      return store.append(events, seal)
    })
    const audit = logger({ store: slow, groupCommitMs: 30 })
    void audit.record(input(1))
    await waitFor(() => appends === 1, 'the first write')
    void audit.record(input(2))
    void audit.record(input(3))
    held.open()
    await waitFor(() => audit.stats().written === 3, 'the events that arrived during the first write to be written')
    expect(appends).toBe(2)
    expect(await expectIntactChain(store, 'tenant-1')).toBe(3)
    await audit.close()
  })

  it('keeps retrying at most maxDelayMs apart however long the outage lasts', async () => {
    let failures = 0
    const audit = logger({ retry: { initialDelayMs: 10, maxDelayMs: 20 }, onError: () => void failures++ })
    const lock = lockWrites(path)
    void audit.record(input(1))
    // Without the cap, the 16th attempt alone would come 10 * 2^14 ms (over two minutes) after the 15th.
    await waitFor(() => failures >= 16, '16 attempts', 20_000)
    lock.release()
    await audit.flush()
    expect(audit.stats()).toMatchObject({ written: 1, queued: 0 })
    expect(audit.stats().writeFailures).toBeGreaterThanOrEqual(16)
    await audit.close()
  }, 30_000)

  it('backs off from initialDelayMs, doubling up to maxDelayMs, with full jitter over the upper half of each ceiling', async () => {
    // Ceilings 100, 200, 400, 800, 1000, 1000 ms; each delay is ceiling / 2 + random * ceiling / 2.
    const expected: [number, number[]][] = [
      [0, [50, 100, 200, 400, 500, 500]],
      [0.5, [75, 150, 300, 600, 750, 750]],
      [1, [100, 200, 400, 800, 1000, 1000]],
    ]
    for (const [random, delays] of expected) {
      let appends = 0
      const failing = storeWithAppend(store, async (events, seal) => {
        if (++appends <= 6) throw new Error('store down')
        return store.append(events, seal)
      })
      const audit = logger({ store: failing, retry: { initialDelayMs: 100, maxDelayMs: 1000 } })
      const randomSpy = vi.spyOn(Math, 'random').mockReturnValue(random)
      backoffSleeps.delays.length = 0
      backoffSleeps.noting = true
      try {
        await audit.record(input(1), { delivery: 'await' })
      } finally {
        backoffSleeps.noting = false
        randomSpy.mockRestore()
      }
      expect(backoffSleeps.delays, `random ${random}`).toEqual(delays)
      expect(audit.stats()).toMatchObject({ writeFailures: 6, written: 1 })
      await audit.close()
    }
  })

  it('starts the backoff from initialDelayMs, however long maxDelayMs is', async () => {
    let failures = 0
    const audit = logger({ retry: { initialDelayMs: 10, maxDelayMs: 600_000 }, onError: () => void failures++ })
    const lock = lockWrites(path)
    void audit.record(input(1))
    // 10, 20, 40, 80 ms at most between the first five attempts; a backoff starting at maxDelayMs would take minutes.
    await waitFor(() => failures >= 5, 'five attempts', 20_000)
    lock.release()
    await audit.flush()
    expect(audit.stats()).toMatchObject({ written: 1, queued: 0 })
    await audit.close()
  }, 30_000)

  it('counts and reports failures to open the store, and says why when close() gives up on them', async () => {
    const missing = join(dir, `never-${++files}`)
    writeFileSync(missing, '') // a file where the database's folder should be: the store cannot open
    const lateStore = createSqliteStore({ path: join(missing, 'audit.db') })
    const reports: { code: string; attempt: number | undefined }[] = []
    const audit = logger({ store: lateStore, onError: (error, info) => void reports.push({ code: error.code, attempt: info.attempt }) })
    void audit.record(input(1))
    await waitFor(() => reports.length >= 2, 'two failed opens')
    expect(audit.stats().writeFailures).toBeGreaterThanOrEqual(2)
    const gaveUp: unknown = await audit.close({ timeoutMs: 50 }).then(() => null, (error: unknown) => error)
    expect(gaveUp).toBeInstanceOf(AuditKitError)
    const error = gaveUp as AuditKitError
    expect(error.code).toBe('STORE_UNAVAILABLE')
    expect(error.message).toContain('1 events not written')
    expect(error.message).toContain('last failure')
    expect(error.cause).toMatchObject({ code: 'STORE_UNAVAILABLE' })
    // Each failed open with its attempt number, and close() giving up once (no attempt: not a write).
    expect(reports.filter((report) => report.attempt === undefined)).toEqual([{ code: 'STORE_UNAVAILABLE', attempt: undefined }])
    expect(reports.slice(0, 2)).toEqual([
      { code: 'STORE_UNAVAILABLE', attempt: 1 },
      { code: 'STORE_UNAVAILABLE', attempt: 2 },
    ])
    rmSync(missing)
    await lateStore.close()
  })

  it('once close() gave up during a write that hangs, settles what that write may still land and rejects the rest at once', async () => {
    const held = gate()
    let appends = 0
    const reports: { code: string; attempt: number | undefined }[] = []
    const hanging = storeWithAppend(store, async (events, seal) => {
      appends++
      if (appends === 1) throw new Error('disk hiccup') // fails once, then the retry succeeds: no failure is pending
      if (appends === 3) await held.promise // the write in flight when close() gives up
      return store.append(events, seal)
    })
    const audit = logger({
      store: hanging,
      awaitTimeoutMs: 60_000,
      groupCommitMs: 0, // the write loop goes on at once after a write: nothing but giving up stops it
      onError: (error, info) => void reports.push({ code: error.code, attempt: info.attempt }),
    })
    await expect(audit.record(input(0), { delivery: 'await' })).resolves.toMatchObject({ event: { seq: 1 } })
    expect(appends).toBe(2)

    const inFlight = audit.record(input(1), { delivery: 'await' })
    await waitFor(() => appends === 3, 'the write that hangs')
    const flushInFlight = audit.flush() // the write in flight can still serve it
    const queued = audit.record(input(2), { delivery: 'await' })
    void audit.flush() // nobody awaits it: its rejection must not be an unhandled one
    const flushAll = audit.flush()
    const gaveUp: unknown = await audit.close({ timeoutMs: 50 }).then(() => null, (error: unknown) => error)
    expect(gaveUp).toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringContaining('2 events not written') })
    // The failure before was cured by the write after it: close() does not blame it.
    expect((gaveUp as AuditKitError).cause).toBeUndefined()
    expect((gaveUp as AuditKitError).message).toBe(`close() gave up after 50 ms with 2 events not written to the ${store.kind} store`)
    expect(reports).toEqual([
      { code: 'STORE_UNAVAILABLE', attempt: 1 },
      { code: 'STORE_UNAVAILABLE', attempt: undefined },
    ])

    // Rejected now, although the store call never returned: nothing more is written after it.
    await expect(queued).rejects.toBe(gaveUp)
    await expect(flushAll).rejects.toBe(gaveUp)
    expect(audit.stats()).toMatchObject({ accepted: 3, written: 1, queued: 2 })

    // The write in flight lands after all: whoever waited only for it is told it is durable.
    held.open()
    await expect(inFlight).resolves.toMatchObject({ event: { seq: 2 } })
    await expect(flushInFlight).resolves.toBeUndefined()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(appends).toBe(3)
    expect(audit.stats()).toMatchObject({ accepted: 3, written: 2, queued: 1 })
    expect(await expectIntactChain(store, 'tenant-1')).toBe(2)
  })

  it('lets the process exit at once after close() succeeded: no close or await timer is left running', async () => {
    const script = join(dir, 'closes.mjs')
    writeFileSync(
      script,
      `const [loggerUrl, storeUrl, path] = process.argv.slice(2)
       const { createAuditLogger } = await import(loggerUrl)
       const { createSqliteStore } = await import(storeUrl)
       const store = createSqliteStore({ path, busyTimeoutMs: 5 })
       const logger = createAuditLogger({ store, onError: () => {}, awaitTimeoutMs: 120000, flushIntervalMs: 120000 })
       // A partial batch waiting for flushIntervalMs (one timer for all four), which close() writes at once.
       void logger.record(${JSON.stringify(input(1))})
       void logger.record(${JSON.stringify(input(2))})
       void logger.record(${JSON.stringify(input(3))})
       const awaited = logger.record(${JSON.stringify(input(4))}, { delivery: 'await' })
       await logger.close()
       await awaited
       await store.close()
       process.stdout.write('closed\\n')`,
    )
    const child = startSourceScript(script, [new URL('./audit-logger.ts', import.meta.url).href, new URL('../stores/sqlite/sqlite-store.ts', import.meta.url).href, path], {
      cwd: fileURLToPath(new URL('.', import.meta.url)),
    })
    await child.firstLine()
    // close()'s timer (30 s by default), an await delivery's or a flushIntervalMs timer (2 min) would each keep it alive.
    const ended = await child.exitsWithin(15_000)
    expect(child.stdout).toBe('closed\n')
    expect(ended).toBe(true)
    expect(await countStored(store)).toBe(4)
  }, 60_000)

  it('rejects, never throws, when the clock option fails or answers an invalid date', async () => {
    for (const clock of [() => new Date(Number.NaN), (): Date => { throw new Error('clock down') }]) {
      const errors: string[] = []
      const audit = createAuditLogger({ store, clock, onError: (error) => errors.push(error.code) })
      let recorded: Promise<unknown> | undefined
      expect(() => (recorded = audit.record(input(1)))).not.toThrow()
      await expect(recorded).rejects.toMatchObject({ code: 'INVALID_OPTIONS', message: expect.stringContaining('clock') })
      expect(errors).toEqual(['INVALID_OPTIONS'])
      expect(audit.stats()).toMatchObject({ accepted: 0, rejected: 1, queued: 0 })
      await audit.close()
    }
  })

  it('refuses a clock time outside 1970-9999 without breaking the ids of every later event in the process', async () => {
    for (const at of [new Date(2 ** 48 + 5), new Date(8.64e15), new Date(Date.UTC(10_000, 0, 1)), new Date(-1)]) {
      const wrong = createAuditLogger({ store, clock: () => at, onError: () => {} })
      await expect(wrong.record(input(1))).rejects.toMatchObject({ code: 'INVALID_OPTIONS', message: expect.stringContaining('clock') })
      expect(wrong.stats()).toMatchObject({ accepted: 0, rejected: 1 })
      await wrong.close()
    }
    // Another logger of the same process, with the right clock, still records (ids are made process-wide).
    const audit = logger()
    await expect(audit.record(input(2), { delivery: 'await' })).resolves.toMatchObject({ event: { seq: 1 } })
    await audit.close()
  })

  it('never lets a throwing onError or onAppend listener break the pipeline', async () => {
    const audit = createAuditLogger({
      store,
      onError: () => {
        throw new Error('onError exploded')
      },
    })
    const seen: AuditEvent[] = []
    audit.onAppend(() => {
      throw new Error('listener exploded')
    })
    const unsubscribe = audit.onAppend((events) => seen.push(...events))
    void audit.record({ ...input(1), action: 'bad action' }) // invalid, not awaited
    await audit.record(input(2), { delivery: 'await' })
    expect(seen).toHaveLength(1)
    expect(audit.stats().lastError).toMatchObject({ code: 'INTERNAL' })
    unsubscribe()
    await audit.record(input(3), { delivery: 'await' })
    expect(seen).toHaveLength(1)
    await audit.close()
  })

  it('reports a failing onAppend listener to onError as INTERNAL, with what it threw as the cause', async () => {
    const reported: AuditKitError[] = []
    const audit = logger({ onError: (error) => void reported.push(error) })
    const thrown = new Error('exporter exploded')
    audit.onAppend(() => {
      throw thrown
    })
    await audit.record(input(1), { delivery: 'await' })
    expect(reported).toHaveLength(1)
    expect(reported[0]).toMatchObject({ code: 'INTERNAL', message: 'onAppend listener failed: exporter exploded' })
    expect(reported[0]?.cause).toBe(thrown)
    await audit.close()
  })

  it('never lets an async onError or onAppend listener that rejects become an unhandled rejection', async () => {
    // `onError: async (error) => alerting.send(error)` with the alerting down: its promise must not crash the process.
    const audit = createAuditLogger({ store, onError: () => Promise.reject(new Error('alerting down')) })
    audit.onAppend(() => Promise.reject(new Error('exporter down')))
    await expect(audit.record({ ...input(1), action: 'bad action' })).rejects.toMatchObject({ code: 'INVALID_EVENT' })
    await audit.record(input(2), { delivery: 'await' })
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(unhandled).toEqual([])
    expect(audit.stats().lastError).toMatchObject({ code: 'INTERNAL', message: expect.stringContaining('exporter down') })
    await audit.close()
  })

  it('counts events refused after close() in stats().rejected', async () => {
    const audit = logger()
    await audit.record(input(1))
    await audit.close()
    await audit.close() // twice: nothing left to write, resolves again
    await expect(audit.record(input(2))).rejects.toMatchObject({ code: 'LOGGER_CLOSED' })
    await expect(audit.record(input(3), { delivery: 'await' })).rejects.toMatchObject({ code: 'LOGGER_CLOSED' })
    expect(audit.stats()).toMatchObject({ accepted: 1, written: 1, rejected: 2, lastError: { code: 'LOGGER_CLOSED' } })
    expect(await countStored(store)).toBe(1)
  })

  it('refuses an empty hmacKey (an environment variable set to ""), which would key the chain with no secret', async () => {
    for (const hmacKey of ['', Buffer.alloc(0)]) {
      expect(() => createAuditLogger({ store, hmacKey })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining('hmacKey') }))
    }
    // A number from a config file failed every write, retried forever, with the key in each error message.
    expect(() => createAuditLogger({ store, hmacKey: 918273645 as unknown as string })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.not.stringContaining('918273645') }),
    )
    // The same bytes as a string or a Buffer make the same chain: either verifies it.
    const audit = logger({ hmacKey: 'clé-secrète' })
    await audit.record(input(1))
    await audit.close()
    const other = logger({ hmacKey: Buffer.from('clé-secrète', 'utf8') })
    await other.record(input(2), { delivery: 'await' })
    await other.close()
    for (const hmacKey of ['clé-secrète', Buffer.from('clé-secrète', 'utf8')]) {
      expect(await verifyChain({ source: store, chainId: 'tenant-1', hmacKey })).toMatchObject({ ok: true, eventsChecked: 2, keyed: true })
    }
    expect(await verifyChain({ source: store, chainId: 'tenant-1', hmacKey: 'cle-secrete' })).toMatchObject({ ok: false })
  })

  it('rejects invalid options with INVALID_OPTIONS', () => {
    expect(() => createAuditLogger({ store, batchSize: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    expect(() => createAuditLogger({ store, maxQueueSize: 1.5 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
  })

  it('keeps a query of what it wrote consistent with the records (newest first)', async () => {
    const audit = logger()
    const receipts = []
    for (let n = 0; n < 20; n++) receipts.push(await audit.record(input(n)))
    await audit.flush()
    const page = await store.query({ tenantId: 'tenant-1', ...ALL_TIME, limit: 50 })
    expect(page.items.map((event) => event.id)).toEqual(receipts.map((receipt) => receipt.id).reverse())
    await audit.close()
  })
})
