import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createSelfSignedCert, decodeExportLogsRequest, expectCompleteDelivery, startOtlpReceiver, type OtlpReceiver, type ReceivedLogRecord, waitFor } from '@auditkit/test-utils'
import type { Actor, AuditEventInput } from '../event/schema.js'
import { createAuditLogger, type AuditLogger } from '../logger/audit-logger.js'
import { createSqliteStore } from '../stores/sqlite/sqlite-store.js'
import type { AuditStore } from '../store/types.js'
import { SIEM_STATE } from './delivery-worker.js'
import { createEndpointGuard } from './endpoint-policy.js'
import { encodeExportLogsRequest } from './otlp-encoding.js'
import { createOtlpTransport } from './otlp-transport.js'
import { createSecretBox } from './secret-box.js'
import { createSiemService, type SiemService, type SiemServiceOptions } from './siem-service.js'
import { parseSiemSettings, type SiemProtocol } from './settings.js'

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
const dir = mkdtempSync(join(tmpdir(), 'auditkit-siem-'))
const SECRET_KEY = Buffer.alloc(32, 3).toString('base64')
const TOKEN = 'tenant-collector-token-9f3a'
const ADMIN: Actor = { type: 'user', id: 'admin_1', name: 'Ada Admin' }
const HOST_TELEMETRY_SECRET = 'host-app-otel-credential'

// A host app's own telemetry configuration: none of it may reach a tenant's collector.
const savedEnv = { ...process.env }
process.env['OTEL_EXPORTER_OTLP_HEADERS'] = `authorization=Bearer ${HOST_TELEMETRY_SECRET},x-host-secret=${HOST_TELEMETRY_SECRET}`
process.env['OTEL_EXPORTER_OTLP_LOGS_HEADERS'] = `x-host-logs-secret=${HOST_TELEMETRY_SECRET}`
process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = 'http://127.0.0.1:1'
process.env['OTEL_EXPORTER_OTLP_TIMEOUT'] = '1'
process.env['grpc_proxy'] = 'http://127.0.0.1:1'
process.env['https_proxy'] = 'http://127.0.0.1:1'
afterAll(() => {
  process.env = savedEnv
  rmSync(dir, { recursive: true, force: true })
})

let files = 0
interface Harness {
  store: AuditStore
  logger: AuditLogger
  siem: SiemService
  close(): Promise<void>
}

async function harness(overrides: Partial<SiemServiceOptions> = {}, path = join(dir, `siem-${++files}.db`)): Promise<Harness> {
  const store = createSqliteStore({ path })
  await store.init()
  const logger = createAuditLogger({ store, onError: () => {} })
  const siem = createSiemService({
    logger,
    secretKey: SECRET_KEY,
    batchSize: 50,
    pollIntervalMs: 50,
    // Limits that only bound a hang, generous for a busy machine: a request that timed out is sent again (a duplicate at
    // the collector), an expired lease lets a second instance send the same batch, and a slow Test Connection would
    // read "timeout". The timeout test sets its own short testTimeoutMs.
    leaseTtlMs: 30_000,
    requestTimeoutMs: 15_000,
    testTimeoutMs: 15_000,
    retry: { initialDelayMs: 50, maxDelayMs: 400 },
    testRateLimit: { max: 1000 },
    onError: () => {},
    ...overrides,
  })
  return {
    store,
    logger,
    siem,
    async close() {
      await siem.stop()
      await logger.close()
      await store.close()
    },
  }
}

function event(tenantId: string, n: number, outcome: 'success' | 'failure' = 'success'): AuditEventInput {
  return {
    tenantId,
    actor: { type: 'user', id: `u_${n % 3}`, name: `User ${n % 3}` },
    action: 'project_updated',
    resource: { type: 'project', id: `p_${n}`, name: `Project ${n}` },
    outcome,
    context: { ip: `198.51.100.${n % 250}`, userAgent: 'test-agent/1.0', method: 'PATCH', path: `/projects/p_${n}`, route: '/projects/:id', status: outcome === 'success' ? 200 : 403 },
    metadata: { n },
  }
}

function settingsFor(receiver: OtlpReceiver, protocol: SiemProtocol, token = TOKEN): Record<string, unknown> {
  return { enabled: true, endpoint: receiver.endpoint, protocol, headers: JSON.stringify({ Authorization: `Bearer ${token}` }) }
}

function seqs(records: readonly ReceivedLogRecord[]): number[] {
  return records.map((record) => Number(record.attributes['audit.seq']))
}

const PROTOCOLS: SiemProtocol[] = ['grpc', 'http/protobuf']

describe.each(PROTOCOLS)('SIEM export over %s', (protocol) => {
  let receiver: OtlpReceiver
  let h: Harness
  const tenant = `acme-${protocol.replace('/', '-')}`

  beforeAll(async () => {
    receiver = await startOtlpReceiver({ protocol, bearerToken: TOKEN })
    h = await harness({ serviceName: 'my-saas' })
    await h.siem.start()
  })
  afterAll(async () => {
    await h.close()
    await receiver.close()
  })

  it('delivers N events in order with the audit attributes, and reports the status', async () => {
    await h.siem.updateSettings(tenant, settingsFor(receiver, protocol), { actor: ADMIN })
    const n = 120
    for (let i = 1; i <= n; i++) void h.logger.record(event(tenant, i, i % 10 === 0 ? 'failure' : 'success'))
    await h.logger.flush()
    const records = await receiver.waitForRecords(n + 1)
    // seq 1 is the siem_config_updated event itself: saving the settings is audited and streamed too.
    expect(seqs(records)).toEqual(Array.from({ length: n + 1 }, (_, i) => i + 1))
    expect(records[0]?.eventName).toBe('siem_config_updated')
    const stored = await h.store.readChain(tenant, 0, n + 1)
    const tenth = records[10]
    expect(tenth).toMatchObject({
      eventName: 'project_updated',
      severityText: 'WARN',
      severityNumber: 13,
      resource: { 'service.name': 'my-saas' },
      // The instrumentation scope names the package and its version, so a SIEM can tell which release sent a record.
      scope: { name: '@auditkit/core', version: PACKAGE_VERSION },
    })
    expect(tenth?.attributes).toMatchObject({
      'audit.id': stored[10]?.id,
      'audit.action': 'project_updated',
      'audit.outcome': 'failure',
      'audit.tenant.id': tenant,
      'audit.seq': 11,
      'audit.hash': stored[10]?.hash,
      'audit.actor.type': 'user',
      'audit.actor.id': 'u_1',
      'audit.actor.name': 'User 1',
      'audit.resource.type': 'project',
      'audit.resource.id': 'p_10',
      'audit.resource.name': 'Project 10',
      'user.id': 'u_1',
      'client.address': '198.51.100.10',
      'user_agent.original': 'test-agent/1.0',
    })
    expect(receiver.requests.at(-1)?.headers['user-agent']).toContain(`AuditKit-SIEM-Export/${PACKAGE_VERSION}`)
    expect(records[1]?.severityText).toBe('INFO')
    expect(BigInt(tenth?.timeUnixNano ?? 0)).toBe(BigInt(Date.parse(stored[10]?.occurredAt ?? '')) * 1_000_000n)
    const status = await waitFor(async () => {
      const s = await h.siem.status(tenant)
      return s.state === 'up_to_date' ? s : undefined
    }, 'up_to_date')
    expect(status).toMatchObject({ eventsBehind: 0, exportedSeq: n + 1, lastError: null })
    expect(status.lastSuccessAt).not.toBeNull()
    expect((await h.siem.getSettings(tenant)).status.state).toBe('up_to_date')
  })

  it('never sends the host app\'s OTEL_EXPORTER_OTLP_* headers to the collector', () => {
    expect(receiver.requests.length).toBeGreaterThan(0)
    for (const request of receiver.requests) {
      expect(JSON.stringify(request.headers)).not.toContain(HOST_TELEMETRY_SECRET)
      expect(request.headers['authorization']).toBe(`Bearer ${TOKEN}`)
    }
  })

  it('keeps every event while the collector is down, then delivers them all with no gap', async () => {
    const before = receiver.records.length
    const head = (await h.store.chainHead(tenant))?.seq ?? 0
    await receiver.stop()
    for (let i = 1; i <= 40; i++) void h.logger.record(event(tenant, 1000 + i))
    await h.logger.flush()
    const retrying = await waitFor(async () => {
      const s = await h.siem.status(tenant)
      return s.state === 'retrying' && s.lastError && s.lastError.attempts >= 2 ? s : undefined
    }, 'retrying status')
    expect(retrying.lastError?.result).toBe('connection_refused')
    expect(retrying.eventsBehind).toBe(40)
    await receiver.start()
    await receiver.waitForRecords(before + 40)
    expectCompleteDelivery(receiver.records, head + 40)
    await waitFor(async () => ((await h.siem.status(tenant)).state === 'up_to_date' ? true : undefined), 'recovery')
    expect((await h.siem.status(tenant)).lastError).toBeNull()
  })

  it('retries a refusal (503) without skipping, waiting at least the Retry-After (HTTP) or RetryInfo (gRPC)', async () => {
    const head = (await h.store.chainHead(tenant))?.seq ?? 0
    const from = receiver.requests.length
    receiver.failWith({ kind: 'status', status: 503, retryAfterSeconds: 1 }, { times: 2 })
    void h.logger.record(event(tenant, 5000))
    await h.logger.flush()
    await waitFor(() => (seqs(receiver.records).includes(head + 1) ? true : undefined), 'delivery after 503')
    const attempts = receiver.requests.slice(from)
    expect(attempts.map((r) => r.answeredStatus)).toEqual([503, 503, 200])
    // HTTP's Retry-After, gRPC's RetryInfo trailer: the backoff alone (50-400 ms) would retry sooner.
    const [first, second, third] = attempts.map((r) => r.receivedAt)
    expect((second ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual(950)
    expect((third ?? 0) - (second ?? 0)).toBeGreaterThanOrEqual(950)
    expectCompleteDelivery(receiver.records, head + 1)
  })
})

describe.each(PROTOCOLS)('Test Connection over %s', (protocol) => {
  let receiver: OtlpReceiver
  let h: Harness
  const tenant = 'tc-tenant'
  const test = (settings: unknown, admin: Actor = ADMIN): ReturnType<SiemService['testConnection']> =>
    h.siem.testConnection(tenant, settings, { actor: admin })

  beforeAll(async () => {
    receiver = await startOtlpReceiver({ protocol, bearerToken: TOKEN })
    h = await harness()
  })
  afterEach(() => receiver.failWith(null))
  afterAll(async () => {
    await h.close()
    await receiver.close()
  })

  it('ok: sends one real record with audit.action = test_connection, saving and recording nothing', async () => {
    const before = receiver.records.length
    const result = await test(settingsFor(receiver, protocol))
    expect(result).toMatchObject({ ok: true, result: 'ok' })
    expect(receiver.records.length).toBe(before + 1)
    const record = receiver.records.at(-1)
    expect(record?.eventName).toBe('test_connection')
    expect(record?.attributes).toMatchObject({ 'audit.action': 'test_connection', 'audit.tenant.id': tenant, 'audit.actor.id': ADMIN.id })
    expect(await h.store.chainHead(tenant)).toBeNull()
    expect((await h.siem.getSettings(tenant)).settings).toMatchObject({ enabled: false, endpoint: '' })
    expect(await h.store.getState(SIEM_STATE.settings, tenant)).toBeNull()
    expect(JSON.stringify(receiver.requests.at(-1)?.headers)).not.toContain(HOST_TELEMETRY_SECRET)
  })

  it('unauthorized: a wrong bearer token', async () => {
    const result = await test(settingsFor(receiver, protocol, 'wrong-token'))
    expect(result).toMatchObject({ ok: false, result: 'unauthorized' })
    expect(result.hint).toMatch(/Authorization/)
    // Which collector answered, with so many tenants: its host and port (never a header).
    expect(result.message).toContain(`127.0.0.1:${new URL(receiver.endpoint).port}`)
  })

  it('forbidden: the collector refuses access', async () => {
    receiver.failWith({ kind: 'status', status: 403 })
    expect(await test(settingsFor(receiver, protocol))).toMatchObject({ ok: false, result: 'forbidden' })
  })

  it('unavailable: the collector is overloaded (503, and 429 over HTTP)', async () => {
    receiver.failWith({ kind: 'status', status: 503, retryAfterSeconds: 7 })
    const result = await test(settingsFor(receiver, protocol))
    expect(result).toMatchObject({ ok: false, result: 'unavailable' })
    expect(result).toMatchObject({ retryAfterMs: 7000 })
    if (protocol === 'http/protobuf') {
      expect(result).toMatchObject({ httpStatus: 503 })
      receiver.failWith({ kind: 'status', status: 429 })
      expect(await test(settingsFor(receiver, protocol))).toMatchObject({ result: 'unavailable', httpStatus: 429 })
    }
  })

  it('never echoes the collector\'s response body', async () => {
    receiver.failWith({ kind: 'status', status: 401, body: 'COLLECTOR-INTERNAL-DETAIL' })
    const result = await test(settingsFor(receiver, protocol))
    expect(result.result).toBe('unauthorized')
    expect(JSON.stringify(result)).not.toContain('COLLECTOR-INTERNAL-DETAIL')
  })

  it('path_mismatch: no OTLP logs service at that URL, and the hint names /v1/logs', async () => {
    let result
    if (protocol === 'http/protobuf') {
      result = await test({ ...settingsFor(receiver, protocol), endpoint: receiver.endpoint.replace('/v1/logs', '/v1/traces') })
      expect(result).toMatchObject({ httpStatus: 404 })
    } else {
      // A real gRPC server that serves no LogsService answers UNIMPLEMENTED.
      const bare = new grpc.Server()
      const port = await new Promise<number>((resolve, reject) =>
        bare.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
      )
      try {
        result = await test({ ...settingsFor(receiver, protocol), endpoint: `http://127.0.0.1:${port}` })
      } finally {
        bare.forceShutdown()
      }
    }
    expect(result).toMatchObject({ ok: false, result: 'path_mismatch' })
    expect(result.hint).toContain('/v1/logs')
  })

  it('connection_refused: nothing listens on the port', async () => {
    const closed = await startOtlpReceiver({ protocol })
    const endpoint = closed.endpoint
    await closed.close()
    expect(await test({ ...settingsFor(receiver, protocol), endpoint })).toMatchObject({ ok: false, result: 'connection_refused' })
  })

  it('timeout: the collector never answers', async () => {
    receiver.failWith({ kind: 'stall' })
    // A short limit of its own (the shared harness waits long): answered after it, well before the default 5 s.
    const quick = await harness({ testTimeoutMs: 500 })
    try {
      const result = await quick.siem.testConnection(tenant, settingsFor(receiver, protocol), { actor: ADMIN })
      expect(result).toMatchObject({ ok: false, result: 'timeout' })
      expect(result.message).toContain(`127.0.0.1:${new URL(receiver.endpoint).port}`)
      expect(result.durationMs).toBeLessThan(5000)
    } finally {
      await quick.close()
    }
  })

  it('dns_failure: a host name that does not resolve', async () => {
    const endpoint = protocol === 'grpc' ? 'http://collector.invalid:4317' : 'http://collector.invalid:4318/v1/logs'
    expect(await test({ ...settingsFor(receiver, protocol), endpoint })).toMatchObject({ ok: false, result: 'dns_failure' })
  })

  it('tls_error: a self-signed certificate; ok once that CA is trusted', async () => {
    const cert = createSelfSignedCert()
    const tlsReceiver = await startOtlpReceiver({ protocol, bearerToken: TOKEN, tls: cert })
    try {
      expect(tlsReceiver.endpoint).toMatch(/^https:/)
      expect(await test(settingsFor(tlsReceiver, protocol))).toMatchObject({ ok: false, result: 'tls_error' })
      expect(tlsReceiver.records).toHaveLength(0)
      const trusting = await harness({ ca: cert.cert })
      try {
        expect(await trusting.siem.testConnection(tenant, settingsFor(tlsReceiver, protocol), { actor: ADMIN })).toMatchObject({ ok: true })
        expect(tlsReceiver.records).toHaveLength(1)
      } finally {
        await trusting.close()
      }
    } finally {
      await tlsReceiver.close()
    }
  })

  it('invalid_config: the form\'s values are checked first, with details', async () => {
    const result = await test({ ...settingsFor(receiver, protocol), headers: '{"Authorization": "Bearer x",}' })
    expect(result).toMatchObject({ ok: false, result: 'invalid_config' })
    expect(result.details).toEqual([expect.objectContaining({ path: 'headers', reason: 'invalid_json' })])
  })

  it('the wrong protocol for the port is named, not mistaken for an outage', async () => {
    const other = await startOtlpReceiver({ protocol: protocol === 'grpc' ? 'http/protobuf' : 'grpc' })
    try {
      const endpoint = protocol === 'grpc' ? `http://127.0.0.1:${other.port}` : `http://127.0.0.1:${other.port}/v1/logs`
      const result = await test({ ...settingsFor(receiver, protocol), endpoint })
      // gRPC to an HTTP/1.1 server: the HTTP/2 connection breaks; HTTP/1.1 to a gRPC server: not an HTTP/1.1 answer.
      expect(result).toMatchObject({ ok: false, result: protocol === 'grpc' ? 'network_error' : 'unexpected_response' })
      expect(result.hint).toMatch(/gRPC vs HTTP\/Protobuf/)
    } finally {
      await other.close()
    }
  })

  it('endpoint_not_allowed: cloud metadata addresses are refused before connecting', async () => {
    const endpoint = protocol === 'grpc' ? 'http://169.254.169.254:4317' : 'http://169.254.169.254:4318/v1/logs'
    expect(await test({ ...settingsFor(receiver, protocol), endpoint })).toMatchObject({ ok: false, result: 'endpoint_not_allowed' })
  })

  if (protocol === 'http/protobuf') {
    it('follows no redirect', async () => {
      const elsewhere = await startOtlpReceiver({ protocol })
      try {
        receiver.failWith({ kind: 'redirect', location: elsewhere.endpoint })
        const result = await test(settingsFor(receiver, protocol))
        expect(result).toMatchObject({ ok: false, result: 'unexpected_response', httpStatus: 307 })
        expect(elsewhere.requests).toHaveLength(0)
      } finally {
        await elsewhere.close()
      }
    })
  }
})

describe('SIEM settings', () => {
  let receiver: OtlpReceiver
  let h: Harness
  beforeAll(async () => {
    receiver = await startOtlpReceiver({ protocol: 'http/protobuf', bearerToken: TOKEN })
    h = await harness({ testRateLimit: { max: 2, windowMs: 60_000 } })
    await h.siem.start()
  })
  afterAll(async () => {
    await h.close()
    await receiver.close()
  })

  it('masks secrets when read, encrypts them at rest, and keeps them when the mask is sent back', async () => {
    const tenant = 'settings-tenant'
    const saved = await h.siem.updateSettings(tenant, settingsFor(receiver, 'http/protobuf'), { actor: ADMIN, context: { ip: '192.0.2.1' } })
    expect(saved.settings).toMatchObject({ enabled: true, protocol: 'http/protobuf', headers: { Authorization: '****9f3a' } })
    const raw = JSON.stringify(await h.store.getState(SIEM_STATE.settings, tenant))
    expect(raw).not.toContain(TOKEN)
    // Only the mask is kept in clear (so that reads need no key); the value itself is sealed.
    expect(raw.replaceAll('****9f3a', '')).not.toContain('9f3a')
    const read = await h.siem.getSettings(tenant)
    expect(JSON.stringify(read)).not.toContain(TOKEN)

    // The form sends the masked value back with another change: the stored secret stays.
    const { enabled, endpoint, protocol, headers } = read.settings
    await h.siem.updateSettings(tenant, { enabled, endpoint, protocol, headers }, { actor: ADMIN })
    await receiver.waitForRecords(2)
    expect(receiver.requests.every((r) => r.headers['authorization'] === `Bearer ${TOKEN}`)).toBe(true)

    // Both saves were recorded, with masked before/after and no secret.
    const events = await h.store.readChain(tenant, 0, 10)
    expect(events.map((e) => e.action)).toEqual(['siem_config_updated', 'siem_config_updated'])
    expect(JSON.stringify(events)).not.toContain(TOKEN)
    expect(events[0]).toMatchObject({ actor: ADMIN, resource: { type: 'siem_integration' }, context: { ip: '192.0.2.1' } })
    expect(events[1]?.changes).toMatchObject({ before: { endpoint: receiver.endpoint, enabled: true }, after: { endpoint: receiver.endpoint } })
  })

  it('records a settings change with masked headers whatever their name, not only names the redaction list knows', async () => {
    const tenant = 'vendor-header-tenant'
    // A vendor header whose name is in no redaction list: only the masking keeps its value out of the audit log.
    const secret = 'hny-team-key-5d1e'
    const settings = { enabled: false, endpoint: receiver.endpoint, protocol: 'http/protobuf' as const, headers: { 'X-Honeycomb-Team': secret } }
    const saved = await h.siem.updateSettings(tenant, settings, { actor: ADMIN })
    expect(saved.settings.headers).toEqual({ 'X-Honeycomb-Team': '****5d1e' })
    // The form sends the mask back: the stored value is kept.
    await h.siem.updateSettings(tenant, { ...settings, headers: saved.settings.headers }, { actor: ADMIN })
    const events = await h.store.readChain(tenant, 0, 10)
    expect(events.map((e) => e.changes)).toEqual([
      { after: { enabled: false, endpoint: receiver.endpoint, protocol: 'http/protobuf', headers: { 'X-Honeycomb-Team': '****5d1e' } } },
      {
        before: { enabled: false, endpoint: receiver.endpoint, protocol: 'http/protobuf', headers: { 'X-Honeycomb-Team': '****5d1e' } },
        after: { enabled: false, endpoint: receiver.endpoint, protocol: 'http/protobuf', headers: { 'X-Honeycomb-Team': '****5d1e' } },
      },
    ])
    expect(JSON.stringify(events)).not.toContain(secret)
  })

  it('sends a stored secret only to the collector it was saved for: a new origin needs the value entered again', async () => {
    const tenant = 'moved-tenant'
    await h.siem.updateSettings(tenant, settingsFor(receiver, 'http/protobuf'), { actor: ADMIN })
    const { enabled, endpoint, protocol, headers } = (await h.siem.getSettings(tenant)).settings
    const masked = { enabled, endpoint, protocol, headers }
    // Another server the admin names, sent the mask back: its token must not be handed over.
    const other = await startOtlpReceiver({ protocol: 'http/protobuf' })
    try {
      const moved = { ...masked, endpoint: other.endpoint }
      const tested = await h.siem.testConnection(tenant, moved, { actor: { ...ADMIN, id: 'admin_moves' } })
      expect(tested).toMatchObject({ ok: false, result: 'invalid_config', details: [expect.objectContaining({ path: 'headers.Authorization', reason: 'reenter_secret' })] })
      await expect(h.siem.updateSettings(tenant, moved, { actor: ADMIN })).rejects.toMatchObject({ code: 'INVALID_SETTINGS' })
      expect(other.requests).toHaveLength(0)
      expect((await h.siem.getSettings(tenant)).settings.endpoint).toBe(receiver.endpoint)
      // Entered again, the value is saved for the new collector.
      await h.siem.updateSettings(tenant, { ...moved, headers: { Authorization: `Bearer ${TOKEN}` } }, { actor: ADMIN })
      expect((await h.siem.getSettings(tenant)).settings.endpoint).toBe(other.endpoint)
    } finally {
      await h.siem.updateSettings(tenant, { ...masked, enabled: false, endpoint: receiver.endpoint, headers: { Authorization: `Bearer ${TOKEN}` } }, { actor: ADMIN })
      await other.close()
    }
  })

  it('counts the port a URL leaves out as the one connected to: the default :443 and the protocol\'s 4317/4318 are other collectors', async () => {
    const tenant = 'port-tenant'
    const headers = { Authorization: 'Bearer stored-token-for-443-9f3a' }
    const saved = await h.siem.updateSettings(tenant, { enabled: false, endpoint: 'https://collector.example:443/v1/logs', protocol: 'http/protobuf', headers }, { actor: ADMIN })
    const masked = saved.settings.headers
    // Same URL origin ("https://collector.example"), but port 4318 instead of 443: whoever listens there must not get the token.
    for (const moved of [
      { enabled: false, endpoint: 'https://collector.example/v1/logs', protocol: 'http/protobuf' as const, headers: masked },
      { enabled: false, endpoint: 'https://collector.example', protocol: 'grpc' as const, headers: masked },
    ]) {
      await expect(h.siem.updateSettings(tenant, moved, { actor: ADMIN })).rejects.toMatchObject({
        code: 'INVALID_SETTINGS',
        details: [expect.objectContaining({ path: 'headers.Authorization', reason: 'reenter_secret' })],
      })
    }
    // The same collector written another way keeps the secret; so does a protocol change that keeps the port.
    await h.siem.updateSettings(tenant, { enabled: false, endpoint: 'https://collector.example:443/v1/logs/', protocol: 'http/protobuf', headers: masked }, { actor: ADMIN })
    await h.siem.updateSettings(tenant, { enabled: false, endpoint: 'https://collector.example:443', protocol: 'grpc', headers: masked }, { actor: ADMIN })
    await h.siem.updateSettings(tenant, { enabled: false, endpoint: 'https://collector.example:4317', protocol: 'grpc', headers }, { actor: ADMIN })
    await h.siem.updateSettings(tenant, { enabled: false, endpoint: 'https://collector.example', protocol: 'grpc', headers: masked }, { actor: ADMIN })
  })

  it('keeps each header\'s secret sealed to its tenant and name: two headers keep their own values, a sealed value copied elsewhere does not open', async () => {
    const tenant = 'two-headers-tenant'
    const endpoint = 'https://collector.example:4318/v1/logs'
    const secrets = { Authorization: 'Bearer first-secret-value-1111', 'X-Api-Key': 'second-secret-value-2222' }
    const saved = await h.siem.updateSettings(tenant, { enabled: false, endpoint, protocol: 'http/protobuf', headers: secrets }, { actor: ADMIN })
    expect(saved.settings.headers).toEqual({ Authorization: '****1111', 'X-Api-Key': '****2222' })
    // Both masks sent back: each header keeps its own stored value, sealed to this tenant and that header's name.
    await h.siem.updateSettings(tenant, { enabled: false, endpoint, protocol: 'http/protobuf', headers: saved.settings.headers }, { actor: ADMIN })
    type Stored = { headers: { name: string; sealed: string; masked: string }[] }
    const stored = (await h.store.getState<Stored>(SIEM_STATE.settings, tenant)) as Stored
    const box = createSecretBox(SECRET_KEY)
    expect(Object.fromEntries(stored.headers.map(({ name, sealed }) => [name, box.open(sealed, `${tenant}\n${name}`)]))).toEqual(secrets)
    expect(JSON.stringify(stored)).not.toContain('secret-value')

    // The stored record copied to another tenant, or its sealed values swapped between the names: nothing opens, and
    // sending the masks back asks for the values again (reads still show the masks, which need no key).
    const swapped = { ...stored, headers: stored.headers.map((header, i, all) => ({ ...header, sealed: (all[all.length - 1 - i] as Stored['headers'][number]).sealed })) }
    for (const [target, record] of [['copied-tenant', stored], [tenant, swapped]] as const) {
      await h.store.putState(SIEM_STATE.settings, target, record)
      const { settings } = await h.siem.getSettings(target)
      expect(settings.headers).toEqual({ Authorization: '****1111', 'X-Api-Key': '****2222' })
      await expect(h.siem.updateSettings(target, { enabled: false, endpoint, protocol: 'http/protobuf', headers: settings.headers }, { actor: ADMIN })).rejects.toMatchObject({
        code: 'INVALID_SETTINGS',
        details: [
          expect.objectContaining({ path: 'headers.Authorization', reason: 'undecryptable' }),
          expect.objectContaining({ path: 'headers.X-Api-Key', reason: 'undecryptable' }),
        ],
      })
    }
  })

  it('reads a tenant without settings as a disabled integration, saves one without an endpoint, and tests that as invalid_config', async () => {
    const tenant = 'unconfigured-tenant'
    expect((await h.siem.getSettings(tenant)).settings).toEqual({ enabled: false, endpoint: '', protocol: 'grpc', headers: {}, updatedAt: null })
    expect((await h.siem.updateSettings(tenant, { enabled: false }, { actor: ADMIN })).settings).toMatchObject({ enabled: false, endpoint: '', headers: {} })
    expect(await h.siem.testConnection(tenant, { enabled: false }, { actor: { type: 'user', id: 'admin_unconfigured' } })).toMatchObject({
      ok: false,
      result: 'invalid_config',
      details: [{ path: 'endpoint', reason: 'required', message: expect.any(String) }],
    })
  })

  it('refuses invalid settings and metadata endpoints without saving', async () => {
    await expect(h.siem.updateSettings('t2', { enabled: true, endpoint: 'collector:4317' }, { actor: ADMIN })).rejects.toMatchObject({
      code: 'INVALID_SETTINGS',
      details: [expect.objectContaining({ reason: 'missing_scheme' })],
    })
    await expect(
      h.siem.updateSettings('t2', { enabled: true, endpoint: 'http://169.254.169.254:4317', protocol: 'grpc' }, { actor: ADMIN }),
    ).rejects.toMatchObject({ code: 'ENDPOINT_NOT_ALLOWED' })
    expect(await h.store.getState(SIEM_STATE.settings, 't2')).toBeNull()
    expect(await h.store.chainHead('t2')).toBeNull()
  })

  it('rate-limits Test Connection per admin', async () => {
    const settings = settingsFor(receiver, 'http/protobuf')
    await h.siem.testConnection('t3', settings, { actor: ADMIN })
    await h.siem.testConnection('t3', settings, { actor: ADMIN })
    await expect(h.siem.testConnection('t3', settings, { actor: ADMIN })).rejects.toMatchObject({ code: 'RATE_LIMITED' })
    // Another admin has their own allowance.
    expect(await h.siem.testConnection('t3', settings, { actor: { type: 'user', id: 'admin_2' } })).toMatchObject({ ok: true })
    // So has an admin of another tenant whose ids only join to the same text ('t3\nx' + 'y' against 't3' + 'x\ny').
    await h.siem.testConnection('t3', settings, { actor: { type: 'user', id: 'x\ny' } })
    await h.siem.testConnection('t3', settings, { actor: { type: 'user', id: 'x\ny' } })
    expect(await h.siem.testConnection('t3\nx', settings, { actor: { type: 'user', id: 'y' } })).toMatchObject({ ok: true })
  })
})

describe('pause, key problems and options', () => {
  it('a disabled integration pauses; re-enabled, it continues from its cursor and skips nothing', async () => {
    const receiver = await startOtlpReceiver({ protocol: 'http/protobuf' })
    const h = await harness()
    try {
      await h.siem.start()
      const settings = { enabled: true, endpoint: receiver.endpoint, protocol: 'http/protobuf' }
      await h.siem.updateSettings('pausing', settings, { actor: ADMIN })
      for (let i = 1; i <= 5; i++) void h.logger.record(event('pausing', i))
      await receiver.waitForRecords(6)
      await h.siem.updateSettings('pausing', { ...settings, enabled: false }, { actor: ADMIN })
      for (let i = 6; i <= 10; i++) void h.logger.record(event('pausing', i))
      await h.logger.flush()
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(receiver.records).toHaveLength(6)
      expect(await h.siem.status('pausing')).toMatchObject({ state: 'disabled', eventsBehind: 6 })
      await h.siem.updateSettings('pausing', settings, { actor: ADMIN })
      await receiver.waitForRecords(13)
      expectCompleteDelivery(receiver.records, 13)
    } finally {
      await h.close()
      await receiver.close()
    }
  })

  it('with a different secretKey, settings still read (masked) and the status names the problem', async () => {
    const path = join(dir, 'rekeyed.db')
    const first = await harness({}, path)
    await first.siem.updateSettings('rekeyed', { enabled: true, endpoint: 'http://127.0.0.1:9/v1/logs', protocol: 'http/protobuf', headers: { Authorization: `Bearer ${TOKEN}` } }, { actor: ADMIN })
    await first.close()
    const second = await harness({ secretKey: Buffer.alloc(32, 9) }, path)
    try {
      await second.siem.start()
      expect((await second.siem.getSettings('rekeyed')).settings.headers).toEqual({ Authorization: '****9f3a' })
      const status = await waitFor(async () => {
        const s = await second.siem.status('rekeyed')
        return s.lastError ? s : undefined
      }, 'a status error')
      expect(status).toMatchObject({ state: 'retrying', lastError: { result: 'invalid_config', message: expect.stringContaining('secretKey') } })
    } finally {
      await second.close()
    }
  })

  it('refuses invalid options', async () => {
    const store = createSqliteStore({ path: join(dir, 'options.db') })
    const logger = createAuditLogger({ store })
    expect(() => createSiemService({ logger, batchSize: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    expect(() => createSiemService({ logger, leaseTtlMs: 1000, requestTimeoutMs: 5000 })).toThrow(/leaseTtlMs/)
    expect(() => createSiemService({ logger, secretKey: 'short' })).toThrow(expect.objectContaining({ code: 'SECRET_KEY_ERROR' }))
    expect(() => createSiemService({ logger, endpointPolicy: { deny: ['not a host!'] } })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    await logger.close()
    await store.close()
  })
})

describe('several app instances', () => {
  it('export each tenant from one instance at a time (lease), delivering each event once', async () => {
    const receiver = await startOtlpReceiver({ protocol: 'grpc' })
    const path = join(dir, 'shared.db')
    const a = await harness({ serviceName: 'instance-a', instanceId: 'a' }, path)
    const b = await harness({ serviceName: 'instance-b', instanceId: 'b' }, path)
    try {
      await a.siem.updateSettings('shared', { enabled: true, endpoint: receiver.endpoint, protocol: 'grpc' }, { actor: ADMIN })
      await Promise.all([a.siem.start(), b.siem.start()])
      for (let i = 1; i <= 60; i++) void (i % 2 ? a : b).logger.record(event('shared', i))
      await Promise.all([a.logger.flush(), b.logger.flush()])
      await receiver.waitForRecords(61)
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(seqs(receiver.records)).toEqual(Array.from({ length: 61 }, (_, i) => i + 1))
      expect(new Set(receiver.records.map((r) => r.resource['service.name'])).size).toBe(1)
    } finally {
      await a.close()
      await b.close()
      await receiver.close()
    }
  })
})

describe('review regressions', () => {
  it('gRPC: a header that gRPC metadata cannot carry is refused as invalid settings, never saved, never echoed', async () => {
    const receiver = await startOtlpReceiver({ protocol: 'grpc' })
    const errors: unknown[] = []
    const h = await harness({ onError: (error) => errors.push(error) })
    const secret = 'Bearer\ttab-secret-7781'
    try {
      await h.siem.start()
      // A tab is valid in an HTTP header but not in gRPC metadata; '!' is a valid HTTP token but not a gRPC key.
      for (const headers of [{ Authorization: secret }, { 'X-Team!': 'a' }]) {
        const settings = { enabled: true, endpoint: receiver.endpoint, protocol: 'grpc', headers }
        const tested = await h.siem.testConnection('grpc-headers', settings, { actor: ADMIN })
        expect(tested).toMatchObject({ ok: false, result: 'invalid_config' })
        expect(JSON.stringify(tested)).not.toContain('tab-secret')
        await expect(h.siem.updateSettings('grpc-headers', settings, { actor: ADMIN })).rejects.toMatchObject({ code: 'INVALID_SETTINGS' })
      }
      expect(await h.store.getState(SIEM_STATE.settings, 'grpc-headers')).toBeNull()
      // The same value is fine over HTTP, where Node sends it as is.
      expect(parseSiemSettingsOk({ enabled: true, endpoint: 'http://127.0.0.1:4318/v1/logs', protocol: 'http/protobuf', headers: { Authorization: secret } })).toBe(true)
      expect(JSON.stringify(errors.map(String))).not.toContain('tab-secret')
    } finally {
      await h.close()
      await receiver.close()
    }
  })

  it('after a secretKey change, the admin can re-enter the headers and delivery resumes', async () => {
    const receiver = await startOtlpReceiver({ protocol: 'http/protobuf', bearerToken: TOKEN })
    const path = join(dir, 'rekeyed-fix.db')
    const first = await harness({}, path)
    await first.siem.updateSettings('rekeyed-fix', { enabled: true, endpoint: receiver.endpoint, protocol: 'http/protobuf', headers: { Authorization: 'Bearer old-token-1234' } }, { actor: ADMIN })
    await first.close()
    const second = await harness({ secretKey: Buffer.alloc(32, 9) }, path)
    try {
      await second.siem.start()
      const fresh = settingsFor(receiver, 'http/protobuf')
      // Sending back the mask of a secret that cannot be decrypted names the header to enter again (400, not 500).
      const maskedBack = { ...fresh, headers: { Authorization: '****1234' } }
      await expect(second.siem.updateSettings('rekeyed-fix', maskedBack, { actor: ADMIN })).rejects.toMatchObject({
        code: 'INVALID_SETTINGS',
        details: [expect.objectContaining({ path: 'headers.Authorization' })],
      })
      expect(await second.siem.testConnection('rekeyed-fix', maskedBack, { actor: ADMIN })).toMatchObject({ ok: false, result: 'invalid_config' })
      expect(await second.siem.testConnection('rekeyed-fix', fresh, { actor: ADMIN })).toMatchObject({ ok: true })
      await second.siem.updateSettings('rekeyed-fix', fresh, { actor: ADMIN })
      // seq 1 (first save) and seq 2 (this save) reach the collector with the new token, after the test record.
      await receiver.waitForRecords(3)
      expectCompleteDelivery(receiver.records, 2)
    } finally {
      await second.close()
      await receiver.close()
    }
  })

  it('a failure stored before a restart (or a start that failed) is cleared once the next exporter delivers', async () => {
    const receiver = await startOtlpReceiver({ protocol: 'http/protobuf', bearerToken: TOKEN })
    const path = join(dir, 'restarted-while-down.db')
    const first = await harness({}, path)
    try {
      await first.siem.start()
      await first.siem.updateSettings('restarted', settingsFor(receiver, 'http/protobuf'), { actor: ADMIN })
      await receiver.waitForRecords(1)
      await receiver.stop()
      await first.logger.record(event('restarted', 1), { delivery: 'await' })
      await waitFor(async () => ((await first.siem.status('restarted')).state === 'retrying' ? true : undefined), 'retrying status')
    } finally {
      await first.close()
    }
    await receiver.start()
    // Another instance (or the app after a deploy) takes over: its first delivery must not leave the old error shown.
    const second = await harness({}, path)
    try {
      await second.siem.start()
      await receiver.waitForRecords(2)
      const status = await waitFor(async () => {
        const s = await second.siem.status('restarted')
        return s.state === 'up_to_date' && s.exportedSeq === 2 ? s : undefined
      }, 'delivery by the second instance')
      await waitFor(async () => ((await second.siem.status('restarted')).lastError === null ? true : undefined), 'the stale error cleared', 3000)
      expect(status.eventsBehind).toBe(0)
    } finally {
      await second.close()
      await receiver.close()
    }
  })

  it('gRPC: a backlog larger than the collector\'s message limit is split, not retried forever', async () => {
    const receiver = await startOtlpReceiver({ protocol: 'grpc' })
    const h = await harness({ batchSize: 200 })
    try {
      // 200 events of ~30 kB: ~6 MB in one request, over the 4 MiB a gRPC server (and the OTel Collector) accepts.
      for (let i = 1; i <= 200; i++) void h.logger.record({ ...event('big', i), changes: { after: { blob: 'x'.repeat(30_000) } } })
      await h.logger.flush()
      await h.siem.start()
      await h.siem.updateSettings('big', { enabled: true, endpoint: receiver.endpoint, protocol: 'grpc' }, { actor: ADMIN })
      await receiver.waitForRecords(201, 15_000)
      expectCompleteDelivery(receiver.records, 201)
    } finally {
      await h.close()
      await receiver.close()
    }
  })
})

/**
 * A real OTLP collector (HTTP/protobuf or gRPC) that accepts every request but, for the first `partialTimes`, answers
 * `partial_success { rejected_log_records: 2 }`; over HTTP it also refuses bodies above `maxBody` with 413.
 */
async function startPartialCollector(protocol: SiemProtocol, partialTimes: number, maxBody = Number.POSITIVE_INFINITY) {
  const records: ReceivedLogRecord[] = []
  const sizes: number[] = []
  let partialLeft = partialTimes
  const partial = Buffer.concat([
    Buffer.from([0x0a, 0x0c, 0x08, 0x02, 0x12, 0x08]),
    Buffer.from('too big!'),
  ])
  const answer = (): Buffer => (partialLeft-- > 0 ? partial : Buffer.alloc(0))
  if (protocol === 'http/protobuf') {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => {
        const body = Buffer.concat(chunks)
        sizes.push(body.length)
        if (body.length > maxBody) return res.writeHead(413).end('request entity too large')
        records.push(...decodeExportLogsRequest(body))
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(answer())
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    return { endpoint: `http://127.0.0.1:${port}/v1/logs`, records, sizes, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
  }
  const server = new grpc.Server()
  const raw = (value: Buffer): Buffer => value
  server.addService(
    { Export: { path: '/opentelemetry.proto.collector.logs.v1.LogsService/Export', requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw } },
    {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        sizes.push(call.request.length)
        records.push(...decodeExportLogsRequest(call.request))
        callback(null, answer())
      },
    },
  )
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  )
  return { endpoint: `http://127.0.0.1:${port}`, records, sizes, close: async () => server.forceShutdown() }
}

describe.each(PROTOCOLS)('OTLP partial success over %s', (protocol) => {
  it('is surfaced (status and onError) and not retried; Test Connection does not call it ok', async () => {
    const collector = await startPartialCollector(protocol, 2)
    const errors: unknown[] = []
    const h = await harness({ onError: (error) => errors.push(error) })
    try {
      const settings = { enabled: true, endpoint: collector.endpoint, protocol }
      const tested = await h.siem.testConnection('partial', settings, { actor: ADMIN })
      expect(tested).toMatchObject({ ok: false, result: 'unexpected_response', message: expect.stringMatching(/rejected 2/) })
      expect(JSON.stringify(tested)).not.toContain('too big!')
      for (let i = 1; i <= 3; i++) void h.logger.record(event('partial', i))
      await h.logger.flush()
      // Saved before start: the exporter's first request then holds seq 1..4.
      await h.siem.updateSettings('partial', settings, { actor: ADMIN })
      await h.siem.start()
      const status = await waitFor(async () => {
        const s = await h.siem.status('partial')
        return s.exportedSeq === 4 ? s : undefined
      }, 'export of seq 1..4')
      // The collector's answer forbids a retry: one request, and the loss is visible.
      expect(collector.sizes).toHaveLength(2)
      expect(status.lastError).toMatchObject({ result: 'unexpected_response', message: expect.stringMatching(/rejected 2 of 4/) })
      expect(status.state).toBe('up_to_date')
      expect(errors.map((error) => JSON.stringify(error))).toEqual([expect.stringMatching(/rejected 2 of 4/)])
    } finally {
      await h.close()
      await collector.close()
    }
  })
})

describe('oversized requests over HTTP', () => {
  it('a 413 splits the batch instead of retrying it forever', async () => {
    const collector = await startPartialCollector('http/protobuf', 0, 1_000_000)
    const h = await harness({ batchSize: 100 })
    try {
      for (let i = 1; i <= 100; i++) void h.logger.record({ ...event('big-http', i), changes: { after: { blob: 'x'.repeat(30_000) } } })
      await h.logger.flush()
      await h.siem.start()
      await h.siem.updateSettings('big-http', { enabled: true, endpoint: collector.endpoint, protocol: 'http/protobuf' }, { actor: ADMIN })
      await waitFor(() => (collector.records.length >= 101 ? true : undefined), '101 records over HTTP')
      expectCompleteDelivery(collector.records, 101)
    } finally {
      await h.close()
      await collector.close()
    }
  })
})

function parseSiemSettingsOk(input: unknown): boolean {
  return parseSiemSettings(input).headers !== undefined
}

describe.each(PROTOCOLS)('endpoint forms an admin types, over %s', (protocol) => {
  it('http:// for a collector that speaks TLS is a broken connection whose hint names https://, not an overloaded collector', async () => {
    const tlsReceiver = await startOtlpReceiver({ protocol, bearerToken: TOKEN, tls: createSelfSignedCert() })
    const h = await harness()
    try {
      const endpoint = tlsReceiver.endpoint.replace(/^https:/, 'http:')
      const result = await h.siem.testConnection('forms', { ...settingsFor(tlsReceiver, protocol), endpoint }, { actor: ADMIN })
      expect(result).toMatchObject({ ok: false, result: 'network_error' })
      expect(result.hint).toMatch(/https:\/\//)
      expect(tlsReceiver.records).toHaveLength(0)
    } finally {
      await h.close()
      await tlsReceiver.close()
    }
  })
})

describe.each(PROTOCOLS)('headers an admin types, over %s', (protocol) => {
  // Valid header names that Node's HTTP/1.1 client (Trailer without chunked encoding) or HTTP/2 (connection-specific
  // headers) refuse to send: they would fail every export.
  it.each(['Trailer', 'Keep-Alive', 'Proxy-Connection', 'HTTP2-Settings'])('%s is refused as a reserved header by Test Connection and Save', async (name) => {
    const receiver = await startOtlpReceiver({ protocol })
    const h = await harness()
    try {
      const settings = { enabled: true, endpoint: receiver.endpoint, protocol, headers: { [name]: 'x' } }
      const result = await h.siem.testConnection('headers', settings, { actor: ADMIN })
      expect(result).toMatchObject({ ok: false, result: 'invalid_config', details: [expect.objectContaining({ path: `headers.${name}`, reason: 'reserved_header' })] })
      await expect(h.siem.updateSettings('headers', settings, { actor: ADMIN })).rejects.toMatchObject({ code: 'INVALID_SETTINGS' })
      expect(receiver.requests).toHaveLength(0)
    } finally {
      await h.close()
      await receiver.close()
    }
  })
})

describe('an HTTP request Node refuses to build', () => {
  it('answers a classified failure, without a stray exception after it (settings stored before validation refused them)', async () => {
    const receiver = await startOtlpReceiver({ protocol: 'http/protobuf' })
    const transport = createOtlpTransport({
      settings: { endpoint: receiver.endpoint, protocol: 'http/protobuf', headers: { Trailer: 'x' } },
      guard: createEndpointGuard(),
      keepAlive: false,
      userAgent: 'test',
    })
    const uncaught: unknown[] = []
    const onUncaught = (error: unknown): void => void uncaught.push(error)
    process.on('uncaughtException', onUncaught)
    try {
      const body = encodeExportLogsRequest([], { resource: [], scopeName: 'test' })
      expect(await transport.send(body, 1000)).toMatchObject({ ok: false, result: 'invalid_config' })
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(uncaught).toEqual([])
    } finally {
      process.off('uncaughtException', onUncaught)
      transport.close()
      await receiver.close()
    }
  })
})

describe.each(PROTOCOLS)('a failure names its tenant and endpoint, over %s', (protocol) => {
  const closedEndpoint = async (): Promise<{ endpoint: string; where: string }> => {
    const closed = await startOtlpReceiver({ protocol })
    await closed.close()
    return { endpoint: closed.endpoint, where: `127.0.0.1:${closed.port}` }
  }

  it('onError gets the tenant; the status, onError and Test Connection name host:port (and what grpc-js saw), never a header', async () => {
    const { endpoint, where } = await closedEndpoint()
    const reports: { error: unknown; info: unknown }[] = []
    const h = await harness({ onError: (error, info) => void reports.push({ error, info }) })
    try {
      await h.siem.start()
      const settings = { enabled: true, endpoint, protocol, headers: JSON.stringify({ Authorization: `Bearer ${TOKEN}` }) }
      await h.siem.updateSettings('tenant-a', settings, { actor: ADMIN })
      const status = await waitFor(async () => (await h.siem.status('tenant-a')).lastError ?? undefined, 'a failed export')
      expect(status).toMatchObject({ result: 'connection_refused', message: expect.stringContaining(where) })
      // grpc-js's own account of the failure, as HTTP's names the Node error code.
      expect(status.message).toMatch(/ECONNREFUSED/)
      await waitFor(() => (reports.length > 0 ? true : undefined), 'onError')
      expect(reports[0]).toMatchObject({ info: { tenantId: 'tenant-a' }, error: { result: 'connection_refused', message: expect.stringContaining(where) } })
      const tested = await h.siem.testConnection('tenant-a', settings, { actor: ADMIN })
      expect(tested).toMatchObject({ ok: false, result: 'connection_refused', message: expect.stringContaining(where) })
      expect(tested.message).toMatch(/ECONNREFUSED/)
      expect(JSON.stringify([status, reports, tested])).not.toContain(TOKEN)
    } finally {
      await h.close()
    }
  })

  it('still never echoes what the collector says with an UNAVAILABLE (503) answer', async () => {
    const receiver = await startOtlpReceiver({ protocol, bearerToken: TOKEN })
    const h = await harness()
    try {
      receiver.failWith({ kind: 'status', status: 503, body: 'COLLECTOR-INTERNAL-DETAIL' })
      const result = await h.siem.testConnection('tenant-c', settingsFor(receiver, protocol), { actor: ADMIN })
      expect(result).toMatchObject({ ok: false, result: 'unavailable' })
      if (protocol === 'grpc') expect(result.message).toBe(`gRPC status 14 (UNAVAILABLE) while sending to 127.0.0.1:${receiver.port}`)
      expect(JSON.stringify(result)).not.toContain('COLLECTOR-INTERNAL-DETAIL')
    } finally {
      await h.close()
      await receiver.close()
    }
  })

  it('the default onError line names the tenant', async () => {
    const { endpoint, where } = await closedEndpoint()
    const lines: string[] = []
    const spy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')))
    const h = await harness({ onError: undefined })
    try {
      await h.siem.start()
      await h.siem.updateSettings('tenant-b', { enabled: true, endpoint, protocol, headers: { 'X-Api-Key': TOKEN } }, { actor: ADMIN })
      const line = await waitFor(() => lines.find((text) => text.includes('SIEM export')), 'a console line')
      expect(line).toMatch(/^\[auditkit\] SIEM export \(tenant "tenant-b"\): connection_refused: /)
      expect(line).toContain(where)
      expect(line).not.toContain(TOKEN)
    } finally {
      await h.close()
      spy.mockRestore()
    }
  })
})

describe('an onError that throws', () => {
  it.each([
    ['throws', () => { throw new Error('alerting exploded') }],
    ['rejects', () => Promise.reject(new Error('alerting down'))],
  ])('(%s) does not stop the exporter: it keeps retrying and delivers once the collector is back', async (_kind, onError) => {
    const receiver = await startOtlpReceiver({ protocol: 'http/protobuf', bearerToken: TOKEN })
    await receiver.stop()
    const h = await harness({ onError })
    try {
      await h.siem.start()
      await h.siem.updateSettings('noisy', settingsFor(receiver, 'http/protobuf'), { actor: ADMIN })
      await waitFor(async () => ((await h.siem.status('noisy')).lastError?.attempts ?? 0) >= 2 || undefined, 'two failed attempts')
      await receiver.start()
      await receiver.waitForRecords(1)
      expect(receiver.records[0]?.eventName).toBe('siem_config_updated')
    } finally {
      await h.close()
      await receiver.close()
    }
  })
})

