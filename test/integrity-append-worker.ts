// One writer process of test/integrity-processes.test.ts: its own store, logger and checkpointer on the shared file.
// argv: <db path> <worker number> <events> <private key PEM file> <rounds>
// The parent drives rounds: on each "go" line the worker records events/rounds events and answers "round <k>". Every
// worker runs every round at once, so the chain interleaves all of them whatever the scheduling (one process cannot
// finish before another starts).
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { createAuditLogger, createCheckpointer } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'

const [path, worker, count, keyFile, roundsText] = process.argv.slice(2)
if (!path || !worker || !count || !keyFile || !roundsText) throw new Error('usage: integrity-append-worker <db> <worker> <events> <key file> <rounds>')
const rounds = Number(roundsText)

const store = createSqliteStore({ path, busyTimeoutMs: 30_000 })
// Open the file (and start the writer thread) before the first round, so every process writes from the first event.
await store.init()
const errors: string[] = []
const logger = createAuditLogger({ store, batchSize: 50, retry: { initialDelayMs: 5, maxDelayMs: 200 }, onError: (error) => errors.push(error.code) })
const checkpointer = createCheckpointer({ logger, privateKey: readFileSync(keyFile, 'utf8'), everyEvents: 500, everyMs: 0 })
process.stdout.write('ready\n')

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
const perRound = Math.ceil(Number(count) / rounds)
for (let round = 0; round < rounds; round++) {
  await lines.next()
  for (let n = round * perRound; n < Math.min(Number(count), (round + 1) * perRound); n++) {
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
  process.stdout.write(`round ${round}\n`)
}
await checkpointer.close()
await logger.close()
await store.close()
process.stdout.write(`${JSON.stringify({ worker, written: logger.stats().written, errors: [...new Set(errors)] })}\n`)
process.stdin.destroy()
