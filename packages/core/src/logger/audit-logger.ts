import { AsyncLocalStorage } from 'node:async_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { AuditKitError, isAuditKitError } from '../errors.js'
import type { AuditEvent, AuditEventInput, UnsealedEvent } from '../event/schema.js'
import { createEventValidator, resolveEventLimits } from '../event/schema.js'
import type { EventLimits } from '../event/limits.js'
import { uuidv7 } from '../ids/uuidv7.js'
import { createSealer } from '../integrity/hash.js'
import { createRedaction, type RedactionOptions } from '../redaction/redact.js'
import type { AuditStore } from '../store/types.js'

export type DeliveryMode = 'async' | 'await'

export interface RetryOptions {
  /**
   * First delay after a failed write.
   * @default 100
   */
  initialDelayMs?: number
  /**
   * Longest delay between attempts; retries never stop while events are queued.
   * @default 30000
   */
  maxDelayMs?: number
}

export interface AuditLoggerOptions {
  /** Where events are written, e.g. `createSqliteStore({ path })`. Required. */
  store: AuditStore
  /**
   * Which keys are redacted from `changes` and `metadata`, at any depth, before hashing.
   * @default { keys: DEFAULT_REDACT_KEYS }
   */
  redact?: RedactionOptions
  /**
   * Size bounds; larger events are rejected with `PAYLOAD_TOO_LARGE`.
   * @default DEFAULT_EVENT_LIMITS
   */
  limits?: Partial<EventLimits>
  /**
   * Most events written in one store transaction (group commit).
   * @default 500
   */
  batchSize?: number
  /**
   * How long a partial batch may wait for company before it is written; 0 writes at the end of the current tick.
   * @default 0
   */
  flushIntervalMs?: number
  /**
   * Least time between the end of one store write and the start of the next (group commit). A lone event is
   * written at once; under load, events arriving meanwhile share the next transaction, so the fixed cost of a
   * commit is paid once per batch instead of once per request. `await` delivery waits at most this much longer.
   * @default 10
   */
  groupCommitMs?: number
  /**
   * Most events held in memory while the store is slow or down. When full, `record()` rejects new events with
   * `QUEUE_FULL` (counted in `stats().rejected`, reported to `onError`); queued events are never dropped.
   * @default 100000
   */
  maxQueueSize?: number
  /**
   * Backoff between failed writes (exponential with full jitter).
   * @default { initialDelayMs: 100, maxDelayMs: 30000 }
   */
  retry?: RetryOptions
  /**
   * In `await` delivery, how long `record()` waits for durability before rejecting with `AWAIT_TIMEOUT`
   * (the event stays queued and is still written); `Infinity` waits as long as it takes.
   * @default 10000
   */
  awaitTimeoutMs?: number
  /**
   * Key for HMAC-SHA-256 event hashes: a non-empty string (its UTF-8 bytes) or Buffer; the same bytes in either form
   * make the same chain. Keep it outside the database so that whoever can edit rows cannot recompute the chain.
   * @default undefined (plain SHA-256)
   */
  hmacKey?: string | Buffer
  /**
   * The server clock. Events are stamped with it, never with a client's time.
   * @default () => new Date()
   */
  clock?: () => Date
  /**
   * Told about every problem: invalid events, full queue, failed writes (with the attempt number). A `record()` made
   * from inside `onError` (also after an `await` there) that is refused is counted in `stats()` but not reported again,
   * so that recording the problem itself cannot loop while, say, the queue is full.
   * @default logs to console.error
   */
  onError?: (error: AuditKitError, info: AuditLoggerErrorInfo) => void
}

/** What the logger's `onError` is told besides the error. */
export interface AuditLoggerErrorInfo {
  /** How many store writes (or `init()` calls) in a row have failed, 1 for the first; present for failed writes only. */
  attempt?: number
  /** Events waiting to be written when the problem was reported. */
  queued: number
}

export interface RecordOptions {
  /**
   * `await` resolves only once the event is durable in the store; `async` resolves once it is queued.
   * @default 'async'
   */
  delivery?: DeliveryMode
}

export interface RecordResult {
  id: string
  occurredAt: string
  /** The stored event, present in `await` delivery. */
  event?: AuditEvent
}

export interface AuditLoggerStats {
  /** Events accepted into the queue. */
  accepted: number
  /** Events durably written. */
  written: number
  /** Events waiting to be written. */
  queued: number
  /** Events refused by validation. */
  invalid: number
  /** Events refused because the queue was full, the logger was closed, or the `clock` option failed. */
  rejected: number
  /** Failed store writes (each retried). */
  writeFailures: number
  /** Requests whose capture failed before the pipeline (a resolver threw), reported through `report()`. */
  captureFailures: number
  /**
   * `await` deliveries that gave up waiting (`AWAIT_TIMEOUT`): the caller was told the event was not durable yet; it
   * stayed queued and is counted in `written` once it is.
   */
  awaitTimeouts: number
  lastError: { code: string; message: string; at: string } | null
}

export interface AuditLogger {
  /** Validates, redacts, stamps and queues one event. Rejects with `AuditKitError`; never causes an unhandled rejection. */
  record(input: AuditEventInput, options?: RecordOptions): Promise<RecordResult>
  /** Resolves when every event queued before the call is durable (writing them now); rejects if `close()` gave up. */
  flush(): Promise<void>
  /**
   * Stops accepting events and writes what is queued; rejects with `STORE_UNAVAILABLE` if that fails within `timeoutMs`
   * (default 30000; `Infinity` waits as long as it takes). Having given up, it writes nothing more: waiting `flush()`
   * calls and `await` deliveries reject with the same error. The store is not closed: whoever created it closes it.
   */
  close(options?: { timeoutMs?: number }): Promise<void>
  /** Called with each batch once durable (exporters and checkpoints listen here). Returns an unsubscribe function. */
  onAppend(listener: (events: readonly AuditEvent[]) => void): () => void
  stats(): AuditLoggerStats
  /** The event size bounds in force (`limits` over the defaults): what a capture clips request facts to. */
  readonly limits: EventLimits
  /**
   * How this logger redacts: whether a key names a secret, and what is written instead. The request capture applies
   * it to route parameters (`/invitations/:token/accept`), whose values would otherwise be the resource id and the path.
   */
  readonly redaction: { isSecretKey(key: string): boolean; replacement: string }
  /**
   * Reports a problem found outside the pipeline (adapters: a resolver that threw) to `onError` and counts it in
   * `stats().captureFailures`, so that no failure is only a console line.
   */
  report(error: AuditKitError): void
  readonly store: AuditStore
}

interface Pending {
  event: UnsealedEvent
  resolve?: (event: AuditEvent) => void
  reject?: (error: AuditKitError) => void
}

const noop = (): void => {}

/** 10000-01-01T00:00:00.000Z: clock times from 0 up to this one make a UUIDv7 and a 4-digit-year `occurredAt`. */
const LAST_ISO_MS = Date.UTC(10_000, 0, 1)

/** Longest delay `setTimeout` honours; a longer one (or Infinity) fires after 1 ms instead. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** Whether a timeout is finite enough to need a timer; `Infinity` (or anything beyond a timer's range) waits forever. */
const bounded = (ms: number): boolean => ms <= MAX_TIMER_MS

/** Creates the one pipeline every event goes through: validate, redact, stamp, batch, hash-chain, write. */
export function createAuditLogger(options: AuditLoggerOptions): AuditLogger {
  const { store } = options
  const batchSize = positive(options.batchSize ?? 500, 'batchSize')
  const maxQueueSize = positive(options.maxQueueSize ?? 100_000, 'maxQueueSize')
  const flushIntervalMs = options.flushIntervalMs ?? 0
  const groupCommitMs = Math.max(0, options.groupCommitMs ?? 10)
  const initialDelayMs = options.retry?.initialDelayMs ?? 100
  const maxDelayMs = options.retry?.maxDelayMs ?? 30_000
  const awaitTimeoutMs = options.awaitTimeoutMs ?? 10_000
  const clock = options.clock ?? (() => new Date())
  const limits = resolveEventLimits(options.limits)
  const validate = createEventValidator(limits)
  const { redact, ...redaction } = createRedaction(options.redact)
  const seal = createSealer(hmacKeyOf(options.hmacKey))
  const onError =
    options.onError ?? ((error: AuditKitError) => console.error(`[auditkit] ${error.code}: ${error.message}`))

  const queue: Pending[] = []
  const listeners = new Set<(events: readonly AuditEvent[]) => void>()
  const flushWaiters: { target: number; resolve: () => void; reject: (error: AuditKitError) => void }[] = []
  const stats: AuditLoggerStats = { accepted: 0, written: 0, queued: 0, invalid: 0, rejected: 0, writeFailures: 0, captureFailures: 0, awaitTimeouts: 0, lastError: null }
  let writing = false
  /** Events of the store write in flight (the head of the queue), 0 while none is: all it can still make durable. */
  let inFlight = 0
  let scheduled = false
  let closed = false
  /** The error close() gave up with (nothing more is written): what flush() and waiting `await` deliveries are told. */
  let gaveUp: AuditKitError | null = null
  /** Cuts a backoff short once close() gives up, so that no retry timer keeps the process alive after it. */
  const stopRetrying = new AbortController()
  /** The timer of a scheduled drain, cancelled when flush() wants the queue written now. */
  let drainTimer: NodeJS.Timeout | undefined
  let initialised: Promise<void> | null = null
  /** Consecutive failed writes (or failed opens); the backoff grows with it across drains. */
  let attempt = 0
  /** Why the last write (or open) failed, while writes fail: what close() says when it gives up (a full disk, ...). */
  let writeError: AuditKitError | null = null
  let lastWriteEndedAt = Number.NEGATIVE_INFINITY // no write yet: a lone first event is written at once

  /** Set while `onError` runs, through its awaits: a refusal of a record() it makes is not reported back to it. */
  const insideOnError = new AsyncLocalStorage<true>()
  const noteLastError = (error: AuditKitError): void => {
    stats.lastError = { code: error.code, message: error.message, at: new Date().toISOString() }
  }
  const report = (error: AuditKitError, attempt?: number): void => {
    noteLastError(error)
    try {
      const info = attempt === undefined ? { queued: queue.length } : { attempt, queued: queue.length }
      const result: unknown = insideOnError.run(true, () => onError(error, info))
      // An async onError (`async (error) => alerting.send(error)`) that rejects must not crash the process either.
      if (isThenable(result)) Promise.resolve(result).catch(noop)
    } catch {
      // A throwing onError must not break the pipeline.
    }
  }

  const settleFlushWaiters = (): void => {
    for (let i = flushWaiters.length - 1; i >= 0; i--) {
      const waiter = flushWaiters[i]
      if (waiter && stats.written >= waiter.target) {
        flushWaiters.splice(i, 1)
        waiter.resolve()
      }
    }
  }

  const run = (): void => {
    scheduled = false
    drainTimer = undefined
    void drain()
  }

  const schedule = (): void => {
    if (writing) return
    // The write loop (and what its listeners start) must not run as part of an onError that happened to schedule it.
    if (insideOnError.getStore()) return insideOnError.exit(schedule)
    // A flush() or close() waiting is written at once, not after flushIntervalMs (which may exceed close's timeout); so
    // is a full batch, also one that filled up while a timer for its first events ran (it has all the company it can).
    const urgent = flushWaiters.length > 0 || queue.length >= batchSize
    if (scheduled) {
      if (!urgent || drainTimer === undefined) return
      clearTimeout(drainTimer)
      drainTimer = undefined
      setImmediate(run)
      return
    }
    scheduled = true
    if (urgent) setImmediate(run)
    else if (flushIntervalMs > 0) drainTimer = setTimeout(run, flushIntervalMs)
    else {
      const wait = lastWriteEndedAt + groupCommitMs - performance.now()
      if (wait > 0) drainTimer = setTimeout(run, wait)
      else setImmediate(run)
    }
  }

  const backOff = (attempt: number): Promise<void> => sleep(backoff(attempt), undefined, { signal: stopRetrying.signal }).catch(noop)

  async function drain(): Promise<void> {
    if (writing || gaveUp) return
    writing = true
    try {
      initialised ??= store.init()
      await initialised
    } catch (error) {
      initialised = null
      attempt++
      stats.writeFailures++
      writeError = toStoreError(error, store.kind)
      report(writeError, attempt)
      // Still "writing" while backing off, so that new events do not start another attempt right away.
      await backOff(attempt)
      writing = false
      if (gaveUp) failWaiters()
      else schedule()
      return
    }
    while (queue.length > 0 && !gaveUp) {
      const batch = queue.slice(0, batchSize)
      try {
        inFlight = batch.length
        let sealed: AuditEvent[]
        try {
          sealed = await store.append(
            batch.map((p) => p.event),
            seal,
          )
        } finally {
          inFlight = 0
        }
        queue.splice(0, batch.length)
        stats.written += sealed.length
        stats.queued = queue.length
        attempt = 0
        writeError = null
        batch.forEach((pending, i) => {
          const event = sealed[i]
          if (event && pending.resolve) pending.resolve(event)
        })
        for (const listener of listeners) {
          const failed = (error: unknown): void =>
            report(new AuditKitError('INTERNAL', `onAppend listener failed: ${messageOf(error)}`, { cause: error }))
          try {
            const result: unknown = listener(sealed)
            if (isThenable(result)) Promise.resolve(result).catch(failed) // an async listener's rejection, not an unhandled one
          } catch (error) {
            failed(error)
          }
        }
        settleFlushWaiters()
        lastWriteEndedAt = performance.now()
        // A partial batch waits for company (schedule() below); a backlog is written on, yielding to I/O between
        // batches because synchronous stores would otherwise starve the event loop.
        if (queue.length < batchSize && groupCommitMs > 0) break
        if (queue.length > 0) await new Promise((resolve) => setImmediate(resolve))
      } catch (error) {
        attempt++
        stats.writeFailures++
        writeError = toStoreError(error, store.kind)
        report(writeError, attempt)
        await backOff(attempt)
      }
    }
    writing = false
    if (gaveUp) failWaiters()
    else if (queue.length > 0) schedule()
  }

  function backoff(attempt: number): number {
    const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt - 1, 30))
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2)
  }

  function record(input: AuditEventInput, recordOptions: RecordOptions = {}): Promise<RecordResult> {
    const promise = enqueue(input, recordOptions.delivery ?? 'async')
    promise.catch(noop) // the caller may not await: never an unhandled rejection
    return promise
  }

  /** Reports why record() refused an event, unless the record() came from `onError` (which would loop). */
  const refuse = (error: AuditKitError): Promise<never> => {
    if (insideOnError.getStore()) noteLastError(error)
    else report(error)
    return Promise.reject(error)
  }

  function enqueue(input: AuditEventInput, delivery: DeliveryMode): Promise<RecordResult> {
    if (closed) {
      stats.rejected++ // a lost event (e.g. a job still running at shutdown) shows in the counters, not only in onError
      return refuse(new AuditKitError('LOGGER_CLOSED', 'The audit logger is closed; the event was not recorded'))
    }
    let valid: AuditEventInput
    try {
      valid = validate(input)
    } catch (error) {
      stats.invalid++
      return refuse(isAuditKitError(error) ? error : new AuditKitError('INVALID_EVENT', messageOf(error)))
    }
    if (queue.length >= maxQueueSize) {
      stats.rejected++
      return refuse(
        new AuditKitError('QUEUE_FULL', `The audit queue holds ${maxQueueSize} unwritten events (is the store down?); the new event was refused`),
      )
    }
    let event: UnsealedEvent
    try {
      const now = clock()
      const ms = now.getTime()
      if (!Number.isFinite(ms)) throw new Error('it returned an invalid date')
      // Checked before uuidv7(), whose process-wide monotonic state a time past 2^48 ms would poison for every logger;
      // past 9999, toISOString() would also leave the ISO 8601 form of `occurredAt` (`+010000-...`).
      if (ms < 0 || ms >= LAST_ISO_MS) throw new Error(`it returned ${ms < 0 ? 'a time before 1970' : 'a time after 9999'}`)
      // Object.assign, not a spread with extra keys: the same keys in the same order, and about 2 µs less an event on
      // Node 20, which runs such spreads several times slower (bench:capture).
      event = Object.assign({}, valid, { id: uuidv7(ms), occurredAt: now.toISOString(), chainId: valid.tenantId })
    } catch (error) {
      // A `clock` option that fails must not make record() throw (its callers rely on a promise that may reject).
      stats.rejected++
      return refuse(new AuditKitError('INVALID_OPTIONS', `The logger's clock failed (${messageOf(error)}); the event was not recorded`, { cause: error }))
    }
    if (valid.changes !== undefined) event.changes = redact(valid.changes)
    if (valid.metadata !== undefined) event.metadata = redact(valid.metadata)
    stats.accepted++
    const receipt = { id: event.id, occurredAt: event.occurredAt }
    if (delivery === 'async') {
      queue.push({ event })
      stats.queued = queue.length
      schedule()
      return Promise.resolve(receipt)
    }
    return new Promise<RecordResult>((resolve, reject) => {
      const timer = bounded(awaitTimeoutMs)
        ? setTimeout(() => {
            const error = new AuditKitError(
              'AWAIT_TIMEOUT',
              `The event ${event.id} was not durable within ${awaitTimeoutMs} ms; it stays queued and will be written`,
            )
            stats.awaitTimeouts++
            report(error)
            reject(error)
          }, awaitTimeoutMs)
        : undefined
      queue.push({
        event,
        resolve: (sealed) => {
          clearTimeout(timer)
          resolve(Object.assign({}, receipt, { event: sealed }))
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      })
      stats.queued = queue.length
      schedule()
    })
  }

  function flush(): Promise<void> {
    const target = stats.accepted
    if (stats.written >= target) return Promise.resolve()
    const promise = new Promise<void>((resolve, reject) => {
      flushWaiters.push({ target, resolve, reject })
      // Once close() gave up, nothing more is written: waiting would never end (but for what the write in flight holds).
      if (!gaveUp) schedule()
      else failWaiters()
    })
    promise.catch(noop) // rejects only when close() gives up: not an unhandled rejection for a caller who did not await
    return promise
  }

  /** Stops writing for good: every waiter is told, and no retry or timeout timer is left behind. */
  function abandon(error: AuditKitError): void {
    gaveUp = error
    stopRetrying.abort()
    clearTimeout(drainTimer)
    failWaiters()
  }

  /**
   * Rejects, with the error close() gave up with, whoever waits for events that will now never be written. A write in
   * flight may still land: the waiters it can serve are settled when it ends (drain calls this again), the others now,
   * so that a store call that never returns cannot keep them waiting.
   */
  function failWaiters(): void {
    if (!gaveUp) return
    const reachable = stats.written + inFlight
    for (let i = flushWaiters.length - 1; i >= 0; i--) {
      const waiter = flushWaiters[i]
      if (waiter && waiter.target > reachable) {
        flushWaiters.splice(i, 1)
        waiter.reject(gaveUp)
      }
    }
    for (const pending of queue.slice(inFlight)) pending.reject?.(gaveUp)
  }

  async function close({ timeoutMs = 30_000 }: { timeoutMs?: number } = {}): Promise<void> {
    closed = true
    const timedOut = Symbol('timeout')
    let timer: NodeJS.Timeout | undefined
    try {
      const result = await Promise.race([
        flush(),
        new Promise<typeof timedOut>((resolve) => {
          if (bounded(timeoutMs)) timer = setTimeout(() => resolve(timedOut), timeoutMs)
        }),
      ])
      if (result !== timedOut) return
    } finally {
      clearTimeout(timer)
    }
    const error = new AuditKitError(
      'STORE_UNAVAILABLE',
      `close() gave up after ${timeoutMs} ms with ${queue.length} events not written to the ${store.kind} store` +
        (writeError ? ` (last failure: ${writeError.message})` : ''),
      writeError ? { cause: writeError } : {},
    )
    report(error)
    abandon(error)
    throw error
  }

  return {
    record,
    flush,
    close,
    onAppend(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    stats: () => ({ ...stats, queued: queue.length }),
    report(error) {
      stats.captureFailures++
      report(error)
    },
    store,
    limits,
    redaction,
  }
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new AuditKitError('INVALID_OPTIONS', `${name} must be a positive integer`)
  return value
}

/**
 * The HMAC key, checked now: an empty one (an environment variable set to "") keys the chain with no secret, and the
 * CLI treats an empty `AUDITKIT_HMAC_KEY` as none, so nothing could verify it; a key of another type (a number from a
 * config file) would fail every write, retried forever, with the key in the error message.
 */
function hmacKeyOf(key: unknown): string | Buffer | undefined {
  if (key === undefined) return undefined
  if (typeof key !== 'string' && !Buffer.isBuffer(key))
    throw new AuditKitError('INVALID_OPTIONS', `hmacKey must be a string or a Buffer, not ${key === null ? 'null' : typeof key}`)
  if (key.length === 0) throw new AuditKitError('INVALID_OPTIONS', 'hmacKey is empty; give the key, or leave hmacKey out for plain SHA-256')
  return key
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function'
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function toStoreError(error: unknown, kind: string): AuditKitError {
  if (isAuditKitError(error)) return error
  return new AuditKitError('STORE_UNAVAILABLE', `Writing to the ${kind} store failed: ${messageOf(error)}`, { cause: error })
}
