import type { AuditEvent } from '../../event/schema.js'
import { eventSearchText } from '../../store/search-text.js'

/**
 * An event as the MongoDB store writes it: the event itself, with
 * - `_id` holding the event id (the mandatory `_id` index is the unique id index, so no second one is needed);
 * - `occurredAt` kept as the exact ISO string the hash covers (returned verbatim, so hashes always verify);
 * - `occurredAtDate`, the same instant as a BSON Date: range filters, sorting and the indexes use it, because a Date
 *   compares by instant whatever the ISO spelling and takes 8 bytes in every index instead of 24;
 * - `search`, the lower-cased text `q` searches (shared with every store, so `q` means the same everywhere).
 */
export interface EventDocument extends Omit<AuditEvent, 'id'> {
  _id: string
  occurredAtDate: Date
  search: string
}

/** The document the store writes for an event. Pure; undefined optional fields are left out. */
export function toEventDocument(event: AuditEvent): EventDocument {
  const { id, ...rest } = event
  const document: EventDocument = { _id: id, ...rest, occurredAtDate: new Date(event.occurredAt), search: eventSearchText(event) }
  for (const key of Object.keys(document) as (keyof EventDocument)[]) {
    if (document[key] === undefined) delete document[key]
  }
  return document
}

/** The event a stored document holds, with its fields in the public order. */
export function fromEventDocument(document: EventDocument): AuditEvent {
  const event: AuditEvent = {
    id: document._id,
    occurredAt: document.occurredAt,
    tenantId: document.tenantId,
    actor: document.actor,
    action: document.action,
    resource: document.resource,
    targets: document.targets,
    outcome: document.outcome,
    context: document.context,
    changes: document.changes,
    metadata: document.metadata,
    chainId: document.chainId,
    seq: document.seq,
    prevHash: document.prevHash,
    hash: document.hash,
  }
  for (const key of Object.keys(event) as (keyof AuditEvent)[]) {
    if (event[key] === undefined) delete event[key]
  }
  return event
}
