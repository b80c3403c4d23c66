// One writer process of test/integrity-processes.test.ts: its own store, logger and checkpointer on the shared file.
// argv: <db path> <worker number> <events> <private key PEM file>
import { readFileSync } from 'node:fs'
import { createAuditLogger, createCheckpointer } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'

const [path, worker, count, keyFile] = process.argv.slice(2)
if (!path || !worker || !count || !keyFile) throw new Error('usage: integrity-append-worker <db> <worker> <events> <key file>')

const store = createSqliteStore({ path, busyTimeoutMs: 30_000 })
const errors: string[] = []
const logger = createAuditLogger({ store, batchSize: 50, retry: { initialDelayMs: 5, maxDelayMs: 200 }, onError: (error) => errors.push(error.code) })
const checkpointer = createCheckpointer({ logger, privateKey: readFileSync(keyFile, 'utf8'), everyEvents: 500, everyMs: 0 })

for (let n = 0; n < Number(count); n++) {
  void logger.record({
    tenantId: 'shared',
    actor: { type: 'api_key', id: `worker-${worker}` },
    action: 'item_created',
    resource: { type: 'item', id: `${worker}-${n}` },
    outcome: 'success',
    metadata: { worker: Number(worker), n },
  })
  // Interleave with the other processes instead of queueing everything up front.
  if (n % 50 === 49) await logger.flush()
}
await logger.flush()
await checkpointer.close()
await logger.close()
await store.close()
process.stdout.write(`${JSON.stringify({ worker, written: logger.stats().written, errors: [...new Set(errors)] })}\n`)
