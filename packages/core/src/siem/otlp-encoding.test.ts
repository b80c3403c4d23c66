import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { decodeExportLogsRequest, startOtlpReceiver } from '@auditkit/test-utils'
import type { AuditEvent } from '../event/schema.js'
import { createAuditLogger } from '../logger/audit-logger.js'
import { createSqliteStore } from '../stores/sqlite/sqlite-store.js'
import { createSiemService } from './siem-service.js'
import { checkpointToLogRecord, encodeExportLogsRequest, eventToLogRecord } from './otlp-encoding.js'

const event: AuditEvent = {
  id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  occurredAt: '2026-01-02T03:04:05.678Z',
  tenantId: 'acme',
  actor: { type: 'user', id: 'u_1', name: 'Ada', email: 'ada@example.com' },
  action: 'member_role_updated',
  resource: { type: 'member', id: 'm_9', name: 'Bob' },
  targets: [{ type: 'role', id: 'admin' }],
  outcome: 'failure',
  context: { ip: '203.0.113.7', userAgent: 'curl/8', method: 'PATCH', path: '/members/m_9', route: '/members/:id', status: 403, requestId: 'req-1' },
  changes: { before: { role: 'viewer' }, after: { role: 'admin' } },
  metadata: { reason: 'test', count: 0 },
  chainId: 'acme',
  seq: 42,
  prevHash: 'a'.repeat(64),
  hash: 'b'.repeat(64),
}

describe('OTLP encoding', () => {
  it('encodes an event that the protobufjs decoder (from the OTLP .proto files) reads back field by field', () => {
    const bytes = encodeExportLogsRequest([eventToLogRecord(event)], { resource: [['service.name', 'my-saas']], scopeName: '@auditkit/core' })
    const [record, ...rest] = decodeExportLogsRequest(bytes)
    expect(rest).toHaveLength(0)
    expect(record).toMatchObject({
      eventName: 'member_role_updated',
      timeUnixNano: String(Date.parse(event.occurredAt) * 1_000_000),
      severityNumber: 13,
      severityText: 'WARN',
      body: 'Ada member_role_updated member m_9 (failure)',
      resource: { 'service.name': 'my-saas' },
      scope: { name: '@auditkit/core', version: '' },
    })
    expect(record?.attributes).toEqual({
      'audit.id': event.id,
      'audit.action': 'member_role_updated',
      'audit.occurred_at': event.occurredAt,
      'audit.tenant.id': 'acme',
      'audit.outcome': 'failure',
      'audit.actor.type': 'user',
      'audit.actor.id': 'u_1',
      'audit.actor.name': 'Ada',
      'audit.actor.email': 'ada@example.com',
      'audit.resource.type': 'member',
      'audit.resource.id': 'm_9',
      'audit.resource.name': 'Bob',
      'audit.targets': [{ type: 'role', id: 'admin' }],
      'audit.request.id': 'req-1',
      'audit.changes': JSON.stringify(event.changes),
      'audit.metadata': JSON.stringify(event.metadata),
      'audit.chain.id': 'acme',
      'audit.seq': 42,
      'audit.prev_hash': 'a'.repeat(64),
      'audit.hash': 'b'.repeat(64),
      'user.id': 'u_1',
      'client.address': '203.0.113.7',
      'user_agent.original': 'curl/8',
      'http.request.method': 'PATCH',
      'http.route': '/members/:id',
      'url.path': '/members/m_9',
      'http.response.status_code': 403,
    })
    expect(record?.observedTimeUnixNano).toBe(record?.timeUnixNano)
    // The documented int attributes go as AnyValue.int_value (field 3), which the decoder above cannot tell from a double.
    const intAttribute = (key: string, varint: number[]): Buffer => Buffer.from([...Buffer.from(key), 0x12, varint.length + 1, 0x18, ...varint])
    expect(bytes.includes(intAttribute('audit.seq', [42]))).toBe(true)
    expect(bytes.includes(intAttribute('http.response.status_code', [0x93, 0x03]))).toBe(true)
  })

  it('encodes every AnyValue kind, defaults included, and many records in order', () => {
    const records = Array.from({ length: 300 }, (_, i) => ({
      timeMs: 1_700_000_000_000 + i,
      severityNumber: 9,
      severityText: 'INFO',
      eventName: `e_${i}`,
      body: 'ü'.repeat(i % 5),
      attributes: [
        ['zero', 0],
        ['negative', -5],
        ['big', 2 ** 53 - 1],
        ['pi', 3.25],
        ['no', false],
        ['empty', ''],
        ['list', [1, 'two', true]],
        ['map', { a: { b: 'c' } }],
      ] as [string, never][],
    }))
    const decoded = decodeExportLogsRequest(encodeExportLogsRequest(records, { resource: [], scopeName: 's', scopeVersion: '1.0.0' }))
    expect(decoded.map((r) => r.eventName)).toEqual(records.map((r) => r.eventName))
    expect(decoded[7]?.body).toBe('üü')
    expect(decoded[0]?.attributes).toEqual({
      zero: 0,
      negative: -5,
      big: 2 ** 53 - 1,
      pi: 3.25,
      no: false,
      empty: '',
      list: [1, 'two', true],
      map: { a: { b: 'c' } },
    })
    expect(decoded[0]?.scope).toEqual({ name: 's', version: '1.0.0' })
  })

  it('encodes lengths of every size (1- to 3-byte varints, nested)', () => {
    const sizes = [0, 1, 127, 128, 129, 16_383, 16_384, 70_000]
    const record = {
      timeMs: 1,
      severityNumber: 9,
      severityText: 'INFO',
      eventName: 'sizes',
      body: 'é'.repeat(100),
      attributes: sizes.map((size) => [`s${size}`, { nested: ['x'.repeat(size), 'ü'.repeat(size % 300)] }]) as [string, never][],
    }
    const [decoded] = decodeExportLogsRequest(encodeExportLogsRequest([record, record], { resource: [], scopeName: 's' }))
    for (const size of sizes) expect(decoded?.attributes[`s${size}`]).toEqual({ nested: ['x'.repeat(size), 'ü'.repeat(size % 300)] })
    expect(decoded?.body).toBe('é'.repeat(100))
  })

  it('sends checkpoints with their signature', () => {
    const record = checkpointToLogRecord({ chainId: 'acme', seq: 100, hash: 'c'.repeat(64), createdAt: event.occurredAt, prevSignature: '', signature: 'sig', keyId: 'k1' })
    const [decoded] = decodeExportLogsRequest(encodeExportLogsRequest([record], { resource: [], scopeName: 's' }))
    expect(decoded?.eventName).toBe('audit_checkpoint_signed')
    expect(decoded?.attributes).toMatchObject({ 'audit.seq': 100, 'audit.checkpoint.signature': 'sig', 'audit.id': 'checkpoint:acme:100' })
  })

  it('leaves out empty strings, as absent values, and names the actor by id in the body then', async () => {
    // Through the real pipeline: record() accepts '' for names, email and request facts; the SIEM must not get
    // `audit.actor.name = ""` or `client.address = ""` (an "exists" rule would match them) nor a body without actor.
    const dir = mkdtempSync(join(tmpdir(), 'auditkit-otlp-'))
    const store = createSqliteStore({ path: join(dir, 'audit.db') })
    await store.init()
    const logger = createAuditLogger({ store, onError: () => {} })
    const receiver = await startOtlpReceiver({ protocol: 'http/protobuf' })
    const siem = createSiemService({ logger, secretKey: Buffer.alloc(32, 7).toString('base64'), pollIntervalMs: 50, onError: () => {} })
    try {
      await siem.start()
      await siem.updateSettings('acme', { enabled: true, endpoint: receiver.endpoint, protocol: 'http/protobuf' }, { actor: { type: 'user', id: 'admin_1' } })
      await logger.record({
        tenantId: 'acme',
        actor: { type: 'user', id: 'u_1', name: '', email: '' },
        action: 'project_created',
        resource: { type: 'project', id: 'p_1', name: '' },
        targets: [{ type: 'member', id: 'm_1', name: '' }],
        outcome: 'success',
        context: { ip: '', userAgent: '', method: 'POST', path: '/projects', route: '', status: 201 },
      })
      const [, record] = await receiver.waitForRecords(2)
      expect(record?.eventName).toBe('project_created')
      expect(record?.body).toBe('u_1 project_created project p_1 (success)')
      const empty = Object.entries(record?.attributes ?? {}).filter(([, value]) => value === '')
      expect(empty).toEqual([])
      expect(record?.attributes).toMatchObject({ 'audit.actor.id': 'u_1', 'audit.targets': [{ type: 'member', id: 'm_1' }], 'url.path': '/projects', 'http.response.status_code': 201 })
    } finally {
      await siem.stop()
      await logger.close()
      await store.close()
      await receiver.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
