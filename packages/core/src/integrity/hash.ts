import { createHmac, hash } from 'node:crypto'
import { AuditKitError } from '../errors.js'
import type { AuditEvent, UnsealedEvent } from '../event/schema.js'
import { canonicalize } from './canonical.js'

/** `prevHash` of the first event of every chain. */
export const GENESIS_HASH = '0'.repeat(64)

/** The last sealed position of a chain. */
export interface ChainHead {
  seq: number
  hash: string
}

/** Places an event after `head` in its chain and hashes it. Stores call it inside their write transaction. */
export type Sealer = (event: UnsealedEvent, head: ChainHead | null) => AuditEvent

/** The fields a hash covers: every content field plus `chainId`, `seq` and `prevHash`. */
export function hashedContent(event: Omit<AuditEvent, 'hash'>): Record<string, unknown> {
  return {
    id: event.id,
    occurredAt: event.occurredAt,
    tenantId: event.tenantId,
    actor: event.actor,
    action: event.action,
    resource: event.resource,
    targets: event.targets,
    outcome: event.outcome,
    context: event.context,
    changes: event.changes,
    metadata: event.metadata,
    chainId: event.chainId,
    seq: event.seq,
    prevHash: event.prevHash,
  }
}

/** The members {@link hashedContent} lists, in JCS order, each with its key quoted. */
const HASHED_MEMBERS = Object.keys(
  hashedContent({ id: '', occurredAt: '', tenantId: '', actor: { type: 'system', id: '' }, action: '', resource: { type: '' }, outcome: 'success', chainId: '', seq: 0, prevHash: '' }),
)
  .sort()
  .map((key) => ({ key, quoted: JSON.stringify(key) }))

/**
 * `canonicalize(hashedContent(...))` without building two copies of the event first: the top-level members are
 * always the same, so their order is fixed once (the sealer runs this for every event written).
 */
function canonicalContent(event: UnsealedEvent, seq: number, prevHash: string): string {
  let out = '{'
  for (const { key, quoted } of HASHED_MEMBERS) {
    const value: unknown = key === 'seq' ? seq : key === 'prevHash' ? prevHash : (event as unknown as Record<string, unknown>)[key]
    if (value === undefined) continue
    out += `${out.length === 1 ? '' : ','}${quoted}:${canonicalize(value)}`
  }
  return `${out}}`
}

function digestOf(canonical: string, hmacKey: string | Buffer | undefined): string {
  // One-shot `hash` (Node >= 20.12) skips building a Hash object: about 0.5 µs less an event, same digest.
  if (hmacKey === undefined) return hash('sha256', canonical, 'hex')
  return createHmac('sha256', hmacKey).update(canonical).digest('hex')
}

/** SHA-256 hex over the JCS form, or HMAC-SHA-256 when a key is given (a key the database never holds). */
export function computeEventHash(event: Omit<AuditEvent, 'hash'>, hmacKey?: string | Buffer): string {
  return digestOf(canonicalContent(event, event.seq, event.prevHash), hmacKey)
}

/** The key of every sealer `createSealer` made, so that a store writing on another thread can make the same sealer there. */
const sealerKeys = new WeakMap<Sealer, { hmacKey: string | Buffer | undefined }>()

/**
 * A sealer: places an event right after `head` (or first in its chain) and hashes it. A head whose `seq` is not a
 * safe integer is refused with `INTEGRITY_ERROR` (a driver that returns a 64-bit column as a string would otherwise
 * make `'1000' + 1` the position `'10001'`).
 */
export function createSealer(hmacKey?: string | Buffer): Sealer {
  const seal: Sealer = (event, head) => {
    if (head !== null && !Number.isSafeInteger(head.seq)) throw malformedHead(event.id, head)
    const seq = (head?.seq ?? 0) + 1
    const prevHash = head?.hash ?? GENESIS_HASH
    // Object.assign, not a spread with extra keys: the same object, about 2 µs less an event (see the logger's enqueue).
    return Object.assign({}, event, { seq, prevHash, hash: digestOf(canonicalContent(event, seq, prevHash), hmacKey) })
  }
  sealerKeys.set(seal, { hmacKey })
  return seal
}

/** The error of a sealer handed a chain head whose `seq` is no safe integer: the store read it wrongly. */
function malformedHead(eventId: string, head: ChainHead): AuditKitError {
  return new AuditKitError(
    'INTEGRITY_ERROR',
    `The chain head handed to the sealer for event ${eventId} has seq ${typeof head.seq === 'string' ? JSON.stringify(head.seq) : String(head.seq)} (${typeof head.seq}), not a safe integer: the store must read seq as a number`,
  )
}

/** How to remake `seal` elsewhere: its HMAC key (undefined for plain SHA-256), or null for a sealer `createSealer` did not make. */
export function sealerKeyOf(seal: Sealer): { hmacKey: string | Buffer | undefined } | null {
  return sealerKeys.get(seal) ?? null
}
