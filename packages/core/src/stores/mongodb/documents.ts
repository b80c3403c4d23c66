import type { Document } from 'mongodb'
import type { ActorType, AuditEvent, Outcome } from '../../event/schema.js'
import { eventSearchText } from '../../store/search-text.js'
import { sameStoredText } from '../../store/stored-text.js'

/**
 * An event as the MongoDB store writes it. Like the SQLite store's row: the fields that filters, sorting, facets and
 * chain reads compare, as native BSON values, plus the whole event as JSON text (`event`), which is what reads return.
 *
 * Why the JSON text: it gives back exactly the event that was hashed, whatever a client put in it. BSON cannot hold
 * everything JSON can: a lone UTF-16 surrogate in a name (valid JSON, e.g. `"\ud800"`) would be stored as U+FFFD and
 * the event would then fail verification, and a key with a NUL byte in `changes` could not be written at all and would
 * block the queue. The native copies only steer queries.
 */
export interface EventDocument {
  /** The event id (UUIDv7): the mandatory `_id` index is the unique id index, no second one is needed. */
  _id: string
  tenantId: string
  chainId: string
  seq: number
  /**
   * `occurredAt` as a BSON Date: range filters and sorting compare instants whatever the ISO spelling of a bound,
   * and a Date takes 8 bytes in every index instead of 24. The exact ISO string the hash covers is in `event`.
   */
  occurredAtDate: Date
  actor: { type: ActorType; id: string; name?: string }
  action: string
  resource: { type: string; id?: string }
  outcome: Outcome
  /** The lower-cased text `q` searches (shared with every store, so `q` means the same everywhere). */
  search: string
  hash: string
  /** The event exactly as appended and hashed, as JSON text. */
  event: string
}

/** The document the store writes for an event. Pure; absent optional fields are left out. */
export function toEventDocument(event: AuditEvent): EventDocument {
  const actor: EventDocument['actor'] = { type: event.actor.type, id: event.actor.id }
  if (event.actor.name !== undefined) actor.name = event.actor.name
  const resource: EventDocument['resource'] = { type: event.resource.type }
  if (event.resource.id !== undefined) resource.id = event.resource.id
  return {
    _id: event.id,
    tenantId: event.tenantId,
    chainId: event.chainId,
    seq: event.seq,
    occurredAtDate: new Date(event.occurredAt),
    actor,
    action: event.action,
    resource,
    outcome: event.outcome,
    search: eventSearchText(event),
    hash: event.hash,
    event: JSON.stringify(event),
  }
}

/** The event a stored document holds, exactly as it was appended. */
export function fromEventDocument(document: Pick<EventDocument, 'event'>): AuditEvent {
  return JSON.parse(document.event) as AuditEvent
}

/**
 * The fields of a stored document that differ from the event its JSON holds: copies edited beside the hashed event
 * (to hide it from a filtered view, a time window or its tenant), which verification reports. A document whose JSON
 * is no event has none here: its hash tells.
 */
export function documentMismatches(document: Document): string[] {
  let expected: EventDocument
  try {
    expected = toEventDocument(fromEventDocument(document as Pick<EventDocument, 'event'>))
  } catch {
    return []
  }
  const stored = document as Partial<EventDocument>
  const differing: string[] = []
  const check = (name: string, same: boolean): void => void (same || differing.push(name))
  // As BSON keeps texts: UTF-8, where a lone surrogate becomes U+FFFD (the JSON keeps it; see EventDocument).
  const sameText = (value: unknown, text: string | undefined): boolean =>
    value === text || (typeof value === 'string' && text !== undefined && sameStoredText(value, text))
  check('_id', sameText(stored._id, expected._id))
  check('tenantId', sameText(stored.tenantId, expected.tenantId))
  check('chainId', sameText(stored.chainId, expected.chainId))
  check('seq', stored.seq === expected.seq)
  check('occurredAtDate', stored.occurredAtDate instanceof Date && stored.occurredAtDate.getTime() === expected.occurredAtDate.getTime())
  check('actor.type', stored.actor?.type === expected.actor.type)
  check('actor.id', sameText(stored.actor?.id, expected.actor.id))
  check('actor.name', sameText(stored.actor?.name, expected.actor.name))
  check('action', stored.action === expected.action)
  check('resource.type', stored.resource?.type === expected.resource.type)
  check('resource.id', sameText(stored.resource?.id, expected.resource.id))
  check('outcome', stored.outcome === expected.outcome)
  check('search', sameText(stored.search, expected.search))
  check('hash', stored.hash === expected.hash)
  return differing
}
