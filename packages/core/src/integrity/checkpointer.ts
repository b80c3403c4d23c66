import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { AuditKitError, isAuditKitError } from '../errors.js'
import type { AuditEvent } from '../event/schema.js'
import type { AuditLogger } from '../logger/audit-logger.js'
import type { AuditStore, SignedCheckpoint } from '../store/types.js'
import { signCheckpoint } from './checkpoint.js'
import { keyFingerprint, toPrivateKey, type KeyInput } from './keys.js'

export interface CheckpointerOptions {
  /**
   * The logger whose appends trigger checkpoints (through `onAppend`). Give `logger` or `store`.
   * @default undefined (timer only, over every chain of `store`)
   */
  logger?: AuditLogger
  /**
   * Where checkpoints are read and written. Without a logger, the checkpointer works on a timer alone and
   * covers every chain of the store (a dedicated checkpointing process).
   * @default logger.store
   */
  store?: AuditStore
  /** Ed25519 private key (PEM or `KeyObject`). Keep it out of the database: verifiers need only the public key. Required. */
  privateKey: KeyInput
  /**
   * Names the key in every checkpoint, so that verifiers can pick the public key (key rotation).
   * @default the key's fingerprint (first 16 hex digits of SHA-256 over its SPKI DER)
   */
  keyId?: string
  /**
   * Sign the event at every multiple of this number in each chain (seq 1000, 2000, ...: counted over the whole chain,
   * whichever process appended), as soon as a batch reaches it. When another process holds the chain's checkpoint
   * lease at that moment, this one waits (up to `leaseTtlMs`) until some checkpoint covers that multiple; any
   * checkpoint also signs the multiples before it that are still missing. 0 disables the count trigger.
   * @default 1000
   */
  everyEvents?: number
  /**
   * Also sign, at this interval, every chain that received events since its last checkpoint. 0 disables the timer.
   * @default 60000
   */
  everyMs?: number
  /**
   * How long one process may hold a chain's checkpoint lease; another takes over after a crash.
   * @default 30000
   */
  leaseTtlMs?: number
  /**
   * Time written into checkpoints.
   * @default () => new Date()
   */
  clock?: () => Date
  /**
   * Told about every failed checkpoint (it is retried by the next trigger).
   * @default logs to console.error
   */
  onError?: (error: AuditKitError) => void
}

export interface Checkpointer {
  /**
   * Signs the chain's current head now, unless the last checkpoint already covers it; multiples of `everyEvents`
   * not signed yet before it are signed first. Resolves with the newest checkpoint written, or null when there was
   * nothing new or another process holds the lease.
   */
  checkpoint(chainId: string): Promise<SignedCheckpoint | null>
  /** Called with every checkpoint this process writes (e.g. to copy it to the SIEM stream). Returns an unsubscribe function. */
  onCheckpoint(listener: (checkpoint: SignedCheckpoint) => void): () => void
  /**
   * Stops the triggers; by default (`final: true`) then signs every chain this process appended to since its last
   * checkpoint, waiting up to `leaseTtlMs` for a lease another process holds. Rejects if that final checkpoint fails.
   */
  close(options?: { final?: boolean }): Promise<void>
  /** The key id written into checkpoints. */
  readonly keyId: string
}

/**
 * Most multiples of `everyEvents` signed in one go when a chain is behind (a checkpointer started on a long chain):
 * the newest ones; older stretches stay covered by the hash chain up to the first checkpoint after them.
 */
const MAX_CATCH_UP = 1000

/** Store lease that makes one process at a time extend a chain's checkpoint sequence. */
export function checkpointLeaseName(chainId: string): string {
  return `integrity.checkpoint:${chainId}`
}

/**
 * Signs chain heads with Ed25519 every N events and every T ms. Any number of processes may run one on the same
 * store: a per-chain store lease serialises them, and each new checkpoint links to the latest stored one (read under
 * the lease), so the checkpoint sequence of a chain stays one linked list whichever process wrote each link.
 */
export function createCheckpointer(options: CheckpointerOptions): Checkpointer {
  const given = options.store ?? options.logger?.store
  if (!given) throw new AuditKitError('INVALID_OPTIONS', 'createCheckpointer: give `logger` or `store`')
  const store: AuditStore = given
  const privateKey = toPrivateKey(options.privateKey)
  const keyId = options.keyId ?? keyFingerprint(privateKey)
  const everyEvents = nonNegative(options.everyEvents ?? 1000, 'everyEvents')
  const everyMs = nonNegative(options.everyMs ?? 60_000, 'everyMs')
  const leaseTtlMs = nonNegative(options.leaseTtlMs ?? 30_000, 'leaseTtlMs')
  const clock = options.clock ?? (() => new Date())
  const onError =
    options.onError ?? ((error: AuditKitError) => console.error(`[auditkit] checkpoint ${error.code}: ${error.message}`))
  const owner = randomUUID()
  const listeners = new Set<(checkpoint: SignedCheckpoint) => void>()
  /** Chains this process appended to since it last checkpointed them. */
  const dirty = new Set<string>()
  /** One checkpoint at a time per chain in this process (the lease is re-entrant for its owner). */
  const running = new Map<string, Promise<SignedCheckpoint | null>>()
  /** Trigger attempts still going (some wait for another process's lease); close() waits for them to stop. */
  const triggered = new Set<Promise<void>>()
  let closed = false

  /**
   * Signs, in order, every multiple of `everyEvents` after the chain's last checkpoint up to `upTo`, and `upTo`
   * itself (the head when not given). Each multiple gets its own checkpoint whichever process or trigger gets there
   * first, so the checkpoint list does not depend on timing.
   */
  async function writeCheckpoint(chainId: string, upTo?: number): Promise<SignedCheckpoint | null> {
    const lease = checkpointLeaseName(chainId)
    if (!(await store.acquireLease(lease, owner, leaseTtlMs))) {
      // Another process is extending this chain's checkpoints; the next trigger here covers what it may miss.
      dirty.add(chainId)
      return null
    }
    try {
      const head = await store.chainHead(chainId)
      if (!head) return null
      let previous = (await store.lastCheckpoint(chainId)) ?? undefined
      const target = Math.min(upTo ?? head.seq, head.seq)
      const positions = positionsToSign(previous?.seq ?? 0, target)
      let written: SignedCheckpoint | null = null
      for (const seq of positions) {
        const hash = seq === head.seq ? head.hash : await hashAt(chainId, seq)
        const checkpoint = signCheckpoint(
          { chainId, seq, hash, createdAt: clock().toISOString(), prevSignature: previous?.signature ?? '', keyId },
          privateKey,
        )
        // Renew just before writing and check that nobody extended the sequence meanwhile: if this process stalled past
        // its lease and another one took over, writing now would fork the checkpoint sequence.
        const stillOurs = await store.acquireLease(lease, owner, leaseTtlMs)
        if (!stillOurs || (await store.lastCheckpoint(chainId))?.signature !== previous?.signature) {
          dirty.add(chainId)
          return written
        }
        await store.appendCheckpoint(checkpoint)
        for (const listener of listeners) {
          try {
            listener(checkpoint)
          } catch (error) {
            onError(new AuditKitError('INTERNAL', `onCheckpoint listener failed: ${messageOf(error)}`, { cause: error }))
          }
        }
        previous = checkpoint
        written = checkpoint
      }
      return written
    } finally {
      await store.releaseLease(lease, owner).catch(() => {
        // The lease expires on its own.
      })
    }
  }

  /** Multiples of `everyEvents` in (after, target], then `target` itself; the newest MAX_CATCH_UP at most. */
  function positionsToSign(after: number, target: number): number[] {
    if (target <= after) return []
    const positions: number[] = []
    if (everyEvents > 0) {
      const first = Math.max(Math.floor(after / everyEvents) + 1, Math.floor(target / everyEvents) - MAX_CATCH_UP + 1)
      for (let multiple = first * everyEvents; multiple <= target; multiple += everyEvents) positions.push(multiple)
    }
    if (positions.at(-1) !== target) positions.push(target)
    return positions
  }

  async function hashAt(chainId: string, seq: number): Promise<string> {
    const [event] = await store.readChain(chainId, seq - 1, 1)
    if (!event || event.seq !== seq) throw new AuditKitError('INTEGRITY_ERROR', `Chain ${chainId} has no event at seq ${seq} to checkpoint`)
    return event.hash
  }

  function checkpoint(chainId: string, upTo?: number): Promise<SignedCheckpoint | null> {
    const previous = running.get(chainId) ?? Promise.resolve(null)
    const next = previous
      .catch(() => null)
      .then(() => {
        // Signing only up to a multiple leaves the events after it for the timer or close().
        if (upTo === undefined) dirty.delete(chainId)
        return writeCheckpoint(chainId, upTo)
      })
    running.set(chainId, next)
    void next.finally(() => {
      if (running.get(chainId) === next) running.delete(chainId)
    }).catch(() => {})
    return next
  }

  /**
   * Trigger-driven checkpoints never reject: failures are reported and the chain stays dirty for the next trigger.
   * With `coverSeq` (the multiple of `everyEvents` this process's batch crossed), a lease held by another process
   * is waited for, within the lease TTL, until some checkpoint covers that seq: otherwise a busy lease would
   * silently skip the "one checkpoint per N events" promise whenever writers contend.
   */
  function trigger(chainId: string, coverSeq?: number): void {
    const attempt = (async () => {
      const deadline = Date.now() + leaseTtlMs
      for (;;) {
        if (await checkpoint(chainId, coverSeq)) return
        if (coverSeq === undefined || closed || Date.now() >= deadline) return
        const covered = await store.lastCheckpoint(chainId)
        if (covered && covered.seq >= coverSeq) return
        await sleep(10 + Math.random() * 20)
        // close() signs what is still dirty itself; the store may be closed right after it.
        if (closed) return
      }
    })().catch((error: unknown) => {
      dirty.add(chainId)
      onError(isAuditKitError(error) ? error : new AuditKitError('INTEGRITY_ERROR', `Checkpoint of ${chainId} failed: ${messageOf(error)}`, { cause: error }))
    })
    triggered.add(attempt)
    void attempt.finally(() => triggered.delete(attempt))
  }

  const unsubscribe = options.logger?.onAppend((events: readonly AuditEvent[]) => {
    if (closed) return
    const spans = new Map<string, { first: number; last: number }>()
    for (const event of events) {
      const span = spans.get(event.chainId)
      if (!span) spans.set(event.chainId, { first: event.seq, last: event.seq })
      else span.last = Math.max(span.last, event.seq)
    }
    for (const [chainId, { first, last }] of spans) {
      dirty.add(chainId)
      // Exactly one batch in the whole deployment contains each multiple of N, whichever process wrote it.
      if (everyEvents > 0 && Math.floor(last / everyEvents) > Math.floor((first - 1) / everyEvents)) {
        trigger(chainId, Math.floor(last / everyEvents) * everyEvents)
      }
    }
  })

  const timer =
    everyMs > 0
      ? setInterval(() => {
          if (options.logger) {
            for (const chainId of [...dirty]) trigger(chainId)
            return
          }
          store
            .listChains()
            .then((chains) => chains.forEach(trigger))
            .catch((error: unknown) => onError(isAuditKitError(error) ? error : new AuditKitError('STORE_UNAVAILABLE', messageOf(error))))
        }, everyMs)
      : undefined
  // The timer must not keep the host process alive.
  timer?.unref()

  return {
    keyId,
    checkpoint: (chainId) => checkpoint(chainId),
    onCheckpoint(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    async close({ final = true } = {}) {
      if (closed) return
      closed = true
      if (timer) clearInterval(timer)
      unsubscribe?.()
      // They see `closed` and stop within one short wait, so nothing touches the store once close() has resolved.
      await Promise.allSettled([...triggered, ...running.values()])
      // A chain whose lease another process holds stays dirty: wait for the lease (bounded by its TTL) and sign the head.
      const deadline = Date.now() + leaseTtlMs
      while (final && dirty.size > 0) {
        await Promise.all([...dirty].map((chainId) => checkpoint(chainId)))
        if (dirty.size === 0 || Date.now() >= deadline) break
        await sleep(20 + Math.random() * 30)
      }
    },
  }
}

function nonNegative(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0) throw new AuditKitError('INVALID_OPTIONS', `createCheckpointer: ${name} must be a non-negative integer`)
  return value
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
