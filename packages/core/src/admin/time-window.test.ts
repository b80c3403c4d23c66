import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditEvent } from '../event/schema.js'
import { createAuditLogger, type AuditLogger } from '../logger/audit-logger.js'
import { createSqliteStore } from '../stores/sqlite/index.js'
import type { AuditStore } from '../store/types.js'
import { createAuditAdmin } from './create-audit-admin.js'
import { serveNodeRequest } from './node-http.js'

// The time window of the admin API as a client sees it: a node:http server over a real SQLite file.
describe('time window of the admin API over HTTP', () => {
  let dir: string
  let store: AuditStore
  let logger: AuditLogger
  let server: Server
  let origin: string
  const start = Date.parse('2026-03-01T00:00:00.000Z')

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auditkit-time-window-'))
    store = createSqliteStore({ path: join(dir, 'audit.db') })
    let clock = start
    logger = createAuditLogger({ store, clock: () => new Date(clock), onError: () => {} })
    // One event a minute, 00:00 to 00:04, for tenant t1.
    for (let i = 0; i < 5; i++) {
      clock = start + i * 60_000
      await logger.record(
        { tenantId: 't1', actor: { type: 'user', id: 'u1' }, action: 'project_updated', resource: { type: 'project', id: `p${i}` }, outcome: 'success' },
        { delivery: 'await' },
      )
    }
    const admin = createAuditAdmin({
      store,
      basePath: '/admin',
      uiDir: false,
      clock: () => new Date('2026-06-01T00:00:00.000Z'),
      authorize: (request) => (request.headers.get('authorization') === 'Bearer ok' ? { tenantId: 't1', actor: { type: 'user', id: 'a1' } } : null),
    })
    server = createServer((req, res) => void serveNodeRequest(admin, req, res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await logger.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const times = async (query: string): Promise<string[]> => {
    const response = await fetch(`${origin}/admin/api/events?${query}`, { headers: { authorization: 'Bearer ok' } })
    const text = await response.text()
    expect(response.status, text).toBe(200)
    return (JSON.parse(text) as { items: AuditEvent[] }).items.map((event) => event.occurredAt).reverse()
  }

  it('accepts date-times with more than millisecond precision, as Python, .NET, Java and Go clients send them', async () => {
    // Python's datetime.isoformat() (microseconds), .NET's "o" format (7 digits), Java's Instant and Go's RFC3339Nano (nanoseconds).
    const from = encodeURIComponent('2026-03-01T09:01:00.000000+09:00')
    const to = encodeURIComponent('2026-03-01T00:03:00.0000000Z')
    expect(await times(`from=${from}&to=${to}`)).toEqual(['2026-03-01T00:01:00.000Z', '2026-03-01T00:02:00.000Z'])
    expect(await times(`from=2026-03-01T00:01:00.123456789Z&to=2026-03-01T00:04:00.000000001Z`)).toEqual([
      '2026-03-01T00:02:00.000Z',
      '2026-03-01T00:03:00.000Z',
      '2026-03-01T00:04:00.000Z',
    ])
  })

  it('keeps [from, to) exact below the millisecond: an event is in the window only if from <= its time < to', async () => {
    // 00:01:00.000 is before a `from` of 00:01:00.0000001, and 00:03:00.000 is before a `to` of 00:03:00.0000001.
    expect(await times('from=2026-03-01T00:01:00.0000001Z&to=2026-03-01T00:03:00.0000001Z')).toEqual([
      '2026-03-01T00:02:00.000Z',
      '2026-03-01T00:03:00.000Z',
    ])
  })

  it('says to send "+" as %2B when an offset arrived as a space (the form-encoding of an unencoded "+")', async () => {
    const response = await fetch(`${origin}/admin/api/events?from=2026-03-01T09:00:00+09:00`, { headers: { authorization: 'Bearer ok' } })
    expect(response.status).toBe(400)
    const { error } = (await response.json()) as { error: { code: string; message: string } }
    expect(error.code).toBe('INVALID_RANGE')
    expect(error.message).toContain('must be sent as %2B: from=2026-03-01T09:00:00%2B09:00')
  })
})
