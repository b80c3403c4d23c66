// A writer process for test/durability-kill.test.ts: records events as fast as it can and prints the id of each one
// `await` delivery reported durable, until it is killed; a checkpointer signs the chains meanwhile.
// argv: <db path> <writer: thread|inline> <name> <private key PEM file>
import { readFileSync } from 'node:fs'
import { createAuditLogger, createCheckpointer } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'

const [path, writer, name, keyFile] = process.argv.slice(2)
if (!path || (writer !== 'thread' && writer !== 'inline') || !name || !keyFile) throw new Error('usage: durability-kill-worker <db> <thread|inline> <name> <key file>')

const store = createSqliteStore({ path, writer, busyTimeoutMs: 30_000 })
const logger = createAuditLogger({ store, batchSize: 50, groupCommitMs: 1, retry: { initialDelayMs: 5, maxDelayMs: 100 }, onError: () => {} })
createCheckpointer({ logger, privateKey: readFileSync(keyFile, 'utf8'), everyEvents: 100, everyMs: 50, onError: () => {} })
const writerName: string = name
let n = 0
// Several requests in flight at once, so that batches of many events are being written when the kill comes.
async function client(): Promise<void> {
  for (;;) {
    const i = n++
    const result = await logger.record(
      {
        tenantId: `tenant-${i % 3}`,
        actor: { type: 'user', id: writerName },
        action: 'item_created',
        resource: { type: 'item', id: `${writerName}-${i}` },
        outcome: 'success',
        metadata: { i },
      },
      { delivery: 'await' },
    )
    process.stdout.write(`${result.event?.tenantId} ${result.id}\n`)
  }
}
await Promise.all(Array.from({ length: 40 }, client))
