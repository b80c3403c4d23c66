import { createHash, createHmac } from 'node:crypto'
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

/** SHA-256 hex over the JCS form, or HMAC-SHA-256 when a key is given (a key the database never holds). */
export function computeEventHash(event: Omit<AuditEvent, 'hash'>, hmacKey?: string | Buffer): string {
  const canonical = canonicalize(hashedContent(event))
  return (hmacKey === undefined ? createHash('sha256') : createHmac('sha256', hmacKey)).update(canonical).digest('hex')
}

export function createSealer(hmacKey?: string | Buffer): Sealer {
  return (event, head) => {
    const placed = { ...event, seq: (head?.seq ?? 0) + 1, prevHash: head?.hash ?? GENESIS_HASH }
    return { ...placed, hash: computeEventHash(placed, hmacKey) }
  }
}
