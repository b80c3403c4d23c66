import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { find } from 'mingo'
import { describe, expect, it } from 'vitest'
import { isAuditKitError } from '../../errors.js'
import { BSON } from 'mongodb'
import type { AuditEvent } from '../../event/schema.js'
import { GENESIS_HASH, computeEventHash, createSealer } from '../../integrity/hash.js'
import type { EventFilter } from '../../store/types.js'
import { fromEventDocument, toEventDocument, type EventDocument } from './documents.js'
import { FILTER_INDEXES, TIME_INDEX } from './indexes.js'
import { createSqliteStore } from '../sqlite/index.js'
import { chainOrder, escapeRegExp, indexFor, toMongoExportQuery, toMongoFilter, toMongoQuery, type MongoFilter } from './query.js'

const window = { tenantId: 't1', from: '2026-01-01T00:00:00.000Z', to: '2026-02-01T00:00:00.000Z' }

function event(overrides: Partial<AuditEvent> & { id: string }): AuditEvent {
  return {
    occurredAt: '2026-01-10T10:00:00.000Z',
    tenantId: 't1',
    actor: { type: 'user', id: 'u1', name: 'Ada' },
    action: 'project_created',
    resource: { type: 'project', id: 'p1' },
    outcome: 'success',
    chainId: 't1',
    seq: 1,
    prevHash: GENESIS_HASH,
    hash: 'a'.repeat(64),
    ...overrides,
  }
}

function run(documents: EventDocument[], filter: MongoFilter): string[] {
  return find(documents, filter)
    .all()
    .map((document) => String(document._id))
}

/** Every key of a translated filter is a field or operator chosen by the translation, never by input. */
const ALLOWED_KEYS = new Set([
  '$and', '$or', '$eq', '$gte', '$gt', '$lte', '$lt', '$regex',
  'tenantId', 'occurredAtDate', '_id', 'actor.id', 'actor.type', 'action', 'resource.type', 'resource.id', 'outcome', 'search',
])
function keysOf(value: unknown, keys: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((item) => keysOf(item, keys))
  else if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    for (const [key, child] of Object.entries(value)) {
      keys.push(key)
      keysOf(child, keys)
    }
  }
  return keys
}

function codeOf(work: () => unknown): string | undefined {
  try {
    work()
  } catch (error) {
    return isAuditKitError(error) ? error.code : 'not an AuditKitError'
  }
  return undefined
}

describe('MongoDB query translation', () => {
  it('round-trips an event through its document exactly, even content BSON cannot hold natively', () => {
    const original = event({
      id: 'e1',
      occurredAt: '2026-01-10T10:00:00.123Z',
      resource: { type: 'project', id: 'p1', name: 'lone \ud800 surrogate' },
      targets: [{ type: 'member', name: 'Bob' }],
      changes: { before: { 'a\u0000b': 1, $set: { 'x.y': 2 } }, after: { big: 12345678901234, ratio: 0.1 } },
    })
    const sealed = { ...original, hash: computeEventHash(original) }
    const document = toEventDocument(sealed)
    expect(document).toMatchObject({ _id: 'e1', tenantId: 't1', chainId: 't1', seq: 1, action: 'project_created', outcome: 'success' })
    expect(document.occurredAtDate.getTime()).toBe(Date.parse(original.occurredAt))
    expect(document.search).toContain('bob')
    // Through the driver's own BSON encoding, as a server would store it.
    const stored = BSON.deserialize(BSON.serialize(document)) as EventDocument
    const read = fromEventDocument(stored)
    expect(read).toEqual(sealed)
    const { hash, ...content } = read
    expect(computeEventHash(content)).toBe(hash)
    // What native BSON would have done to the name (and so to the hash): the reason for the JSON text.
    expect(BSON.deserialize(BSON.serialize({ name: 'lone \ud800 surrogate' })).name).toBe('lone \ufffd surrogate')
    expect(() => BSON.serialize({ changes: { 'a\u0000b': 1 } })).toThrow()
  })

  it('compares range bounds as instants, whatever their ISO spelling', () => {
    const documents = [event({ id: 'e1', occurredAt: '2026-01-01T00:00:00.000Z' }), event({ id: 'e2', occurredAt: '2026-01-31T23:59:59.999Z' })]
      .map(toEventDocument)
    expect(run(documents, toMongoFilter({ ...window, from: '2026-01-01T00:00:00Z' }))).toEqual(['e1', 'e2'])
    expect(run(documents, toMongoFilter({ ...window, from: '2026-01-01T09:00:00+09:00' }))).toEqual(['e1', 'e2'])
    expect(run(documents, toMongoFilter({ ...window, to: '2026-01-31T23:59:59.999Z' }))).toEqual(['e1'])
    expect(codeOf(() => toMongoFilter({ ...window, from: 'yesterday' }))).toBe('INVALID_RANGE')
  })

  it('never lets a filter value act as an operator', () => {
    const documents = [event({ id: 'e1', action: 'project_created' }), event({ id: 'e2', action: 'project_deleted' })].map(toEventDocument)
    for (const name of ['actor', 'actorType', 'action', 'resourceType', 'resourceId', 'outcome', 'q', 'tenantId'] as const) {
      const hostile = { ...window, [name]: { $ne: 'x' } } as unknown as EventFilter
      expect(codeOf(() => toMongoFilter(hostile)), name).toBe('INVALID_QUERY')
    }
    expect(codeOf(() => toMongoFilter({ ...window, from: { $gt: '' } } as unknown as EventFilter))).toBe('INVALID_QUERY')
    // A string that looks like an operator is only ever a compared value.
    const filter = toMongoFilter({ ...window, action: '$ne', actor: '{"$gt":""}', q: '$where' })
    expect(keysOf(filter).every((key) => ALLOWED_KEYS.has(key)), JSON.stringify(filter)).toBe(true)
    expect(filter.action).toEqual({ $eq: '$ne' })
    expect(run(documents, toMongoFilter({ ...window, action: '$ne' }))).toEqual([])
  })

  it('keeps cursors from injecting operators or bad times', () => {
    const query = { ...window, limit: 10 }
    expect(codeOf(() => toMongoQuery({ ...query, after: { occurredAt: window.from, id: { $gt: '' } } } as never))).toBe('INVALID_CURSOR')
    expect(codeOf(() => toMongoQuery({ ...query, after: { occurredAt: { $gt: '' }, id: 'e1' } } as never))).toBe('INVALID_CURSOR')
    expect(codeOf(() => toMongoQuery({ ...query, after: { occurredAt: 'soon', id: 'e1' } }))).toBe('INVALID_CURSOR')
    const translated = toMongoQuery({ ...query, after: { occurredAt: window.from, id: '$gt' } })
    expect(keysOf(translated.filter).every((key) => ALLOWED_KEYS.has(key))).toBe(true)
  })

  it('matches q as a literal, case-insensitive substring: regular-expression syntax has no effect', () => {
    const documents = [
      event({ id: 'e1', actor: { type: 'user', id: 'u1', name: 'Ada (Admin)' } }),
      event({ id: 'e2', actor: { type: 'user', id: 'u2', name: 'Bob' }, context: { ip: '10.0.0.1' } }),
      event({ id: 'e3', actor: { type: 'user', id: 'u3', name: 'a.*b' } }),
      event({ id: 'e4', resource: { type: 'project', id: 'p4', name: 'Ünïcode Prøject' } }),
    ].map(toEventDocument)
    const q = (text: string): string[] => run(documents, toMongoFilter({ ...window, q: text }))
    expect(q('ADA (')).toEqual(['e1'])
    expect(q('a.*b')).toEqual(['e3'])
    expect(q('.*')).toEqual(['e3'])
    expect(q('10.0.0')).toEqual(['e2'])
    expect(q('10x0')).toEqual([])
    expect(q('ünïcode prø')).toEqual(['e4'])
    expect(q('^')).toEqual([])
    expect(q('[')).toEqual([])
    expect(q('\\')).toEqual([])
    expect(q('nul\u0000')).toEqual([])
    expect(escapeRegExp('a\u0000b')).toBe('a\\x00b')
    expect(escapeRegExp('a.b*c?(d)[e]{f}|g^h$i\\j+k')).toBe('a\\.b\\*c\\?\\(d\\)\\[e\\]\\{f\\}\\|g\\^h\\$i\\\\j\\+k')
  })

  it('hints the index of the most selective filter set, with tenantId first and the page order last', () => {
    expect(indexFor(window)).toBe(TIME_INDEX.name)
    expect(indexFor({ ...window, q: 'x' })).toBe(TIME_INDEX.name)
    expect(indexFor({ ...window, outcome: 'failure', action: 'project_created' })).toBe('events_by_action')
    expect(indexFor({ ...window, actor: 'u1', resourceId: 'p1' })).toBe('events_by_resource_id')
    for (const index of [TIME_INDEX, ...FILTER_INDEXES]) {
      const fields = Object.keys(index.key)
      expect(fields[0]).toBe('tenantId')
      expect(fields.slice(-2)).toEqual(['occurredAtDate', '_id'])
    }
    expect(toMongoQuery({ ...window, actorType: 'system', limit: 5 })).toMatchObject({ hint: 'events_by_actor_type', limit: 6 })
    expect(toMongoExportQuery(window).sort).toEqual({ occurredAtDate: 1, _id: 1 })
  })

  it('lists chains in the SQLite store\'s order, also past U+FFFF (UTF-8 bytes, not UTF-16 code units)', async () => {
    const tenants = ['b', '\uff21cme', '\u{1F600}shop', 'A', '\u00e9t\u00e9', 'a', '\u{20000}']
    const directory = mkdtempSync(join(tmpdir(), 'auditkit-mongo-chains-'))
    const sqlite = createSqliteStore({ path: join(directory, 'audit.db'), writer: 'inline' })
    try {
      await sqlite.append(
        tenants.map((tenantId, i) => ({
          id: `00000000-0000-7000-8000-00000000000${i}`,
          occurredAt: '2026-01-10T10:00:00.000Z',
          tenantId,
          chainId: tenantId,
          actor: { type: 'system', id: 'cron' },
          action: 'job_ran',
          resource: { type: 'job' },
          outcome: 'success',
        })),
        createSealer(),
      )
      const expected = await sqlite.listChains()
      // What the MongoDB store's listChains does with the ids `distinct` answers (any order, repeated across collections).
      expect(chainOrder([...tenants].reverse().concat(tenants))).toEqual(expected)
      expect(expected.indexOf('\uff21cme')).toBeLessThan(expected.indexOf('\u{1F600}shop'))
    } finally {
      await sqlite.close()
      rmSync(directory, { recursive: true, force: true })
    }
  })
})
