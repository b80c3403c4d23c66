// Randomized chaos tests of the promise "a failure of the audit store never loses an event silently: it is retried,
// surfaced and counted". Random producers record events across several tenants in both delivery modes against a real,
// file-backed SQLite store wrapped in a fault injector (fails before writing, fails AFTER the commit went through,
// delays, hangs past the await timeout, fails init, kills the writer thread mid-batch) while another connection grabs
// SQLite's write lock at random (real SQLITE_BUSY). Then the file, the counters and every promise are checked.
//
// Every run is driven by a seed: a fixed list plus one random seed per run, printed in the test name. Replay one with
//   AUDITKIT_CHAOS_SEED=<seed> npx vitest run --project @auditkit/core packages/core/src/logger/audit-logger.chaos.test.ts
// The seed fixes the plan (options, store kind, ops of each producer, the fault of the n-th store call, phases); the
// interleaving with timers and the writer thread still varies from run to run, so the assertions are invariants only.
// AUDITKIT_CHAOS_VERBOSE=1 prints, per run, the plan, the faults injected, the counters and the outcomes.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import Database from 'libsql'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { chaosSeeds, expectIntactChain, seedLabel, seededRandom, storeWithAppend, storeWithCalls, type SeededRandom } from '@auditkit/test-utils'
import { isAuditKitError, type AuditKitError } from '../errors.js'
import type { AuditEvent, AuditEventInput } from '../event/schema.js'
import { sealerKeyOf } from '../integrity/hash.js'
import { verifyChain } from '../integrity/verify.js'
import type { AuditStore } from '../store/types.js'
import { createSqliteStore } from '../stores/sqlite/sqlite-store.js'
import { createWriterThread, type StoreThread } from '../stores/sqlite/writer-thread.js'
import { createAuditLogger, type AuditLogger, type AuditLoggerStats, type DeliveryMode, type RecordResult } from './audit-logger.js'

const dir = mkdtempSync(join(tmpdir(), 'auditkit-chaos-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0

// ---- seeds: the fixed ones and one random seed per run (replay: AUDITKIT_CHAOS_SEED=<seed>) ----------------------

type Rng = SeededRandom
const seedsOf = chaosSeeds
const labelOf = seedLabel

// ---- unhandled rejections ----------------------------------------------------------------------------------------

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => void unhandled.push(reason)
beforeEach(() => {
  unhandled.length = 0
  process.on('unhandledRejection', onUnhandled)
})
afterEach(async () => {
  await sleep(20) // stray promises surface
  process.off('unhandledRejection', onUnhandled)
  expect(unhandled).toEqual([])
})

// ---- the fault-injecting store -----------------------------------------------------------------------------------

type Mode = 'healthy' | 'flaky' | 'down' | 'hang'

/** One logger's view of the store: what is injected, and what the logger must have been told. */
interface Chaos {
  mode: Mode
  /** The fault of the n-th append/init call is the n-th draw: fixed by the seed, whatever the timing. */
  rng: Rng
  /** Longest delay injected into a call that hangs (beyond the await timeout). */
  hangMs: number
  /** Rejections of append() and init() the logger saw, injected or real (SQLITE_BUSY, a killed thread). */
  failures: number
  injected: Record<string, number>
  /**
   * Ids of events that may be durable although their append failed: it failed after reaching the real store (a commit
   * whose answer was lost, a thread killed mid-batch). Shared by the loggers of a run: a killed thread fails them all.
   */
  uncertain: Set<string>
  appendsInFlight: number
  maxAppendsInFlight: number
}

function newChaos(rng: Rng, hangMs: number, uncertain: Set<string>): Chaos {
  return { mode: 'flaky', rng, hangMs, failures: 0, injected: {}, uncertain, appendsInFlight: 0, maxAppendsInFlight: 0 }
}

type AppendFault = 'ok' | 'before' | 'after' | 'delay' | 'slow-answer' | 'hang' | 'crash'

function appendFault(chaos: Chaos, canCrash: boolean): AppendFault {
  const r = chaos.rng.next()
  switch (chaos.mode) {
    case 'healthy':
      return r < 0.1 ? 'delay' : 'ok'
    case 'down':
      return r < 0.85 ? 'before' : 'hang'
    case 'hang':
      return 'hang'
    case 'flaky':
      if (r < 0.15) return 'before'
      if (r < 0.3) return 'after'
      if (r < 0.4) return 'delay'
      if (r < 0.48) return 'slow-answer'
      if (r < 0.52) return 'hang'
      if (r < 0.6 && canCrash) return 'crash'
      return 'ok'
  }
}

/**
 * `real` with a chaotic `append` and `init`. `crash`, when given, kills the writer thread the append runs on
 * (after a short random delay, so the commit may or may not have happened).
 */
function chaoticStore(real: AuditStore, chaos: Chaos, crash?: () => Promise<void>): AuditStore {
  const count = (fault: string): void => void (chaos.injected[fault] = (chaos.injected[fault] ?? 0) + 1)
  const append: AuditStore['append'] = async (events, seal) => {
    const fault = appendFault(chaos, crash !== undefined)
    count(fault)
    chaos.appendsInFlight++
    chaos.maxAppendsInFlight = Math.max(chaos.maxAppendsInFlight, chaos.appendsInFlight)
    let reached = false
    let answered = false
    try {
      if (fault === 'delay') await sleep(chaos.rng.int(1, 15))
      if (fault === 'hang') await sleep(chaos.rng.int(Math.floor(chaos.hangMs / 2), chaos.hangMs))
      if (fault === 'before') throw new Error('chaos: the store is unreachable (nothing was written)')
      if (fault === 'crash' && crash) {
        const after = chaos.rng.int(0, 4)
        // Killed while this batch is in flight (its commit may or may not have happened), not during a later one.
        void sleep(after).then(() => (answered ? undefined : crash()))
      }
      reached = true
      const sealed = await real.append(events, seal)
      answered = true
      if (fault === 'after') throw new Error('chaos: the commit went through but its answer was lost')
      if (fault === 'slow-answer') await sleep(chaos.rng.int(1, 20))
      return sealed
    } catch (error) {
      answered = true
      if (reached) for (const event of events) chaos.uncertain.add(event.id)
      chaos.failures++
      throw error
    } finally {
      chaos.appendsInFlight--
    }
  }
  let inits = 0
  return storeWithCalls(storeWithAppend(real, append), (method, call) => {
    if (method !== 'init') return call()
    return (async () => {
      const r = chaos.rng.next()
      // The first open always fails: every logger that records meets at least one failure, whatever the phases.
      const before = inits++ === 0 || (chaos.mode === 'down' || chaos.mode === 'hang' ? r < 0.9 : chaos.mode === 'flaky' ? r < 0.25 : false)
      const after = !before && chaos.mode === 'flaky' && r < 0.4
      count(before ? 'init-before' : after ? 'init-after' : 'init-ok')
      try {
        if (before) throw new Error('chaos: the store cannot open')
        await (call() as Promise<void>)
        if (after) throw new Error('chaos: the store opened, but said it failed')
      } catch (error) {
        chaos.failures++
        throw error
      }
    })()
  })
}

// ---- the run -----------------------------------------------------------------------------------------------------

type StoreKind = 'thread' | 'inline' | 'killable-thread'

interface Plan {
  seed: number
  loggers: 1 | 2
  /** Two loggers: one store object shared by both, or a store (its own connection and thread) each. */
  sharedStore: boolean
  storeKind: StoreKind
  batchSize: number
  groupCommitMs: number
  flushIntervalMs: number
  maxQueueSize: number
  awaitTimeoutMs: number
  hmacKey: string | undefined
  producers: number
  opsPerProducer: number
  /** Another connection grabs SQLite's write lock at random: the store fails for real with SQLITE_BUSY. */
  locker: boolean
  /** close() with a short timeout while the store is down: it must give up cleanly. */
  giveUp: boolean
}

function planOf(seed: number, shape: { loggers: 1 | 2; giveUp: boolean; ops: number }): Plan {
  const rng = seededRandom(seed).fork(1000)
  return {
    seed,
    loggers: shape.loggers,
    sharedStore: shape.loggers === 2 && rng.chance(0.5),
    storeKind: rng.pick<StoreKind>(['thread', 'inline', 'killable-thread']),
    batchSize: rng.pick([1, 3, 8, 25, 500]),
    groupCommitMs: rng.pick([0, 0, 2, 10]),
    flushIntervalMs: rng.pick([0, 0, 0, 5]),
    maxQueueSize: rng.int(12, 60),
    // Infinity: an `await` delivery settles only when written, or when close() gives up.
    awaitTimeoutMs: rng.chance(shape.giveUp ? 0.6 : 0.3) ? Infinity : rng.int(30, 120),
    hmacKey: rng.chance(0.5) ? `chaos-key-${seed}` : undefined,
    producers: rng.int(3, 5),
    opsPerProducer: shape.ops,
    locker: rng.chance(0.6),
    giveUp: shape.giveUp,
  }
}

const TENANTS = ['tenant-a', 'tenant-b', 'tenant-c', 'tenant-ü/😀']

/** What became of one record() call. */
interface Sent {
  k: number
  logger: number
  delivery: DeliveryMode | 'invalid'
  /** stats().accepted went up during the call: the event was queued. */
  accepted: boolean
  /** The code a refused call must reject with: `LOGGER_CLOSED` once close() was called, `QUEUE_FULL` before. */
  refusal: 'QUEUE_FULL' | 'LOGGER_CLOSED'
  /** Whether handlers were attached; a fire-and-forget call (`void record(...)`) must not cause an unhandled rejection either. */
  observed: boolean
  /** Made by onError itself: a refusal is counted in stats() but not reported back to onError (which could loop). */
  fromOnError: boolean
  /** What the promise settled with: the result, or the error code. */
  outcome: { ok: true; result: RecordResult } | { ok: false; code: string } | null
}

/** What the test saw of one logger. */
interface Observed {
  /** onError calls by code. */
  reported: Record<string, number>
  /** STORE_UNAVAILABLE reports without an attempt number: close() giving up. */
  gaveUpReports: number
  /** Ids onAppend was given (each must come exactly once). */
  appended: Map<string, number>
  listenerFailures: number
  maxQueued: number
  lastAttempt: number
  wroteSinceFailure: boolean
  problems: string[]
}

interface LoggerUnderTest extends Observed {
  index: number
  closeCalled: boolean
  logger: AuditLogger
  chaos: Chaos
}

interface Fixture {
  path: string
  stores: AuditStore[]
  threads: StoreThread[]
  inlineStores: AuditStore[]
}

function inputOf(k: number, rng: Rng): AuditEventInput {
  const input: AuditEventInput = {
    tenantId: rng.pick(TENANTS),
    actor: { type: rng.pick(['user', 'api_key', 'system'] as const), id: `actor-${rng.int(0, 5)}`, name: 'Chaos' },
    action: rng.pick(['project_created', 'project_updated', 'member_removed']),
    // The marker: each record() call has its own, so a duplicate or a loss shows whatever id the event got.
    resource: { type: 'project', id: `m-${k}` },
    outcome: rng.chance(0.1) ? 'failure' : 'success',
    metadata: { k, token: 'hunter2' },
  }
  if (rng.chance(0.3)) input.changes = { before: { password: 'hunter2', n: k }, after: { n: k + 1 } }
  return input
}

async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`chaos: ${what} did not settle within ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

async function openStores(plan: Plan, path: string): Promise<{ fixture: Fixture; make: (chaos: Chaos) => AuditStore }> {
  // The file is created (in WAL mode) first, so that the checking connection can open it before any logger runs.
  const setup = createSqliteStore({ path, writer: 'inline', reader: 'inline' })
  await setup.init()
  await setup.close()
  const fixture: Fixture = { path, stores: [], threads: [], inlineStores: [] }
  const busyTimeoutMs = plan.storeKind === 'inline' ? 3 : 10
  const realStore = (): { store: AuditStore; crash?: () => Promise<void> } => {
    if (plan.storeKind === 'killable-thread') {
      const thread = createWriterThread({ path, busyTimeoutMs, cacheSizeKiB: 2048, searchIndex: false })
      if (thread === null) throw new Error('chaos: no writer thread entry')
      const inline = createSqliteStore({ path, writer: 'inline', reader: 'inline', busyTimeoutMs })
      fixture.threads.push(thread)
      fixture.inlineStores.push(inline)
      const store = storeWithAppend(inline, (events, seal) => thread.append(events, sealerKeyOf(seal)?.hmacKey))
      // Killed only without a second writer: Worker.terminate() while a libsql call in the thread fails (SQLITE_BUSY
      // under contention) makes the driver panic (libsql-js errors.rs unwraps a JsError it cannot create in a
      // terminating isolate), which aborts the whole process. Production never terminates the thread; see the report.
      return plan.loggers === 1 && !plan.locker ? { store, crash: () => thread.terminate() } : { store }
    }
    const store = createSqliteStore({ path, writer: plan.storeKind, reader: 'inline', busyTimeoutMs })
    fixture.stores.push(store)
    return { store }
  }
  let shared: { store: AuditStore; crash?: () => Promise<void> } | null = null
  const make = (chaos: Chaos): AuditStore => {
    const real = plan.sharedStore ? (shared ??= realStore()) : realStore()
    return chaoticStore(real.store, chaos, real.crash)
  }
  return { fixture, make }
}

async function closeFixture(fixture: Fixture): Promise<void> {
  for (const store of fixture.stores) await store.close()
  for (const thread of fixture.threads) await thread.close()
  for (const store of fixture.inlineStores) await store.close()
}

interface RunResult {
  plan: Plan
  loggers: LoggerUnderTest[]
  sent: Sent[]
  closeOutcome: ('resolved' | string)[]
}

async function runChaos(plan: Plan): Promise<RunResult> {
  const path = join(dir, `chaos-${plan.seed}-${++files}.db`)
  const root = seededRandom(plan.seed)
  const { fixture, make } = await openStores(plan, path)

  // The checking connection: what is durable, read straight from the file.
  const reader = new Database(path)
  reader.exec('PRAGMA busy_timeout = 5000')
  const countIds = reader.prepare('SELECT count(*) AS n FROM events WHERE id IN (SELECT value FROM json_each(?))')
  const countMarkers = reader.prepare('SELECT count(*) AS n FROM events WHERE resource_id IN (SELECT value FROM json_each(?))')
  const durableIds = (ids: readonly string[]): number => (countIds.get([JSON.stringify(ids)]) as { n: number }).n
  const durableMarkers = (ks: readonly number[]): number => (countMarkers.get([JSON.stringify(ks.map((k) => `m-${k}`))]) as { n: number }).n

  const sent: Sent[] = []
  const settlements: Promise<unknown>[] = []
  const loggers: LoggerUnderTest[] = []
  const uncertain = new Set<string>()
  for (let index = 0; index < plan.loggers; index++) {
    const chaos = newChaos(root.fork(100 + index), Number.isFinite(plan.awaitTimeoutMs) ? Math.max(60, plan.awaitTimeoutMs * 2) : 150, uncertain)
    const errorRng = root.fork(200 + index)
    const listenerRng = root.fork(300 + index)
    const seen: Observed = {
      reported: {},
      gaveUpReports: 0,
      appended: new Map(),
      listenerFailures: 0,
      maxQueued: 0,
      lastAttempt: 0,
      wroteSinceFailure: false,
      problems: [],
    }
    const logger = createAuditLogger({
      store: make(chaos),
      batchSize: plan.batchSize,
      groupCommitMs: plan.groupCommitMs,
      flushIntervalMs: plan.flushIntervalMs,
      maxQueueSize: plan.maxQueueSize,
      awaitTimeoutMs: plan.awaitTimeoutMs,
      retry: { initialDelayMs: 1, maxDelayMs: 25 },
      hmacKey: plan.hmacKey,
      onError: (error, info) => {
        seen.reported[error.code] = (seen.reported[error.code] ?? 0) + 1
        seen.maxQueued = Math.max(seen.maxQueued, info.queued)
        if (info.queued > plan.maxQueueSize) seen.problems.push(`onError saw ${info.queued} queued > maxQueueSize ${plan.maxQueueSize}`)
        if (error.code === 'STORE_UNAVAILABLE' && info.attempt === undefined) seen.gaveUpReports++
        if (info.attempt !== undefined) {
          // Consecutive failures count up; a successful write starts the count over.
          const expected = seen.wroteSinceFailure ? 1 : seen.lastAttempt + 1
          if (info.attempt !== expected) seen.problems.push(`attempt ${info.attempt} reported, ${expected} expected`)
          seen.lastAttempt = info.attempt
          seen.wroteSinceFailure = false
        }
        // An onError that records the failure as an audit event of its own, from inside the failing write.
        const self = loggers[index]
        if (info.attempt !== undefined && self && errorRng.chance(0.2)) void record(self, errorRng, 'async', true, true)
        // A misbehaving onError: it throws, or is async and rejects. Neither may break anything.
        const r = errorRng.next()
        if (r < 0.15) throw new Error('chaos: onError throws')
        if (r < 0.3) return Promise.reject(new Error('chaos: async onError rejects'))
        return undefined
      },
    })
    // The checking listener: each batch is durable when announced, and no event is announced twice.
    logger.onAppend((events: readonly AuditEvent[]) => {
      seen.wroteSinceFailure = true
      const ids = events.map((event) => event.id)
      const durable = durableIds(ids)
      if (durable !== ids.length) seen.problems.push(`onAppend announced ${ids.length} events, only ${durable} are in the file`)
      for (const id of ids) seen.appended.set(id, (seen.appended.get(id) ?? 0) + 1)
    })
    // A misbehaving listener (an exporter): throws, or rejects; or re-enters the logger while it is writing.
    logger.onAppend(() => {
      const self = loggers[index]
      if (self && listenerRng.chance(0.05)) void record(self, listenerRng, 'await')
      if (self && listenerRng.chance(0.05)) void flush(self)
      const r = listenerRng.next()
      if (r < 0.1) {
        seen.listenerFailures++
        throw new Error('chaos: listener throws')
      }
      if (r < 0.2) {
        seen.listenerFailures++
        return Promise.reject(new Error('chaos: async listener rejects'))
      }
      return undefined
    })
    loggers.push(Object.assign(seen, { index, logger, chaos, closeCalled: false }))
  }

  const sampleQueue = (under: LoggerUnderTest): void => {
    const queued = under.logger.stats().queued
    under.maxQueued = Math.max(under.maxQueued, queued)
    if (queued > plan.maxQueueSize) under.problems.push(`stats().queued ${queued} > maxQueueSize ${plan.maxQueueSize}`)
  }

  let nextK = 0
  const record = (under: LoggerUnderTest, rng: Rng, delivery: DeliveryMode | 'invalid', observed = true, fromOnError = false): Promise<unknown> => {
    const k = nextK++
    const input = inputOf(k, rng)
    if (delivery === 'invalid') input.action = 'Not A Valid Action'
    const before = under.logger.stats().accepted
    const entry: Sent = { k, logger: under.index, delivery, accepted: false, refusal: under.closeCalled ? 'LOGGER_CLOSED' : 'QUEUE_FULL', observed, fromOnError, outcome: null }
    const promise = under.logger.record(input, { delivery: delivery === 'await' ? 'await' : 'async' })
    entry.accepted = under.logger.stats().accepted === before + 1
    sent.push(entry)
    sampleQueue(under)
    if (!observed) return Promise.resolve()
    const settled = promise.then(
      (result) => {
        entry.outcome = { ok: true, result }
        if (delivery === 'await') {
          // Resolved: durable now, with the stored event.
          if (durableIds([result.id]) !== 1) under.problems.push(`await record m-${k} resolved before its event was durable`)
          if (result.event?.id !== result.id) under.problems.push(`await record m-${k} resolved without its sealed event`)
        }
      },
      (error: unknown) => {
        entry.outcome = { ok: false, code: isAuditKitError(error) ? error.code : `not an AuditKitError: ${String(error)}` }
      },
    )
    settlements.push(settled)
    return settled
  }

  const flush = (under: LoggerUnderTest): Promise<unknown> => {
    // Every event queued before the call must be durable once it resolves.
    const before = sent.filter((s) => s.logger === under.index && s.accepted).map((s) => s.k)
    const settled = under.logger.flush().then(
      () => {
        const durable = durableMarkers(before)
        if (durable !== before.length) under.problems.push(`flush() resolved with ${before.length - durable} earlier events not durable`)
      },
      (error: unknown) => {
        const code = isAuditKitError(error) ? error.code : String(error)
        if (!(plan.giveUp && code === 'STORE_UNAVAILABLE')) under.problems.push(`flush() rejected with ${code}`)
      },
    )
    settlements.push(settled)
    return settled
  }

  // The conductor: the store's health changes in phases (down long enough to fill the queue).
  let running = true
  const conductor = (async () => {
    const rng = root.fork(400)
    while (running) {
      const mode = rng.pick<Mode>(['healthy', 'flaky', 'flaky', 'down', 'hang'])
      for (const under of loggers) under.chaos.mode = mode
      await sleep(mode === 'hang' ? rng.int(5, 30) : rng.int(10, 80))
    }
  })()

  // The locker: another connection takes SQLite's write lock for a while now and then.
  const locker = (async () => {
    if (!plan.locker) return
    const rng = root.fork(500)
    const blocker = new Database(path)
    blocker.exec('PRAGMA busy_timeout = 200')
    try {
      while (running) {
        await sleep(rng.int(5, 60))
        if (!running) break
        try {
          blocker.exec('BEGIN IMMEDIATE')
        } catch {
          continue
        }
        await sleep(rng.int(2, 40))
        blocker.exec('COMMIT')
      }
    } finally {
      blocker.close()
    }
  })()

  const producer = async (p: number): Promise<void> => {
    const rng = root.fork(p)
    for (let op = 0; op < plan.opsPerProducer; op++) {
      const under = rng.pick(loggers)
      const r = rng.next()
      if (r < 0.45) {
        const settled = record(under, rng, 'async', rng.chance(0.75))
        if (rng.chance(0.3)) await settled
      } else if (r < 0.65) {
        const settled = record(under, rng, 'await', rng.chance(0.85))
        if (rng.chance(0.6)) await settled
      } else if (r < 0.68) {
        void record(under, rng, 'invalid', rng.chance(0.5))
      } else if (r < 0.76) {
        if (rng.chance(0.2)) void under.logger.flush()
        const settled = flush(under)
        if (rng.chance(0.5)) await settled
      } else if (r < 0.92) {
        await sleep(rng.int(0, 12))
      } else {
        // A burst: more than the queue holds while the store is down.
        const n = rng.int(5, plan.maxQueueSize + 10)
        for (let i = 0; i < n; i++) void record(under, rng, rng.chance(0.8) ? 'async' : 'await', rng.chance(0.7))
      }
    }
  }
  await Promise.all(Array.from({ length: plan.producers }, (_, p) => producer(p)))

  const closeOutcome: string[] = []
  const closeRng = root.fork(600)
  running = false
  await conductor
  await locker
  if (plan.giveUp) {
    // Queue some more, then take the store down for good and close with a short timeout.
    for (const under of loggers) for (let i = 0; i < 5; i++) void record(under, closeRng, closeRng.chance(0.5) ? 'async' : 'await')
    for (const under of loggers) under.chaos.mode = closeRng.chance(0.5) ? 'down' : 'hang'
  } else {
    for (const under of loggers) under.chaos.mode = closeRng.chance(0.5) ? 'healthy' : 'flaky'
  }
  const closing = loggers.map(async (under) => {
    const timeoutMs = plan.giveUp ? closeRng.int(10, 60) : 20_000
    under.closeCalled = true
    const first = under.logger.close({ timeoutMs })
    // Whatever arrives while closing is refused (LOGGER_CLOSED), and counted.
    void record(under, closeRng, 'async')
    void record(under, closeRng, 'await')
    // A second close() meanwhile: it settles like the first (its rejection handled at once, as close() documents one).
    const second = closeRng.chance(0.5) ? under.logger.close({ timeoutMs }).catch(() => undefined) : null
    try {
      await first
      closeOutcome[under.index] = 'resolved'
    } catch (error) {
      closeOutcome[under.index] = isAuditKitError(error) ? error.code : String(error)
      await sleep(0)
      // Given up: every `await` delivery was told at once, but those of the write in flight (it may still land),
      // however long that write takes (awaitTimeoutMs may be Infinity).
      const waiting = sent.filter((s) => s.logger === under.index && s.observed && s.accepted && s.delivery === 'await' && s.outcome === null)
      if (waiting.length > (under.chaos.appendsInFlight > 0 ? plan.batchSize : 0))
        under.problems.push(`close() gave up, ${waiting.length} await deliveries still waiting (${under.chaos.appendsInFlight} writes in flight)`)
    }
    if (second) await second
    if (closeOutcome[under.index] === 'resolved') {
      // close() resolved: everything accepted is durable now.
      const accepted = sent.filter((s) => s.logger === under.index && s.accepted).map((s) => s.k)
      const durable = durableMarkers(accepted)
      if (durable !== accepted.length) under.problems.push(`close() resolved with ${accepted.length - durable} accepted events not durable`)
    } else {
      await flush(under)
    }
  })
  await withDeadline(Promise.all(closing), 15_000, 'close()')
  await withDeadline(Promise.all(settlements), 15_000, 'every record() and flush() promise')

  if (plan.giveUp) {
    // Having given up, nothing more is written, even once the store is healthy again (a write in flight may land).
    await withDeadline(
      (async () => {
        while (loggers.some((under) => under.chaos.appendsInFlight > 0)) await sleep(5)
      })(),
      15_000,
      'the writes in flight',
    )
    for (const under of loggers) under.chaos.mode = 'healthy'
    const before = (reader.prepare('SELECT count(*) AS n FROM events').get([]) as { n: number }).n
    const written = loggers.map((under) => under.logger.stats().written)
    await sleep(80)
    expect((reader.prepare('SELECT count(*) AS n FROM events').get([]) as { n: number }).n).toBe(before)
    expect(loggers.map((under) => under.logger.stats().written)).toEqual(written)
  }

  reader.close()
  await closeFixture(fixture)
  if (process.env.AUDITKIT_CHAOS_VERBOSE)
    console.log(
      JSON.stringify({
        seed: plan.seed,
        storeKind: plan.storeKind,
        loggers: plan.loggers,
        sharedStore: plan.sharedStore,
        batchSize: plan.batchSize,
        close: closeOutcome,
        perLogger: loggers.map((under) => ({ stats: { ...under.logger.stats(), lastError: undefined }, reported: under.reported, injected: under.chaos.injected })),
        outcomes: sent.reduce<Record<string, number>>((counts, s) => {
          const key = `${s.delivery}:${s.outcome === null ? 'pending' : s.outcome.ok ? 'ok' : s.outcome.code}`
          counts[key] = (counts[key] ?? 0) + 1
          return counts
        }, {}),
      }),
    )
  await checkFile(plan, path, loggers, sent, closeOutcome)
  return { plan, loggers, sent, closeOutcome }
}

async function checkFile(plan: Plan, path: string, loggers: LoggerUnderTest[], sent: Sent[], closeOutcome: string[]): Promise<void> {
  const context = `${JSON.stringify(plan)} close=${JSON.stringify(closeOutcome)}`
  for (const under of loggers) expect(under.problems, `logger ${under.index}: ${context}`).toEqual([])

  // Every record() promise settled, and its outcome agrees with whether it was queued.
  const acceptedCodes = plan.giveUp ? ['AWAIT_TIMEOUT', 'STORE_UNAVAILABLE'] : ['AWAIT_TIMEOUT']
  for (const s of sent) {
    if (!s.observed) continue
    expect(s.outcome, `m-${s.k} never settled`).not.toBeNull()
    const outcome = s.outcome
    if (outcome === null) continue
    if (s.delivery === 'invalid') expect(outcome).toEqual({ ok: false, code: 'INVALID_EVENT' })
    else if (s.accepted) {
      if (!outcome.ok) expect(acceptedCodes, `m-${s.k} (${s.delivery}) was queued, then ${outcome.code}`).toContain(outcome.code)
      if (!outcome.ok && outcome.code === 'STORE_UNAVAILABLE') expect(s.delivery).toBe('await')
    } else {
      expect(outcome, `m-${s.k} was not queued`).toEqual({ ok: false, code: s.refusal })
    }
  }

  const verifier = createSqliteStore({ path, writer: 'inline', reader: 'inline' })
  try {
    const chains = await verifier.listChains()
    const stored: AuditEvent[] = []
    for (const chainId of chains) {
      const count = await expectIntactChain(verifier, chainId, plan.hmacKey)
      const verification = await verifyChain({ source: verifier, chainId, hmacKey: plan.hmacKey })
      expect(verification.ok, `${chainId}: ${JSON.stringify(verification.firstBreak)} ${context}`).toBe(true)
      const events = await verifier.readChain(chainId, 0, 1_000_000)
      expect(events).toHaveLength(count)
      stored.push(...events)
    }
    // Nothing written twice: one row per marker (and per id, which the unique index guarantees anyway).
    const byMarker = new Map<string, AuditEvent[]>()
    for (const event of stored) byMarker.set(event.resource.id ?? '', [...(byMarker.get(event.resource.id ?? '') ?? []), event])
    const duplicated = [...byMarker].filter(([, events]) => events.length > 1).map(([marker]) => marker)
    expect(duplicated, context).toEqual([])
    // Redacted before it reached the store, retries included.
    expect(stored.filter((event) => JSON.stringify(event).includes('hunter2'))).toEqual([])

    for (const under of loggers) {
      const mine = sent.filter((s) => s.logger === under.index)
      const accepted = mine.filter((s) => s.accepted)
      const stats: AuditLoggerStats = under.logger.stats()
      const code = (c: string): number => mine.filter((s) => s.outcome !== null && !s.outcome.ok && s.outcome.code === c).length
      const refused = (c: Sent['refusal']): number => mine.filter((s) => !s.accepted && s.delivery !== 'invalid' && s.refusal === c).length
      const where = `logger ${under.index}: stats ${JSON.stringify(stats)} reported ${JSON.stringify(under.reported)} injected ${JSON.stringify(under.chaos.injected)} ${context}`
      // Every onAppend id once, and as many as `written`.
      expect([...under.appended.values()].filter((n) => n !== 1), where).toEqual([])
      expect(under.appended.size, where).toBe(stats.written)
      expect(stats, where).toMatchObject({
        accepted: accepted.length,
        invalid: mine.filter((s) => s.delivery === 'invalid').length,
        rejected: refused('QUEUE_FULL') + refused('LOGGER_CLOSED'),
        writeFailures: under.chaos.failures,
        captureFailures: 0,
      })
      // Fire-and-forget `await` deliveries may time out unseen: at least the ones seen.
      expect(stats.awaitTimeouts, where).toBeGreaterThanOrEqual(code('AWAIT_TIMEOUT'))
      // Surfaced: every refusal, failed write, timeout and failing listener was told to onError.
      // ... except the refusals of onError's own records, which are only counted (above).
      const reportedRefusals = (c: Sent['refusal']): number => mine.filter((s) => !s.accepted && s.delivery !== 'invalid' && !s.fromOnError && s.refusal === c).length
      expect(under.reported.QUEUE_FULL ?? 0, where).toBe(reportedRefusals('QUEUE_FULL'))
      expect(under.reported.LOGGER_CLOSED ?? 0, where).toBe(reportedRefusals('LOGGER_CLOSED'))
      expect(under.reported.INVALID_EVENT ?? 0, where).toBe(stats.invalid)
      expect(under.reported.AWAIT_TIMEOUT ?? 0, where).toBe(stats.awaitTimeouts)
      expect(under.reported.INTERNAL ?? 0, where).toBe(under.listenerFailures)
      const gaveUp = closeOutcome[under.index] !== 'resolved'
      expect((under.reported.STORE_UNAVAILABLE ?? 0) - under.gaveUpReports, where).toBe(stats.writeFailures)
      expect(under.gaveUpReports > 0, where).toBe(gaveUp)
      expect(under.maxQueued, where).toBeLessThanOrEqual(plan.maxQueueSize)
      // One write at a time per logger.
      if (!plan.sharedStore) expect(under.chaos.maxAppendsInFlight, where).toBeLessThanOrEqual(1)

      for (const s of accepted) {
        const rows = byMarker.get(`m-${s.k}`) ?? []
        const outcome = s.outcome
        if (!gaveUp) expect(rows, `accepted m-${s.k} (${s.delivery}) not stored exactly once; ${where}`).toHaveLength(1)
        if (outcome?.ok) {
          if (rows[0]) expect(rows[0].id).toBe(outcome.result.id)
          if (outcome.result.event) expect(rows[0], `m-${s.k}: await resolved with another event than the stored one`).toEqual(outcome.result.event)
        }
        if (gaveUp && rows[0] && !under.appended.has(rows[0].id)) {
          // Stored but never counted as written: only an append whose outcome the logger could not know.
          expect(under.chaos.uncertain.has(rows[0].id), `m-${s.k} stored, not counted written, not uncertain; ${where}`).toBe(true)
        }
      }
      if (!gaveUp) expect(stats, where).toMatchObject({ written: accepted.length, queued: 0 })
      else expect(stats.written + stats.queued, where).toBe(accepted.length)
    }
    // Nothing that was refused is stored; nothing stored that nobody recorded.
    const acceptedMarkers = new Set(sent.filter((s) => s.accepted).map((s) => `m-${s.k}`))
    expect([...byMarker.keys()].filter((marker) => !acceptedMarkers.has(marker)), context).toEqual([])
  } finally {
    await verifier.close()
  }
}

// ---- the tests ---------------------------------------------------------------------------------------------------

describe('audit logger chaos: one logger, a failing store', () => {
  for (const seed of seedsOf([1, 2, 3, 4, 5, 6])) {
    it(`loses, duplicates and hides nothing (${labelOf(seed)})`, async () => {
      const { loggers } = await runChaos(planOf(seed, { loggers: 1, giveUp: false, ops: 40 }))
      // The chaos did happen (the plan is seeded: a seed without failures would test nothing).
      expect(loggers[0]?.logger.stats().writeFailures).toBeGreaterThan(0)
    })
  }
})

describe('audit logger chaos: two loggers on one file', () => {
  for (const seed of seedsOf([11, 12, 13])) {
    it(`keeps every chain gapless and linked (${labelOf(seed)})`, async () => {
      await runChaos(planOf(seed, { loggers: 2, giveUp: false, ops: 35 }))
    })
  }
})

describe('audit logger chaos: close() gives up while the store is down', () => {
  for (const seed of seedsOf([21, 22, 23])) {
    it(`settles every promise, writes nothing after, loses nothing silently (${labelOf(seed)})`, async () => {
      await runChaos(planOf(seed, { loggers: seededRandom(seed).next() < 0.5 ? 1 : 2, giveUp: true, ops: 25 }))
    })
  }
})

// ---- regressions found by the chaos runs -------------------------------------------------------------------------

describe('audit logger chaos: regressions', () => {
  const input: AuditEventInput = {
    tenantId: 'tenant-r',
    actor: { type: 'user', id: 'u' },
    action: 'project_updated',
    resource: { type: 'project', id: 'p' },
    outcome: 'success',
  }

  it('once close() gave up, tells at once every waiter the write in flight cannot serve, even if that write never ends', async () => {
    const real = createSqliteStore({ path: ':memory:' })
    // The first append hangs (a store call with no timeout of its own) until released; later ones would succeed.
    let release: () => void = () => undefined
    let appends = 0
    const store = storeWithAppend(real, async (events, seal) => {
      if (appends++ === 0) await new Promise<void>((resolve) => (release = resolve))
      return real.append(events, seal)
    })
    const logger = createAuditLogger({ store, onError: () => undefined, awaitTimeoutMs: Infinity })
    const outcome = (promise: Promise<unknown>): { settled: string } => {
      const seen = { settled: 'pending' }
      promise.then(
        () => void (seen.settled = 'resolved'),
        (error: unknown) => void (seen.settled = isAuditKitError(error) ? error.code : String(error)),
      )
      return seen
    }
    const inFlight = outcome(logger.record(input, { delivery: 'await' }))
    while (appends === 0) await sleep(1) // its batch is now the write in flight
    const queued = outcome(logger.record(input, { delivery: 'await' }))
    const flushAll = outcome(logger.flush())
    await expect(logger.close({ timeoutMs: 30 })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
    const flushAfter = outcome(logger.flush())
    await sleep(20)
    // The second event is not in the write in flight and will never be written: its waiters must not wait for it.
    expect({ queued: queued.settled, flushAll: flushAll.settled, flushAfter: flushAfter.settled }).toEqual({
      queued: 'STORE_UNAVAILABLE',
      flushAll: 'STORE_UNAVAILABLE',
      flushAfter: 'STORE_UNAVAILABLE',
    })
    // The write in flight may still land: its own waiter is settled by it.
    expect(inFlight.settled).toBe('pending')
    release()
    await sleep(20)
    expect(inFlight.settled).toBe('resolved')
    expect(logger.stats()).toMatchObject({ accepted: 2, written: 1, queued: 1 })
    expect(await real.chainHead('tenant-r')).toMatchObject({ seq: 1 })
    await real.close()
  })
})
