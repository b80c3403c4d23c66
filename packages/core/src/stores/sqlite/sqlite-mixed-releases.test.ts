/**
 * One file written by this release and by older ones at once (a rolling upgrade) or one after the other (a rollback).
 * An older release is stood for by what it writes: its schema SQL and its rows, written here with a plain connection.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'libsql'
import { afterAll, describe, expect, it } from 'vitest'
import { ALL_TIME, expectedEvents, expectedFacets, readAllPages } from '@auditkit/test-utils'
import type { AuditEvent, UnsealedEvent } from '../../event/schema.js'
import { createSealer } from '../../integrity/hash.js'
import { uuidv7 } from '../../ids/uuidv7.js'
import { FACET_CATCH_UP_SQL, INSERT_EVENT_SQL, eventRow } from './schema.js'
import { createSqliteStore } from './sqlite-store.js'

const dir = mkdtempSync(join(tmpdir(), 'auditkit-sqlite-mixed-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const tenantId = 'tenant-mixed'
const window = { tenantId, ...ALL_TIME }
const base = Date.parse('2026-02-01T00:00:00.000Z')
let made = 0

/** Events of one tenant; every `nulEvery`-th names its actor with a NUL, as a hostile client may. */
function events(count: number, nulEvery = 0): UnsealedEvent[] {
  return Array.from({ length: count }, () => {
    const n = made++
    const ms = base + n * 60_000
    const nul = nulEvery > 0 && n % nulEvery === 0
    return {
      id: uuidv7(ms),
      occurredAt: new Date(ms).toISOString(),
      tenantId,
      chainId: tenantId,
      actor: { type: 'user' as const, id: `user-${n % 4}`, name: nul ? `Mallory\u0000Quux${n}` : `Someone ${n}` },
      action: 'project_deleted',
      resource: { type: 'project', id: `p-${n}` },
      outcome: 'success' as const,
    }
  })
}

/** The search text releases before schema version 3 wrote: the same lines, the NUL kept. */
function searchTextBeforeVersion3(event: AuditEvent): string {
  return [event.actor.id, event.actor.name, event.action, event.resource.type, event.resource.id].filter((part) => part !== undefined && part !== '').join('\n').toLowerCase()
}

/** Appends as an older release does: after the chain head, with its own search text, in one plain connection. */
function appendAsOlderRelease(path: string, batch: UnsealedEvent[], seal = createSealer()): AuditEvent[] {
  const raw = new Database(path)
  raw.exec('PRAGMA busy_timeout = 5000')
  raw.exec('BEGIN IMMEDIATE')
  const headRow = raw.prepare('SELECT seq, hash FROM events WHERE chain_id = ? ORDER BY seq DESC LIMIT 1').get([tenantId]) as { seq: number; hash: string } | undefined
  let head = headRow ? { seq: headRow.seq, hash: headRow.hash } : null
  const insert = raw.prepare(INSERT_EVENT_SQL)
  const written: AuditEvent[] = []
  for (const event of batch) {
    const sealed = seal(event, head)
    const row = eventRow(sealed)
    row[12] = searchTextBeforeVersion3(sealed) // `search`, the 13th indexed column
    insert.run(row)
    head = { seq: sealed.seq, hash: sealed.hash }
    written.push(sealed)
  }
  raw.exec('COMMIT')
  raw.close()
  return written
}

const nulRows = (path: string): number => {
  const raw = new Database(path)
  const { n } = raw.prepare('SELECT count(*) AS n FROM events WHERE instr(search, char(0)) > 0').get([]) as { n: number }
  raw.close()
  return n
}

describe('sqlite file shared with older releases', () => {
  it('brings a version-2 file without a search index whose search text holds a NUL up to date (it failed: no such table: events_search)', async () => {
    const path = join(dir, 'v2-nul-no-index.db')
    const store = createSqliteStore({ path, writer: 'inline' })
    await store.init()
    await store.close()
    const raw = new Database(path)
    raw.exec('DROP TRIGGER IF EXISTS events_search_without_nul; PRAGMA user_version = 2') // as release 2 made it
    raw.close()
    const written = appendAsOlderRelease(path, events(20, 3))
    expect(nulRows(path)).toBeGreaterThan(0)

    const upgraded = createSqliteStore({ path, writer: 'inline' })
    await upgraded.init()
    expect(nulRows(path)).toBe(0)
    for (const q of ['mallory quux3', 'quux9']) {
      const filter = { ...window, q }
      expect((await readAllPages(upgraded, filter, 7)).flat().map((event) => event.id), q).toEqual(expectedEvents(written, filter).map((event) => event.id))
    }
    await upgraded.close()
  })

  it('counts facets once when an older release set user_version back to 1 after the file was summarised (a rollback, then this release again)', async () => {
    const path = join(dir, 'v1-rollback.db')
    const first = createSqliteStore({ path, writer: 'inline' })
    const written = await first.append(events(30), createSealer())
    await first.close()
    // Summarised as an older file would be (counted_rowid = 30), then opened by release 1: its schema SQL sets user_version = 1.
    let raw = new Database(path)
    raw.exec('DROP TABLE facet_counts; DROP TABLE facet_progress; PRAGMA user_version = 1')
    raw.close()
    await createSqliteStore({ path, writer: 'inline' }).close() // init on first use: close() alone must not open it
    const summarised = createSqliteStore({ path, writer: 'inline' })
    await summarised.init()
    await summarised.close()
    raw = new Database(path)
    expect(raw.prepare('SELECT counted_rowid AS n FROM facet_progress').get([])).toMatchObject({ n: 30 })
    raw.exec('PRAGMA user_version = 1') // release 1 opens the file
    raw.close()
    written.push(...appendAsOlderRelease(path, events(10)))

    // Read inline, on the connection that opened the file: the summary answers.
    const again = createSqliteStore({ path, writer: 'inline', reader: 'inline' })
    await again.init()
    expect(await again.facets(window)).toEqual(expectedFacets(written, window))
    await again.close()
  })

  it('repairs facet counts that release 2 counted twice (it summarises the whole file again after release 1 opened it)', async () => {
    const path = join(dir, 'v1-then-v2.db')
    const first = createSqliteStore({ path, writer: 'inline' })
    const written = await first.append(events(30), createSealer())
    await first.close()
    const raw = new Database(path)
    raw.exec('DELETE FROM facet_counts; DELETE FROM facet_progress; PRAGMA user_version = 1')
    raw.close()
    await createSqliteStore({ path, writer: 'inline' }).init() // summarised: counted_rowid = 30
    written.push(...appendAsOlderRelease(path, events(5)))
    // Release 1 opens the file (user_version = 1), then release 2 does: it counts every event into the summary again.
    const older = new Database(path)
    older.exec('BEGIN IMMEDIATE')
    const last = (older.prepare('SELECT max(rowid) AS n FROM events').get([]) as { n: number }).n
    for (const sql of FACET_CATCH_UP_SQL) older.prepare(sql).run([0, last])
    older.prepare('UPDATE facet_progress SET counted_rowid = ?').run([last])
    older.exec('PRAGMA user_version = 2; COMMIT')
    older.close()

    const again = createSqliteStore({ path, writer: 'inline', reader: 'inline' })
    await again.init()
    expect(await again.facets(window)).toEqual(expectedFacets(written, window))
    await again.close()
  })

  it('answers the first facets call of a new instance from the summary, as every later one (it counted every event of the window)', async () => {
    const path = join(dir, 'first-read.db')
    const writer = createSqliteStore({ path, writer: 'inline' })
    await writer.append(events(30), createSealer())
    await writer.close()
    const raw = new Database(path)
    raw.exec('DELETE FROM facet_counts; DELETE FROM facet_progress; PRAGMA user_version = 1')
    raw.close()
    await createSqliteStore({ path, writer: 'inline' }).init() // summarised
    // Marks what the summary answers: the events say 30, the summary now says 1030.
    const marked = new Database(path)
    marked.exec("UPDATE facet_counts SET n = n + 1000 WHERE facet = 'action'")
    marked.close()
    for (const options of [{ reader: 'inline' as const }, { reader: 'inline' as const, readonly: true }]) {
      const fresh = createSqliteStore({ path, writer: 'inline', ...options })
      const first = await fresh.facets(window)
      expect(first.actions, JSON.stringify(options)).toEqual([{ value: 'project_deleted', count: 1030 }])
      expect(await fresh.facets(window)).toEqual(first)
      await fresh.close()
    }
  })
})
