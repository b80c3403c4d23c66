// The request thread's share of a recorded request: CPU µs that the app's own thread pays per event for core's
// capture (begin/end), validation, redaction, ids, queueing and the hand-off to the store, measured in one process
// without HTTP, so that neither the load generator nor the HTTP stack blurs it. The baseline, in the same run, is
// the same pipeline into a store that keeps nothing. The adapters' own translation (a few µs) is not in these figures.
// Run: pnpm --filter @auditkit/bench run bench:capture   (BENCH_EVENTS=60000; Linux, for the per-thread CPU counter)
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises'
import { createAuditCapture, createAuditLogger, type Actor, type AuditStore } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { requestThreadCpuMicros, storeThatKeepsNothing } from '../overhead/bench-server.js'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 60_000)
const WARMUP = Math.min(20_000, EVENTS)
/** Requests handled between two turns of the event loop, as a busy server would. */
const BURST = 50

interface BenchRequest {
  user: Actor
}

interface Figures {
  requestThread: number
  process: number
  /** Events per store append (one transaction each), over the measured part. */
  perBatch: number
}

async function run(store: AuditStore): Promise<Figures> {
  await store.init()
  const logger = createAuditLogger({ store })
  let batches = 0
  logger.onAppend(() => void batches++) // as the SIEM exporter does: the sealed events are built and handed out
  const capture = createAuditCapture<BenchRequest>({ logger, actor: (req) => req.user, tenant: () => 'bench' })
  const req: BenchRequest = { user: { type: 'user', id: 'user_ada', name: 'Ada Admin', email: 'ada@example.com' } }
  const handle = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      const recording = capture.begin(req, { method: 'POST', path: '/projects', ip: '127.0.0.1', userAgent: 'bench/1.0', requestId: `req-${i}` })
      void recording?.end({ status: 201, route: '/projects', params: {} })
      if (i % BURST === BURST - 1) {
        await nextTurn()
        // A store slower than this loop would fill the queue: wait for it, as a saturated server would.
        while (logger.stats().queued >= 10_000) await sleep(5)
      }
    }
    await logger.flush()
  }
  await handle(WARMUP)
  batches = 0
  const threadMark = requestThreadCpuMicros()
  const processMark = process.cpuUsage()
  await handle(EVENTS)
  const used = process.cpuUsage(processMark)
  const thread = requestThreadCpuMicros()
  await logger.close()
  await store.close()
  if (thread === null || threadMark === null) throw new Error('this bench reads per-thread CPU time from /proc (Linux)')
  return { requestThread: (thread - threadMark) / EVENTS, process: (used.user + used.system) / EVENTS, perBatch: EVENTS / batches }
}

const dir = mkdtempSync(join(tmpdir(), 'auditkit-bench-capture-'))
try {
  const baseline = await run(storeThatKeepsNothing())
  const threaded = await run(createSqliteStore({ path: join(dir, 'thread.db'), writer: 'thread' }))
  const inline = await run(createSqliteStore({ path: join(dir, 'inline.db'), writer: 'inline' }))
  const row = (name: string, f: Figures): string =>
    `${name.padEnd(30)} request thread ${f.requestThread.toFixed(1).padStart(5)} µs/event (${(f.requestThread / baseline.requestThread).toFixed(2)}x)` +
    `   whole process ${f.process.toFixed(1).padStart(5)} µs/event (${(f.process / baseline.process).toFixed(2)}x)` +
    `   ${f.perBatch.toFixed(0).padStart(4)} events a batch`
  console.log(`capture: ${EVENTS} recorded POSTs through core's capture and logger, after ${WARMUP} to warm up`)
  console.log(row('store that keeps nothing', baseline))
  console.log(row('sqlite, writer thread', threaded))
  console.log(row('sqlite, inline', inline))
  console.log(
    `the writer thread moves ${(inline.requestThread - threaded.requestThread).toFixed(1)} µs of every event off the request thread ` +
      `and costs ${(threaded.process - inline.process).toFixed(1)} µs more CPU in all`,
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}
