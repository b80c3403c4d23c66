/**
 * One app instance of the multi-process test (test/mongodb-multiprocess.test.ts): appends `COUNT` events to one
 * tenant's chain through its own logger and MongoDB connection, then prints the ids it recorded as JSON.
 */
import { createAuditLogger } from '../src/index.js'
import { createMongoStore } from '../src/stores/mongodb/index.js'

const { MONGODB_URI, DATABASE, WRITER, COUNT, TENANT, HMAC_KEY } = process.env
if (!MONGODB_URI || !DATABASE || !WRITER || !COUNT || !TENANT || !HMAC_KEY) throw new Error('mongodb-writer-process: missing environment')

const store = createMongoStore({ uri: MONGODB_URI, database: DATABASE, maxAppendAttempts: 50 })
const failures: string[] = []
const logger = createAuditLogger({
  store,
  batchSize: 7, // small batches: many head races per process
  hmacKey: HMAC_KEY,
  retry: { initialDelayMs: 5, maxDelayMs: 200 },
  onError: (error) => failures.push(`${error.code}: ${error.message}`),
})
const ids: string[] = []
for (let n = 0; n < Number(COUNT); n++) {
  const receipt = await logger.record({
    tenantId: TENANT,
    actor: { type: 'system', id: `writer-${WRITER}` },
    action: 'record_written',
    resource: { type: 'record', id: `${WRITER}-${n}` },
    outcome: 'success',
    metadata: { writer: WRITER, n },
  })
  ids.push(receipt.id)
  if (n % 10 === 0) await new Promise((resolve) => setImmediate(resolve))
}
await logger.close()
await store.close()
process.stdout.write(JSON.stringify({ writer: WRITER, ids, failures, stats: logger.stats() }))
