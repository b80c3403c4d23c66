// A separate OS process for the SQLite tests: one app instance recording into a shared file.
// Usage: node --import tsx concurrent-writer.ts <path> <writer> <count>
import { createAuditLogger } from '../../../logger/audit-logger.js'
import { createSqliteStore } from '../sqlite-store.js'

const [path, writer, countText] = process.argv.slice(2)
if (path === undefined || writer === undefined || countText === undefined) throw new Error('usage: <path> <writer> <count>')
const count = Number(countText)
const store = createSqliteStore({ path, busyTimeoutMs: 10_000 })
// Open the file and start the writer thread before the barrier, so that both processes write from the first event.
await store.init()
const failures: string[] = []
const logger = createAuditLogger({
  store,
  batchSize: 25,
  retry: { initialDelayMs: 5, maxDelayMs: 100 },
  onError: (error) => failures.push(error.code),
})
// Start barrier: the parent says "go" to every writer at once, so their transactions really overlap.
process.stdout.write('ready\n')
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()))
const ids: string[] = []
for (let n = 0; n < count; n++) {
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
await logger.close()
await store.close()
process.stdout.write(`${JSON.stringify({ ids, stats: logger.stats(), failures })}\n`)
process.stdin.destroy()
