// One app instance exporting to the SIEM, as a separate OS process (killed and restarted by siem-restart.test.ts).
// Usage: node --import tsx --conditions=source siem-exporter-process.ts <sqlite path> <instance id>
import { createAuditLogger, createSiemService } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'

const [path, instanceId, secretKey] = process.argv.slice(2)
if (path === undefined || instanceId === undefined || secretKey === undefined) throw new Error('usage: <path> <instance id> <secret key>')
const store = createSqliteStore({ path, busyTimeoutMs: 10_000 })
const logger = createAuditLogger({ store, onError: () => {} })
const siem = createSiemService({
  logger,
  secretKey,
  instanceId,
  serviceName: instanceId,
  batchSize: 20,
  pollIntervalMs: 50,
  // A request that times out is sent again (a duplicate batch at the collector): generous enough for a busy machine, and
  // a lease short enough that the replacement process takes over from a killed one within seconds.
  leaseTtlMs: 5000,
  requestTimeoutMs: 4000,
  retry: { initialDelayMs: 50, maxDelayMs: 300 },
  onError: () => {},
})
await siem.start()
// The exporter's timers do not hold the process open (as in an app, where the HTTP server does): this does.
const keepAlive = setInterval(() => {}, 60_000)
process.stdout.write('started\n')
process.on('SIGTERM', () => {
  void siem
    .stop()
    .then(() => logger.close())
    .then(() => store.close())
    .then(() => {
      clearInterval(keepAlive)
      process.exit(0)
    })
})
