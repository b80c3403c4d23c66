import { AuditKitError } from '../errors.js'
import type { AuditEvent, UnsealedEvent } from '../event/schema.js'

/**
 * The event a store already holds under `incoming`'s id, as the answer to appending `incoming` again (a batch retried
 * after its commit went unanswered). Only the same event qualifies: same chain, tenant, time and action. Another event
 * under that id (ids are the caller's to give to `append`) is refused, so a retry can neither hand back another
 * tenant's event nor drop the new one.
 */
export function storedAsAppended(stored: AuditEvent, incoming: UnsealedEvent): AuditEvent {
  if (
    stored.chainId === incoming.chainId &&
    stored.tenantId === incoming.tenantId &&
    stored.occurredAt === incoming.occurredAt &&
    stored.action === incoming.action
  )
    return stored
  throw new AuditKitError('INTEGRITY_ERROR', `The event id ${JSON.stringify(incoming.id)} is already stored for another event: each event needs an id of its own`)
}
