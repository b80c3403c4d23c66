import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expectIntactChain } from '@auditkit/test-utils'
import { MongoClient } from 'mongodb'
import { afterAll, describe, expect, it } from 'vitest'
import { createMongoStore } from '../src/stores/mongodb/index.js'
import { MONGODB_URI, uniqueDatabase, warnSkipped } from './mongodb-server.js'

const run = promisify(execFile)
const WRITERS = Number(process.env.AUDITKIT_MP_WRITERS ?? 4)
const PER_WRITER = Number(process.env.AUDITKIT_MP_EVENTS ?? 150)

if (MONGODB_URI === '') {
  warnSkipped('multi-process append test for the MongoDB store (test/mongodb-multiprocess.test.ts)')
  describe.skip('MongoDB store, several processes on one chain — SKIPPED, set MONGODB_URI to run against a real server', () => {
    it('keeps the chain gapless and unforked', () => {})
  })
} else {
  describe('MongoDB store, several processes on one chain', () => {
    const database = uniqueDatabase('multiprocess')
    const client = new MongoClient(MONGODB_URI)

    afterAll(async () => {
      await client.db(database).dropDatabase()
      await client.close()
    })

    it(`${WRITERS} processes appending ${PER_WRITER} events each to one chain: seq gapless, no fork, every event once`, async () => {
      const tenant = 'tenant-multiprocess'
      const hmacKey = 'multiprocess-hmac-key'
      const script = fileURLToPath(new URL('./mongodb-writer-process.ts', import.meta.url))
      const root = fileURLToPath(new URL('../../..', import.meta.url))
      // Create the indexes once first, as a deployment would; the processes' own init() must then be a no-op.
      const setup = createMongoStore({ client, database })
      await setup.init()
      const outputs = await Promise.all(
        Array.from({ length: WRITERS }, (_, writer) =>
          run(process.execPath, ['--import', 'tsx', script], {
            cwd: root,
            env: { ...process.env, MONGODB_URI, DATABASE: database, WRITER: String(writer), COUNT: String(PER_WRITER), TENANT: tenant, HMAC_KEY: hmacKey },
            maxBuffer: 16 * 1024 * 1024,
            timeout: 110_000,
          }),
        ),
      )
      const reports = outputs.map(({ stdout }) => JSON.parse(stdout) as { ids: string[]; failures: string[]; stats: { written: number } })
      const recorded = reports.flatMap((report) => report.ids)
      for (const report of reports) expect(report.stats.written).toBe(PER_WRITER)
      // Races happened (CHAIN_CONFLICT retries are reported to onError), and none lost an event.
      expect(await expectIntactChain(setup, tenant, hmacKey)).toBe(WRITERS * PER_WRITER)
      const stored = await setup.readChain(tenant, 0, WRITERS * PER_WRITER + 1)
      expect(stored.map((event) => event.seq)).toEqual(Array.from({ length: WRITERS * PER_WRITER }, (_, i) => i + 1))
      expect(new Set(stored.map((event) => event.id)).size).toBe(stored.length)
      expect(stored.map((event) => event.id).sort()).toEqual([...recorded].sort())
      await setup.close()
    }, 120_000)
  })
}
