import { AuditKitError } from '../errors.js'
import type { AuditStore } from '../store/types.js'
import { failure, type ExportFailure } from './export-result.js'
import { checkpointToLogRecord, encodeExportLogsRequest, eventToLogRecord, type ExportRequestOptions, type OtlpLogRecord } from './otlp-encoding.js'
import type { OtlpTransport } from './otlp-transport.js'

/** Store state scopes used by the SIEM export (one key per tenant). */
export const SIEM_STATE = {
  settings: 'siem.settings',
  cursor: 'siem.cursor',
  status: 'siem.status',
} as const

/** How far a tenant's stream has been accepted by its collector; saved only after the collector said yes. */
export interface DeliveryCursor {
  /** Last event `seq` accepted. */
  seq: number
  /** Last checkpoint `seq` accepted. */
  checkpointSeq: number
  lastSuccessAt: string | null
}

/** The last failure, kept in the store so that every app instance can show it. */
export interface DeliveryError {
  result: ExportFailure['result']
  message: string
  at: string
  /** Consecutive failed attempts, counted on by an instance that takes the tenant over. */
  attempts: number
  nextAttemptAt: string
  /**
   * On a store failure only: the collector's failure it came after, which no accepted batch has resolved yet. Kept so
   * that a failing store does not hide that the collector was refusing (a wrong token, say); cleared with the status.
   */
  exportError?: { result: ExportFailure['result']; message: string; at: string }
}

/** How a store failure's `message` starts, which tells it from a collector's failure in a stored status. */
const STORE_FAILED = 'The store failed: '

export interface DeliveryWorkerOptions {
  tenantId: string
  store: AuditStore
  transport: OtlpTransport
  request: ExportRequestOptions
  owner: string
  batchSize: number
  pollIntervalMs: number
  leaseTtlMs: number
  requestTimeoutMs: number
  retry: { initialDelayMs: number; maxDelayMs: number; maxRetryAfterMs: number }
  /**
   * When the settings this exporter runs with were saved: a failure stored before that concerned other settings, so
   * its retry time does not hold back a takeover.
   */
  settingsUpdatedAt?: string
  onError: (error: unknown) => void
}

export interface DeliveryWorker {
  /**
   * Look at the store now (new events were appended; with `checkpoints`, a checkpoint was signed).
   * Never cuts a backoff short.
   */
  wake(options?: { checkpoints?: boolean }): void
  /**
   * Finishes the request in flight (abandoning it after 1 s), then stops and releases the lease. Gives up after
   * `timeoutMs` (`Infinity`: never) when a store call does not settle: reported through `onError`, the lease is left
   * to expire and delivery resumes from the stored cursor. Answers whether it stopped cleanly.
   */
  stop(timeoutMs: number): Promise<boolean>
  /** Whether this instance holds the tenant's lease. */
  readonly leader: boolean
}

/** How long `stop()` lets a request in flight finish before abandoning it (sent again later: at least once). */
const STOP_GRACE_MS = 1000

/** setTimeout's longest delay; a longer timeout is treated as no timeout (Node would fire it at once). */
const MAX_TIMER_MS = 2 ** 31 - 1

/** How often an idle exporter looks for checkpoints signed after the events they cover were sent. */
const IDLE_CHECKPOINT_SCAN_MS = 5000

export const EMPTY_CURSOR: DeliveryCursor = { seq: 0, checkpointSeq: 0, lastSuccessAt: null }

/**
 * Tails one tenant's chain by `seq` and sends it to the collector, in order, at least once: the cursor moves only
 * after the collector accepted a batch, failures are retried forever with exponential backoff and jitter (and at least
 * the collector's `Retry-After`), and nothing is ever skipped. A store lease lets one app instance export a tenant:
 * the holder keeps it while it waits out a backoff, only the holder writes the cursor and the status, and an instance
 * that takes a tenant over honours the stored retry time and attempt count, so a collector's requested delay holds
 * across instances.
 */
export function startDeliveryWorker(options: DeliveryWorkerOptions): DeliveryWorker {
  const { store, tenantId } = options
  const leaseName = `siem:${tenantId}`
  let running = true
  // Set when stop() gave up on a store call that never settled: whatever that call does later is no one's business.
  let abandoned = false
  // Abandons the request in flight when the exporter stops: a hanging collector must not hold shutdown.
  const stopping = new AbortController()
  let leader = false
  let wakeSleeper: (() => void) | null = null
  let wakeRequested = false
  let failures = 0
  // The collector's last failure not yet resolved by an accepted batch, stored beside a later store failure.
  let exportError: DeliveryError['exportError'] | null = null
  // Set when this instance (again) takes the lease: the stored status tells whether a retry time is to be honoured.
  let takingOver = true
  let leaseRenewedAt = 0
  let checkpointsScannedAt = 0
  // Events per request: smaller than batchSize while passing a stretch the collector refused as too large.
  let limit = options.batchSize
  let smallUntilSeq = 0
  const renewEveryMs = Math.max(1, Math.floor((options.leaseTtlMs - options.requestTimeoutMs) / 2))
  // While waiting no request is in flight, so the request timeout does not matter: renewing whenever a quarter of the
  // lease has passed keeps at least half of it in hand, and never spins however the options are set.
  const waitSliceMs = Math.max(1, Math.floor(options.leaseTtlMs / 4))
  // While another instance holds the lease: asking for it is a store write, so not at every poll (with N tenants, N
  // writes per poll interval on the shared file). It is renewed every renewEveryMs while held, so a quarter of the
  // lease (at most half a request timeout) still notices a crashed or stopped holder soon after.
  const followerAskMs = Math.max(options.pollIntervalMs, Math.min(waitSliceMs, Math.floor(options.requestTimeoutMs / 2)))
  // A takeover waits no longer than this instance itself would (another instance's clock or options may differ).
  const longestWaitMs = Math.max(options.retry.maxDelayMs, options.retry.maxRetryAfterMs)

  const sleep = (ms: number, wakeable: boolean): Promise<void> =>
    new Promise((resolve) => {
      // Unref'd: a background exporter must not keep a process alive that is otherwise done.
      const timer = setTimeout(done, ms).unref()
      function done(): void {
        clearTimeout(timer)
        wakeSleeper = null
        resolve()
      }
      wakeSleeper = wakeable ? done : () => (running ? undefined : done())
    })

  /** Renews the lease (a store write); on losing it, this instance is a follower from now on. */
  async function renewLease(): Promise<boolean> {
    const askedAt = Date.now()
    const ours = await store.acquireLease(leaseName, options.owner, options.leaseTtlMs)
    if (ours) {
      leaseRenewedAt = askedAt
    } else {
      leader = false
      failures = 0
      exportError = null
      takingOver = true
    }
    return ours
  }

  /**
   * Waits until `until` (a backoff, or the collector's requested delay) holding the lease: renewed in slices, so that
   * no other instance takes the tenant over and sends sooner. Answers false when the lease was lost (this process
   * stalled past it) or the exporter stops; `stop()` ends the wait at once.
   */
  async function waitHoldingLease(until: number): Promise<boolean> {
    for (;;) {
      if (!running) return false
      const left = until - Date.now()
      if (left <= 0) return true
      await sleep(Math.min(left, waitSliceMs), false)
      if (!running) return false
      if (Date.now() < until && Date.now() - leaseRenewedAt >= waitSliceMs) {
        try {
          if (!(await renewLease())) return false
        } catch (error) {
          // The store failed: the next renewal (or the one before the request) tells whether the lease is still ours.
          options.onError(error)
        }
      }
    }
  }

  /**
   * Having just taken the lease: a failure the previous holder stored (it crashed, was stopped, or this app restarted)
   * still holds. Its retry time is waited out and its attempt count carried on, so that the collector's Retry-After
   * and the backoff hold across instances. Not for a failure recorded before the settings were saved (a fixed
   * endpoint is tried at once), nor for a start that failed on this instance's key (no collector asked for a delay).
   */
  async function takeOver(): Promise<void> {
    failures = 0
    exportError = null
    const stored = await store.getState<DeliveryError>(SIEM_STATE.status, tenantId)
    takingOver = false
    if (!stored || !awaitsRetry(stored) || stored.result === 'invalid_config') return
    if (options.settingsUpdatedAt !== undefined && stored.at < options.settingsUpdatedAt) return
    // The previous holder's collector failure, still pending: a store failure of this instance must keep showing it.
    exportError = stored.message.startsWith(STORE_FAILED) ? (stored.exportError ?? null) : { result: stored.result, message: stored.message, at: stored.at }
    failures = Number.isSafeInteger(stored.attempts) && stored.attempts > 0 ? stored.attempts : 0
    const until = Math.min(Date.parse(stored.nextAttemptAt), Date.now() + longestWaitMs)
    if (until > Date.now()) await waitHoldingLease(until)
  }

  const backoff = (attempt: number): number => {
    const ceiling = Math.min(options.retry.maxDelayMs, options.retry.initialDelayMs * 2 ** Math.min(attempt - 1, 30))
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2)
  }

  /** Clears a stored failure awaiting its retry that was stored before `at` (a partial success stays shown). */
  async function clearFailureBefore(at: string): Promise<void> {
    const stored = await store.getState<DeliveryError>(SIEM_STATE.status, tenantId)
    if (stored && awaitsRetry(stored) && stored.at <= at) await store.putState(SIEM_STATE.status, tenantId, null)
  }

  /** Sends the next batch; answers whether anything was sent. Throws the classified failure. */
  async function step(): Promise<boolean> {
    const cursor = (await store.getState<DeliveryCursor>(SIEM_STATE.cursor, tenantId)) ?? EMPTY_CURSOR
    const events = await store.readChain(tenantId, cursor.seq, limit)
    const lastSeq = events.at(-1)?.seq ?? cursor.seq
    // Checkpoints go after the events they cover, so the SIEM never holds an anchor for events it lacks.
    // When idle, look for late checkpoints only now and then (a query per tenant per poll otherwise).
    const scanCheckpoints = events.length > 0 || Date.now() - checkpointsScannedAt >= IDLE_CHECKPOINT_SCAN_MS
    if (scanCheckpoints) checkpointsScannedAt = Date.now()
    const checkpoints = scanCheckpoints ? await store.listCheckpoints(tenantId, { afterSeq: cursor.checkpointSeq, toSeq: lastSeq }) : []
    if (events.length === 0 && checkpoints.length === 0) return false
    const records: OtlpLogRecord[] = events.map(eventToLogRecord)
    for (const checkpoint of checkpoints) records.push(checkpointToLogRecord(checkpoint))
    // The reads above may have taken long (a store lock wait, a paused process): no request goes out on a lease that
    // could expire while it is in flight, or that another instance has taken meanwhile (it may be sending this batch).
    if (Date.now() - leaseRenewedAt >= renewEveryMs && !(await renewLease())) return true
    const result = await options.transport.send(encodeExportLogsRequest(records, options.request), options.requestTimeoutMs, stopping.signal)
    // Abandoned because the exporter stops: no news for the status, and the batch is sent again by whoever exports
    // next. A real answer that came within the stop's grace (a 429 with Retry-After, say) is stored as any other, so
    // that the instance taking over honours it. An accepted batch still moves the cursor below.
    if (stopping.signal.aborted && !result.ok) return true
    // Only the lease holder writes, and only over the cursor this request started from: a process that stalled past
    // its lease (another instance took the tenant over, delivered, maybe moved on) must neither move the cursor
    // back nor leave its failure in the status. Its records are duplicates at the collector (at least once).
    if (!(await renewLease()) || !sameCursor(cursor, await store.getState<DeliveryCursor>(SIEM_STATE.cursor, tenantId))) {
      if (!result.ok) options.onError(result)
      return true
    }
    if (!result.ok) {
      if (isTooLarge(result) && events.length > 1) {
        // Retried as is, such a request would be refused forever: halve it until it fits, at once (no backoff).
        limit = Math.max(1, Math.floor(events.length / 2))
        smallUntilSeq = Math.max(smallUntilSeq, lastSeq)
        return true
      }
      // The retry looks for checkpoints again: a batch of checkpoints alone must be sent again too (and is what tells
      // the loop that this failure was the collector's, not the store's).
      checkpointsScannedAt = 0
      throw result
    }
    // The collector accepts again: its earlier failure is resolved, even if the cursor write below fails.
    exportError = null
    const acceptedAt = new Date().toISOString()
    await store.putState(SIEM_STATE.cursor, tenantId, {
      seq: lastSeq,
      checkpointSeq: checkpoints.at(-1)?.seq ?? cursor.checkpointSeq,
      lastSuccessAt: acceptedAt,
    } satisfies DeliveryCursor)
    if (limit < options.batchSize && lastSeq >= smallUntilSeq) limit = options.batchSize
    failures = 0
    // Any failure stored before this delivery is resolved by it, whoever stored it (this instance, the previous holder,
    // a start that failed). A partial success is dated like its delivery (nothing to retry) and stays shown.
    await clearFailureBefore(acceptedAt)
    if (result.rejectedRecords) {
      // OTLP forbids retrying a partial success: the records are lost to the SIEM, so say so where admins look.
      const rejected = failure(
        'unexpected_response',
        `The collector accepted the request but rejected ${result.rejectedRecords} of ${records.length} records (OTLP partial success); they are not sent again`,
      )
      options.onError(rejected)
      // Dated like the cursor's success, so that the state does not read "retrying": nothing will be retried.
      const problem: DeliveryError = { result: rejected.result, message: rejected.message, at: acceptedAt, attempts: 1, nextAttemptAt: acceptedAt }
      await store.putState(SIEM_STATE.status, tenantId, problem)
    }
    return true
  }

  async function loop(): Promise<void> {
    while (running) {
      try {
        // Renew only when needed (a store write): early enough that a request in flight never outlives the lease.
        if (!leader || Date.now() - leaseRenewedAt >= renewEveryMs) leader = await renewLease()
        if (!leader) {
          await sleep(followerAskMs, false)
          continue
        }
        if (takingOver) {
          await takeOver()
          continue
        }
        wakeRequested = false
        const sent = await step()
        if (!sent && failures > 0) {
          // The failure counted was the store's (a failed export is sent again, so something would have been sent):
          // the store answers again and nothing is left to send, so no batch will come to clear the stored status.
          // Cleared now, by the holder only, or an idle tenant would show "retrying" until its next event.
          const checkedAt = new Date().toISOString()
          if (await renewLease()) {
            failures = 0
            exportError = null
            await clearFailureBefore(checkedAt)
          }
        }
        if (!sent && !wakeRequested && running) await sleep(options.pollIntervalMs, true)
      } catch (error) {
        // A stuck call that failed after stop() gave up on it: stop() reported it, and the status is the next holder's.
        if (abandoned) return
        const exportFailure = isExportFailure(error) ? error : null
        options.onError(error)
        // An export failure was checked against the lease before it was thrown; a store failure is written only by a
        // holder that can still renew (a store that fails that call would not take the write either).
        if (!exportFailure) {
          const ours = await renewLease().catch((renewError: unknown) => {
            options.onError(renewError)
            return null
          })
          if (ours === false) continue
          if (ours === null) {
            if (running) await sleep(backoff(++failures), false)
            continue
          }
        }
        failures++
        const delay = Math.max(
          backoff(failures),
          Math.min(exportFailure?.retryAfterMs ?? 0, options.retry.maxRetryAfterMs),
        )
        const status: DeliveryError = {
          result: exportFailure?.result ?? 'unavailable',
          message: exportFailure ? exportFailure.message : `${STORE_FAILED}${error instanceof Error ? error.message : String(error)}`,
          at: new Date().toISOString(),
          attempts: failures,
          nextAttemptAt: new Date(Date.now() + delay).toISOString(),
          // A store failure replaces the stored status: the collector's pending failure goes along, not lost.
          ...(!exportFailure && exportError ? { exportError } : {}),
        }
        if (exportFailure) exportError = { result: status.result, message: status.message, at: status.at }
        await store.putState(SIEM_STATE.status, tenantId, status).catch(options.onError)
        if (running) await waitHoldingLease(Date.now() + delay)
      }
    }
  }

  const finished = loop()

  return {
    wake({ checkpoints = false } = {}) {
      if (checkpoints) checkpointsScannedAt = 0
      wakeRequested = true
      wakeSleeper?.()
    },
    async stop(timeoutMs) {
      running = false
      wakeSleeper?.()
      const startedAt = Date.now()
      const left = (): number => timeoutMs - (Date.now() - startedAt)
      // A request in flight usually ends within moments (and an accepted batch then moves the cursor): wait that long,
      // then abandon it, so that a collector that never answers holds no shutdown for the whole request timeout.
      await settlesWithin(finished, Math.min(STOP_GRACE_MS, timeoutMs))
      stopping.abort()
      // A store call that never settles (a driver stuck on a dead primary) must not hold the host's shutdown either.
      const ended = await settlesWithin(finished, left())
      // Closed in any case: a keep-alive socket left open would keep the process alive after shutdown.
      options.transport.close()
      let stuck = !ended
      if (ended && leader) {
        const released = store.releaseLease(leaseName, options.owner).catch((error: unknown) => {
          if (!abandoned) options.onError(error)
        })
        stuck = !(await settlesWithin(released, left()))
      }
      leader = false
      if (!stuck) return true
      abandoned = true
      options.onError(
        new AuditKitError(
          'STORE_UNAVAILABLE',
          `stop() gave up after ${Date.now() - startedAt} ms: a store call of the exporter did not settle; its lease is left to expire (leaseTtlMs), and delivery resumes from the stored cursor (at least once)`,
        ),
      )
      return false
    },
    get leader() {
      return leader
    },
  }
}

/**
 * The collector refuses the request for its size: HTTP 413, or gRPC RESOURCE_EXHAUSTED without RetryInfo (what a
 * gRPC server answers over its message limit; with RetryInfo it is throttling, which waiting fixes).
 */
function isTooLarge(result: ExportFailure): boolean {
  return result.httpStatus === 413 || (result.grpcCode === 8 && result.retryAfterMs === undefined)
}

/** A failure whose retry is pending (a partial success is dated like its delivery: nothing to retry). */
function awaitsRetry(status: DeliveryError): boolean {
  return status.nextAttemptAt > status.at
}

function sameCursor(before: DeliveryCursor, now: DeliveryCursor | null): boolean {
  const current = now ?? EMPTY_CURSOR
  return current.seq === before.seq && current.checkpointSeq === before.checkpointSeq
}

/**
 * Whether `promise` settled (either way) within `ms` (beyond setTimeout's range, `Infinity`: as long as it takes); its
 * timer is cleared, and a later rejection is handled.
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => {
        if (ms <= MAX_TIMER_MS) timer = setTimeout(() => resolve(false), Math.max(0, ms))
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

function isExportFailure(value: unknown): value is ExportFailure {
  return typeof value === 'object' && value !== null && (value as { ok?: unknown }).ok === false && 'result' in value
}
