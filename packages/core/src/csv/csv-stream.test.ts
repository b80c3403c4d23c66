import { parse } from 'csv-parse/sync'
import { describe, expect, it } from 'vitest'
import type { AuditEvent } from '../event/schema.js'
import { AUDIT_COLUMNS, findColumn } from './columns.js'
import { createCsvStream } from './csv-stream.js'

function event(i: number): AuditEvent {
  return {
    id: `0190-${String(i).padStart(6, '0')}`,
    occurredAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    tenantId: 't1',
    chainId: 't1',
    seq: i + 1,
    prevHash: '0'.repeat(64),
    hash: 'f'.repeat(64),
    actor: { type: 'user', id: `u${i % 7}`, name: i % 2 === 0 ? '山田 太郎' : '=evil()' },
    action: 'project_created',
    resource: { type: 'project', id: `p${i}`, name: `Project, "${i}"` },
    outcome: 'success',
    context: { ip: '203.0.113.9' },
    metadata: { count: i },
  }
}

async function* events(count: number, onRead?: () => void): AsyncGenerator<AuditEvent> {
  for (let i = 0; i < count; i++) {
    onRead?.()
    yield event(i)
  }
}

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  // Response.text() would drop the BOM; keep it to check it.
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(await new Response(stream).arrayBuffer())
}

describe('createCsvStream', () => {
  const columns = ['occurredAt', 'actor', 'resourceName', 'metadata'].map((id) => findColumn(id)!)

  it('writes a BOM, the header in the chosen locale, and one row per event', async () => {
    let ended: { rows: number } | undefined
    const csv = await text(createCsvStream({ events: events(3), columns, locale: 'ja', onEnd: (r) => void (ended = r) }))
    expect(csv.charCodeAt(0)).toBe(0xfeff)
    const rows = parse(csv, { bom: true }) as string[][]
    expect(rows[0]).toEqual(['日時 (UTC)', 'ユーザー', '対象名', '詳細'])
    expect(rows).toHaveLength(4)
    expect(rows[1]).toEqual(['2026-01-01T00:00:00.000Z', '山田 太郎', 'Project, "0"', '{"count":0}'])
    expect(rows[2]?.[1]).toBe("'=evil()")
    expect(ended?.rows).toBe(3)
  })

  it('omits the BOM on request and uses English headers by default', async () => {
    const csv = await text(createCsvStream({ events: events(1), columns, bom: false }))
    expect(csv.startsWith('Date and time (UTC),User,Target name,Details\r\n')).toBe(true)
  })

  it('reads events only as fast as the consumer pulls (constant memory)', async () => {
    let read = 0
    const stream = createCsvStream({ events: events(1_000_000, () => read++), columns: AUDIT_COLUMNS, chunkSize: 4096 })
    const reader = stream.getReader()
    await reader.read()
    await new Promise((resolve) => setTimeout(resolve, 20))
    // One chunk handed out plus at most one buffered: a few dozen rows, not a million.
    expect(read).toBeLessThan(200)
    await reader.cancel()
  })

  it('reports a cancelled download with the rows sent so far', async () => {
    let ended: { rows: number; cancelled: boolean } | undefined
    const stream = createCsvStream({ events: events(100_000), columns, chunkSize: 1024, onEnd: (r) => void (ended = r) })
    const reader = stream.getReader()
    await reader.read()
    await reader.cancel()
    expect(ended?.cancelled).toBe(true)
    expect(ended?.rows).toBeGreaterThan(0)
    expect(ended?.rows).toBeLessThan(100_000)
  })
})
