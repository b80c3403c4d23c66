import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startOtlpReceiver, storeWithCalls, waitFor } from '@auditkit/test-utils'
import { createAuditLogger } from '../logger/audit-logger.js'
import { createSqliteStore } from '../stores/sqlite/sqlite-store.js'
import { SIEM_STATE } from './delivery-worker.js'
import { createSiemService, type SiemServiceOptions } from './siem-service.js'
import type { SiemProtocol } from './settings.js'

// Costs that grow with the number of tenants exporting: counted (store calls, connections), not timed.

const dir = mkdtempSync(join(tmpdir(), 'auditkit-siem-many-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const ADMIN = { actor: { type: 'user' as const, id: 'admin_1' } }
let files = 0

async function instance(path: string, id: string, overrides: Partial<SiemServiceOptions> = {}) {
  const store = createSqliteStore({ path, busyTimeoutMs: 10_000 })
  await store.init()
  const logger = createAuditLogger({ store, onError: () => {} })
  const calls: Record<string, number> = {}
  const counted = storeWithCalls(store, (method, call) => {
    calls[method] = (calls[method] ?? 0) + 1
    return call()
  })
  const errors: unknown[] = []
  const siem = createSiemService({
    logger,
    store: counted,
    instanceId: id,
    pollIntervalMs: 20,
    leaseTtlMs: 4000,
    requestTimeoutMs: 1000,
    retry: { initialDelayMs: 50, maxDelayMs: 200 },
    onError: (error) => errors.push(error),
    ...overrides,
  })
  return {
    store,
    siem,
    calls,
    errors,
    async close() {
      await siem.stop()
      await logger.close()
      await store.close()
    },
  }
}

describe('an instance that holds no lease (another replica exports the tenants)', () => {
  it('asks for each lease every half request timeout, not at every poll (a store write per tenant per poll)', async () => {
    const receiver = await startOtlpReceiver({ protocol: 'http/protobuf' })
    const path = join(dir, `follower-${++files}.db`)
    const a = await instance(path, 'a')
    const b = await instance(path, 'b')
    const tenants = ['t1', 't2', 't3', 't4', 't5']
    try {
      for (const tenant of tenants) await a.siem.updateSettings(tenant, { enabled: true, endpoint: receiver.endpoint, protocol: 'http/protobuf' }, ADMIN)
      await a.siem.start()
      await waitFor(() => receiver.records.length >= tenants.length, 'one record per tenant')
      await b.siem.start()
      const before = b.calls['acquireLease'] ?? 0
      // 50 polls of 20 ms: one lease probe per tenant per poll would be 250 store writes.
      await new Promise((resolve) => setTimeout(resolve, 1000))
      const probes = (b.calls['acquireLease'] ?? 0) - before
      // requestTimeoutMs / 2 = 500 ms: about two probes per tenant in this second.
      expect(probes).toBeLessThanOrEqual(tenants.length * 3)
    } finally {
      await b.close()
      await a.close()
      await receiver.close()
    }
  })
})

describe.each<SiemProtocol>(['http/protobuf', 'grpc'])('stop() with a request in flight to a collector that never answers, over %s', (protocol) => {
  it('abandons the request at once: no timeout recorded, no cursor moved (HTTP: the connection closed)', { timeout: 30_000 }, async () => {
    const sockets: Socket[] = []
    const closed: Socket[] = []
    const hang = createServer((socket) => {
      sockets.push(socket)
      // Reads (and drops) what arrives, never answering: so that the client's FIN is seen.
      socket.resume()
      socket.on('error', () => {})
      socket.on('close', () => closed.push(socket))
    })
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve))
    const port = (hang.address() as AddressInfo).port
    const endpoint = protocol === 'grpc' ? `http://127.0.0.1:${port}` : `http://127.0.0.1:${port}/v1/logs`
    // A request timeout far longer than the test: stop() must not wait for it.
    const a = await instance(join(dir, `hang-${++files}.db`), 'a', { requestTimeoutMs: 20_000, leaseTtlMs: 60_000 })
    try {
      await a.siem.updateSettings('hung', { enabled: true, endpoint, protocol }, ADMIN)
      await a.siem.start()
      await waitFor(() => sockets.length >= 1, 'the connection')
      await new Promise((resolve) => setTimeout(resolve, 100))
      const stopping = Date.now()
      await a.siem.stop()
      // The 1 s grace, not the 20 s request timeout (which would also leave no status and no cursor behind).
      expect(Date.now() - stopping).toBeLessThan(5000)
      expect(a.errors).toEqual([])
      expect(await a.store.getState(SIEM_STATE.status, 'hung')).toBeNull()
      expect(await a.store.getState(SIEM_STATE.cursor, 'hung')).toBeNull()
      // grpc-js ends a connection still in its HTTP/2 handshake on its own schedule (its connect timeout), after stop().
      if (protocol === 'http/protobuf') await waitFor(() => closed.length === sockets.length, `the connections closed (${closed.length} of ${sockets.length})`)
    } finally {
      await a.close()
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => hang.close(resolve))
    }
  })
})
