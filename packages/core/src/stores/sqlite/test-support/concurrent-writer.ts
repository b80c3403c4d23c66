// A separate OS process for the SQLite tests: one app instance recording into a shared file.
// Usage: node --import tsx concurrent-writer.ts <path> <writer> <count> <rounds>
// The parent drives rounds: on each "go" line the writer records count/rounds events and answers "round <k>".
// Both writers run every round at once, so their transactions overlap when the OS lets them, and their events
// interleave in every chain whatever the scheduling (one writer cannot finish before the other starts).
import { createInterface } from 'node:readline'
import { createAuditLogger } from '../../../logger/audit-logger.js'
import { createSqliteStore } from '../sqlite-store.js'

const [path, writer, countText, roundsText] = process.argv.slice(2)
if (path === undefined || writer === undefined || countText === undefined || roundsText === undefined) {
  throw new Error('usage: <path> <writer> <count> <rounds>')
}
const count = Number(countText)
const rounds = Number(roundsText)
const store = createSqliteStore({ path, busyTimeoutMs: 10_000 })
// Open the file and start the writer thread before the first round, so that both processes write from the first event.
await store.init()
const failures: string[] = []
const logger = createAuditLogger({
  store,
  batchSize: 25,
  retry: { initialDelayMs: 5, maxDelayMs: 100 },
  onError: (error) => failures.push(error.code),
})
process.stdout.write('ready\n')
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
const ids: string[] = []
const perRound = Math.ceil(count / rounds)
for (let round = 0; round < rounds; round++) {
  await lines.next()
  for (let n = round * perRound; n < Math.min(count, (round + 1) * perRound); n++) {
    const receipt = await logger.record({
      tenantId: `tenant-${n % 2}`,
      actor: { type: 'system', id: writer },
      action: 'project_updated',
      resource: { type: 'project', id: `project-${n}` },
      outcome: 'success',
      metadata: { writer, n },
    })
    ids.push(receipt.id)
    if (n % 20 === 0) await new Promise((resolve) => setImmediate(resolve))
  }
  await logger.flush()
  process.stdout.write(`round ${round}\n`)
}
await logger.close()
await store.close()
process.stdout.write(`${JSON.stringify({ ids, stats: logger.stats(), failures })}\n`)
process.stdin.destroy()
