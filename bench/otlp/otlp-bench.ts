// SIEM export throughput: events per second from a file-backed SQLite store to a local OTLP receiver, per protocol.
// Baselines measured in the same run: the raw OTLP encode rate (no I/O) and the other protocol.
// Run: pnpm --filter @auditkit/bench exec tsx --conditions=source otlp/otlp-bench.ts
// Env: BENCH_EVENTS (default 20000), BENCH_BATCH (events per OTLP request, default 500).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAuditLogger, createSiemService, type AuditEvent, type DeliveryCursor, type SiemProtocol } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { decodeExportLogsRequest, startOtlpReceiver } from '@auditkit/test-utils'
import { encodeExportLogsRequest, eventToLogRecord } from '../../packages/core/src/siem/otlp-encoding.js'

const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 20_000)
const BATCH = Number(process.env['BENCH_BATCH'] ?? 500)
const dir = mkdtempSync(join(tmpdir(), 'auditkit-otlp-bench-'))

async function seed(path: string, tenantId: string): Promise<AuditEvent[]> {
  const store = createSqliteStore({ path })
  await store.init()
  const logger = createAuditLogger({ store, onError: () => {} })
  for (let i = 1; i <= EVENTS; i++) {
    void logger.record({
      tenantId,
      actor: { type: 'user', id: `u_${i % 50}`, name: `User ${i % 50}`, email: `user${i % 50}@example.com` },
      action: 'project_updated',
      resource: { type: 'project', id: `p_${i}`, name: `Project ${i}` },
      outcome: i % 20 === 0 ? 'failure' : 'success',
      context: { ip: '203.0.113.9', userAgent: 'Mozilla/5.0 (bench)', method: 'PATCH', path: `/projects/p_${i}`, route: '/projects/:id', status: 200 },
      changes: { before: { name: `Old ${i}` }, after: { name: `Project ${i}` } },
    })
  }
  await logger.flush()
  const sample = await store.readChain(tenantId, 0, Math.min(EVENTS, 5000))
  await logger.close()
  await store.close()
  return sample
}

function encodeRate(sample: AuditEvent[]): number {
  const options = { resource: [['service.name', 'bench']] as [string, string][], scopeName: '@auditkit/core' }
  // Warm up the JIT first, as the delivery runs below warm up on their own first batches.
  for (let i = 0; i < sample.length; i += BATCH) encodeExportLogsRequest(sample.slice(i, i + BATCH).map(eventToLogRecord), options)
  const started = process.hrtime.bigint()
  let encoded = 0
  while (encoded < EVENTS) {
    for (let i = 0; i < sample.length && encoded < EVENTS; i += BATCH) {
      const batch = sample.slice(i, i + BATCH)
      encodeExportLogsRequest(batch.map(eventToLogRecord), options)
      encoded += batch.length
    }
  }
  return encoded / (Number(process.hrtime.bigint() - started) / 1e9)
}

/** What the in-process receiver spends per event: part of every delivered figure below. */
function decodeRate(sample: AuditEvent[]): number {
  const options = { resource: [['service.name', 'bench']] as [string, string][], scopeName: '@auditkit/core' }
  const batches: Buffer[] = []
  for (let i = 0; i < sample.length; i += BATCH) batches.push(encodeExportLogsRequest(sample.slice(i, i + BATCH).map(eventToLogRecord), options))
  for (const batch of batches) decodeExportLogsRequest(batch)
  const started = process.hrtime.bigint()
  let decoded = 0
  while (decoded < EVENTS) for (const batch of batches) decoded += decodeExportLogsRequest(batch).length
  return decoded / (Number(process.hrtime.bigint() - started) / 1e9)
}

async function deliveryRate(protocol: SiemProtocol): Promise<{ rate: number; requests: number }> {
  const tenantId = `bench-${protocol.replace('/', '-')}`
  const path = join(dir, `${tenantId}.db`)
  await seed(path, tenantId)
  const receiver = await startOtlpReceiver({ protocol })
  const store = createSqliteStore({ path })
  const logger = createAuditLogger({ store, onError: () => {} })
  const siem = createSiemService({ logger, batchSize: BATCH, pollIntervalMs: 20, onError: (error) => console.error(error) })
  // Saving the settings appends siem_config_updated: EVENTS + 1 records to deliver.
  const total = EVENTS + 1
  const started = process.hrtime.bigint()
  await siem.start()
  await siem.updateSettings(tenantId, { enabled: true, endpoint: receiver.endpoint, protocol }, { actor: { type: 'system', id: 'bench' } })
  for (;;) {
    const cursor = await store.getState<DeliveryCursor>('siem.cursor', tenantId)
    if ((cursor?.seq ?? 0) >= total) break
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const received = receiver.records.length
  if (received < total) throw new Error(`receiver got ${received} of ${total}`)
  const requests = receiver.requests.length
  await siem.stop()
  await logger.close()
  await store.close()
  await receiver.close()
  return { rate: received / seconds, requests }
}

try {
  console.log(`SIEM export bench: ${EVENTS} events, ${BATCH} per OTLP request, receiver decoding in the same process (2 shared cores)`)
  const sample = await seed(join(dir, 'sample.db'), 'sample')
  const encode = encodeRate(sample)
  console.log(`baseline  raw OTLP encode (no I/O)        ${Math.round(encode).toLocaleString('en')} events/s`)
  const decode = decodeRate(sample)
  console.log(`baseline  receiver decode (protobufjs)    ${Math.round(decode).toLocaleString('en')} events/s  (the test receiver's share of each run below)`)
  const grpc = await deliveryRate('grpc')
  console.log(`grpc      store -> collector, delivered   ${Math.round(grpc.rate).toLocaleString('en')} events/s  (${grpc.requests} requests; ${(grpc.rate / encode).toFixed(2)}x encode)`)
  const http = await deliveryRate('http/protobuf')
  console.log(`http/pb   store -> collector, delivered   ${Math.round(http.rate).toLocaleString('en')} events/s  (${http.requests} requests; ${(http.rate / encode).toFixed(2)}x encode)`)
  console.log(`ratio     http/protobuf : grpc = ${(http.rate / grpc.rate).toFixed(2)}`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
