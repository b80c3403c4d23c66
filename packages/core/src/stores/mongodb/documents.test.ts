import { BSON } from 'mongodb'
import { describe, expect, it } from 'vitest'
import type { AuditEvent } from '../../event/schema.js'
import { documentMismatches, toEventDocument } from './documents.js'

const event: AuditEvent = {
  id: '0192f0a8-0000-7000-8000-000000000001',
  tenantId: 'acme',
  chainId: 'acme',
  seq: 7,
  occurredAt: '2026-11-22T10:00:00.000Z',
  actor: { type: 'user', id: 'user-1', name: 'Ada' },
  action: 'member_role_updated',
  resource: { type: 'member', id: 'm-1' },
  outcome: 'failure',
  prevHash: 'a'.repeat(64),
  hash: 'b'.repeat(64),
} as AuditEvent

describe('documentMismatches', () => {
  it('finds none in a document as the store writes it, with or without the optional fields', () => {
    expect(documentMismatches(toEventDocument(event))).toEqual([])
    const { name: _name, ...anonymous } = event.actor
    expect(documentMismatches(toEventDocument({ ...event, actor: anonymous, resource: { type: 'member' } }))).toEqual([])
  })

  it('finds none in a document read back from BSON, which stores a lone surrogate of a name or id as U+FFFD', () => {
    // Valid events (the SQLite store verifies them): only the native copies lose the surrogate, the JSON keeps it.
    const odd = 'lone\ud800surrogate'
    const document = toEventDocument({ ...event, tenantId: odd, chainId: odd, actor: { type: 'user', id: odd, name: odd }, resource: { type: 'member', id: odd } })
    const stored = BSON.deserialize(BSON.serialize(document))
    expect(stored.actor.name).toBe('lone\ufffdsurrogate')
    expect(documentMismatches(stored)).toEqual([])
    // An edit is still found next to it.
    expect(documentMismatches({ ...stored, actor: { ...stored.actor, id: 'lone\ufffdother' } })).toEqual(['actor.id'])
  })

  it('names each copy edited beside the hashed JSON, which filters, facets and time windows read', () => {
    const document = toEventDocument(event)
    const edited = {
      ...document,
      tenantId: 'other',
      occurredAtDate: new Date('2001-01-01T00:00:00.000Z'),
      actor: { ...document.actor, id: 'user-2' },
      action: 'project_updated',
      resource: { type: 'member' },
      outcome: 'success',
      search: document.search.replace('member_role', 'project'),
    }
    expect(documentMismatches(edited)).toEqual(['tenantId', 'occurredAtDate', 'actor.id', 'action', 'resource.id', 'outcome', 'search'])
    // A date stored as text no longer sorts or filters as one.
    expect(documentMismatches({ ...document, occurredAtDate: event.occurredAt })).toEqual(['occurredAtDate'])
    expect(documentMismatches({ ...document, actor: { type: 'user', id: 'user-1' } })).toEqual(['actor.name'])
  })

  it('leaves a document whose JSON is no event to the hash check', () => {
    expect(documentMismatches({ ...toEventDocument(event), event: '{"not":"an event"}' })).toEqual([])
  })
})
