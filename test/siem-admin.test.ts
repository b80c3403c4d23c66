import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  createAuditAdmin,
  createAuditLogger,
  createCheckpointer,
  createSiemAdminService,
  createSiemService,
  type AuditAdmin,
  type AuditLogger,
  type Checkpointer,
  type SiemService,
} from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { startOtlpReceiver, type OtlpReceiver } from '@auditkit/test-utils'

// The SIEM routes of the admin handler, end to end: Fetch request -> admin handler -> SIEM service -> real collector.
const dir = mkdtempSync(join(tmpdir(), 'auditkit-siem-admin-'))
const TENANT = 'acme'
const TOKEN = 'siem-token-abcd-1234'
let receiver: OtlpReceiver
let logger: AuditLogger
let siem: SiemService
let admin: AuditAdmin
let checkpointer: Checkpointer
const store = createSqliteStore({ path: join(dir, 'audit.db') })

beforeAll(async () => {
  receiver = await startOtlpReceiver({ protocol: 'grpc', bearerToken: TOKEN })
  await store.init()
  logger = createAuditLogger({ store, onError: () => {} })
  checkpointer = createCheckpointer({ logger, privateKey: generateKeyPairSync('ed25519').privateKey, everyEvents: 10, everyMs: 0 })
  siem = createSiemService({
    logger,
    checkpointer,
    secretKey: Buffer.alloc(32, 1),
    pollIntervalMs: 50,
    retry: { initialDelayMs: 50, maxDelayMs: 200 },
    onError: () => {},
  })
  admin = createAuditAdmin({
    logger,
    uiDir: false,
    basePath: '/admin/audit',
    siem: createSiemAdminService(siem),
    authorize: (request) =>
      request.headers.get('authorization') === 'Bearer admin' ? { tenantId: TENANT, actor: { type: 'user', id: 'admin_1', name: 'Ada' } } : null,
  })
  await siem.start()
})
afterAll(async () => {
  await checkpointer.close({ final: false })
  await siem.stop()
  await logger.close()
  await store.close()
  await receiver.close()
  rmSync(dir, { recursive: true, force: true })
})

function call(method: string, path: string, body?: unknown): Promise<Response> {
  return admin.fetch(
    new Request(`http://app.test/admin/audit${path}`, {
      method,
      headers: { authorization: 'Bearer admin', 'content-type': 'application/json', 'user-agent': 'e2e-browser' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
    { ip: '192.0.2.10' },
  )
}

it('PUT validates with 400 INVALID_SETTINGS and names the field', async () => {
  const response = await call('PUT', '/api/settings/siem', { enabled: true, endpoint: receiver.endpoint, protocol: 'grpc', headers: '{not json' })
  expect(response.status).toBe(400)
  const body = (await response.json()) as { error: { code: string; details: { path: string; reason: string }[] } }
  expect(body.error.code).toBe('INVALID_SETTINGS')
  expect(body.error.details).toEqual([expect.objectContaining({ path: 'headers', reason: 'invalid_json' })])
})

it('Test Connection answers a classified result and records nothing', async () => {
  const response = await call('POST', '/api/settings/siem/test', { enabled: true, endpoint: receiver.endpoint, protocol: 'grpc', headers: { Authorization: `Bearer ${TOKEN}` } })
  expect(response.status).toBe(200)
  expect(await response.json()).toMatchObject({ ok: true, result: 'ok' })
  expect(receiver.records.at(-1)?.attributes['audit.action']).toBe('test_connection')
  expect(await store.chainHead(TENANT)).toBeNull()
  const refused = await call('POST', '/api/settings/siem/test', { enabled: true, endpoint: receiver.endpoint, protocol: 'grpc', headers: { Authorization: 'Bearer nope' } })
  expect(await refused.json()).toMatchObject({ ok: false, result: 'unauthorized', hint: expect.stringContaining('Authorization') })
})

it('PUT saves, GET shows masked headers and the delivery status; events and signed checkpoints stream to the collector', async () => {
  const saved = await call('PUT', '/api/settings/siem', { enabled: true, endpoint: receiver.endpoint, protocol: 'grpc', headers: { Authorization: `Bearer ${TOKEN}` } })
  expect(saved.status).toBe(200)
  const savedBody = await saved.text()
  expect(savedBody).not.toContain(TOKEN)
  expect(JSON.parse(savedBody)).toMatchObject({ settings: { enabled: true, headers: { Authorization: '****1234' } } })

  // Two appends, so that the chain passes 10 and then 20 (the checkpointer signs every 10 events).
  for (const round of [9, 10]) {
    for (let i = 1; i <= round; i++) void logger.record({ tenantId: TENANT, actor: { type: 'user', id: 'u1' }, action: 'project_created', resource: { type: 'project', id: `p${round}-${i}` }, outcome: 'success' })
    await logger.flush()
  }
  // 20 events (seq 1 is siem_config_updated) and the checkpoints at seq 10 and 20.
  const deadline = Date.now() + 15_000
  const streamed = () => receiver.records.filter((r) => r.attributes['audit.action'] !== 'test_connection')
  while (streamed().filter((r) => r.eventName === 'audit_checkpoint_signed').length < 2) {
    if (Date.now() > deadline) throw new Error(`got ${streamed().length} records`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const records = streamed()
  expect(records[0]).toMatchObject({ eventName: 'siem_config_updated', attributes: { 'audit.actor.id': 'admin_1', 'client.address': '192.0.2.10' } })
  const checkpoints = records.filter((r) => r.eventName === 'audit_checkpoint_signed')
  expect(checkpoints.map((r) => r.attributes['audit.seq'])).toEqual([10, 20])
  expect(checkpoints[0]?.attributes['audit.checkpoint.signature']).toEqual(expect.any(String))
  // A checkpoint never reaches the SIEM before the events it covers.
  for (const checkpoint of checkpoints) {
    const at = records.indexOf(checkpoint)
    const covered = records.slice(0, at).filter((r) => r.eventName !== 'audit_checkpoint_signed').map((r) => r.attributes['audit.seq'])
    expect(covered).toEqual(expect.arrayContaining(Array.from({ length: Number(checkpoint.attributes['audit.seq']) }, (_, i) => i + 1)))
  }

  let status: { state?: string; eventsBehind?: number } = {}
  while (status.state !== 'up_to_date') {
    if (Date.now() > deadline) throw new Error(`status stayed ${JSON.stringify(status)}`)
    const read = await call('GET', '/api/settings/siem')
    const body = (await read.json()) as { settings: { headers: Record<string, string> }; status: typeof status }
    expect(body.settings.headers).toEqual({ Authorization: '****1234' })
    status = body.status
    // Yield to timers and I/O: a loop of promise-only work would starve the exporter it waits for.
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  expect(status.eventsBehind).toBe(0)
})

it('a server without secretKey answers a header save with SECRET_KEY_ERROR and says what the operator must set, not a bare 500', async () => {
  const keyless = createSiemService({ logger, onError: () => {} })
  const keylessAdmin = createAuditAdmin({
    logger,
    uiDir: false,
    basePath: '/admin/audit',
    siem: createSiemAdminService(keyless),
    authorize: () => ({ tenantId: 'keyless', actor: { type: 'user', id: 'admin_2' } }),
  })
  const response = await keylessAdmin.fetch(
    new Request('http://app.test/admin/audit/api/settings/siem', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: true, endpoint: receiver.endpoint, protocol: 'grpc', headers: { Authorization: `Bearer ${TOKEN}` } }),
    }),
  )
  expect(response.status).toBe(500)
  const body = (await response.json()) as { error: { code: string; message: string } }
  expect(body.error.code).toBe('SECRET_KEY_ERROR')
  expect(body.error.message).toContain('secretKey')
  expect(JSON.stringify(body)).not.toContain(TOKEN)
  await keyless.stop()
})
