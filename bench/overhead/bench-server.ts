/**
 * What every overhead bench server shares, whatever its framework: the variant from argv[2], the AuditKit logger
 * (SQLite file store in a temp dir), the stand-in user, the CPU counters behind `/__bench/reset` and `/__bench/cpu`,
 * and the protocol with the runner: print `LISTENING <port>` when ready; on SIGTERM flush, print `STATS {...}`, exit.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAuditLogger, type AuditLogger, type AuditStore } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
// The subpath, not the package's index: that pulls in gRPC and Vitest, which the bundled servers cannot load.
import { storeWithAppend } from '@auditkit/test-utils/store-with-append'
import pino from 'pino'
import { VARIANTS, type Variant } from './run-overhead.js'

export function benchVariant(): Variant {
  const variant = process.argv[2] ?? 'bare'
  if (!(VARIANTS as readonly string[]).includes(variant)) throw new Error(`unknown variant ${variant}`)
  return variant as Variant
}

/** The same stand-in authenticated user in every variant, so only the logging differs. */
export const BENCH_USER = { id: 'user_ada', name: 'Ada Admin', email: 'ada@example.com' }

/** pino-http's logger, writing to /dev/null asynchronously (the cheapest honest pino setup). */
export function benchPino(): pino.Logger {
  return pino(pino.destination({ dest: '/dev/null', sync: false }))
}

export interface BenchAudit {
  logger: AuditLogger
  close(): Promise<void>
}

/** A store that seals nothing and writes nothing: what is left is the pipeline itself. */
export function storeThatKeepsNothing(): AuditStore {
  return storeWithAppend(createSqliteStore({ path: ':memory:' }), async (events) =>
    events.map((event, seq) => Object.assign({}, event, { seq, prevHash: '', hash: '' })),
  )
}

/**
 * The AuditKit logger of the `auditkit` variant, on a fresh SQLite file (`BENCH_WRITER=inline`: written on the request
 * thread; `BENCH_WRITER=discard`: a store that keeps nothing, to see the capture's cost without the store's).
 */
export function createBenchAudit(framework: string): BenchAudit {
  const dir = mkdtempSync(join(tmpdir(), `auditkit-bench-${framework}-`))
  const writer = process.env.BENCH_WRITER
  const store =
    writer === 'discard' ? storeThatKeepsNothing() : createSqliteStore({ path: join(dir, 'audit.db'), writer: writer === 'inline' ? 'inline' : 'thread' })
  const flush = process.env.BENCH_FLUSH_INTERVAL_MS
  const logger = createAuditLogger({ store, ...(flush ? { flushIntervalMs: Number(flush) } : {}) })
  let batches = 0
  logger.onAppend(() => void batches++)
  return {
    logger,
    async close() {
      await logger.close()
      const stats = logger.stats()
      process.stdout.write(`STATS ${JSON.stringify({ written: stats.written, invalid: stats.invalid, writeFailures: stats.writeFailures, batches })}\n`)
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * CPU time of the main (request) thread alone, in µs, from Linux's per-thread counters (utime + stime, in clock ticks
 * of 10 ms); null elsewhere. Node 20 has no `process.threadCpuUsage()`.
 */
export function requestThreadCpuMicros(): number | null {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
    const ticks = Number(fields[11]) + Number(fields[12])
    return Number.isFinite(ticks) ? ticks * 10_000 : null
  } catch {
    return null
  }
}

export interface CpuReport {
  /** The whole process: every thread, the writer thread included. */
  cpuMicros: number
  /** The request thread alone (null where the OS does not say). */
  requestThreadMicros: number | null
  served: number
}

/** CPU time per request is far less disturbed by other processes than wall-clock throughput on a shared machine. */
export function createCpuCounter(): { served(): void; reset(): void; report(): CpuReport } {
  let mark = process.cpuUsage()
  let threadMark = requestThreadCpuMicros()
  let served = 0
  return {
    served: () => void served++,
    reset() {
      mark = process.cpuUsage()
      threadMark = requestThreadCpuMicros()
      served = 0
    },
    report() {
      const used = process.cpuUsage(mark)
      const thread = requestThreadCpuMicros()
      return { cpuMicros: used.user + used.system, requestThreadMicros: thread === null || threadMark === null ? null : thread - threadMark, served }
    },
  }
}

/** Prints the port for the runner, and shuts down cleanly on SIGTERM. */
export function announce(port: number, shutdown: () => Promise<void>): void {
  process.stdout.write(`LISTENING ${port}\n`)
  process.once('SIGTERM', () => {
    void shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error)
        process.exit(1)
      },
    )
  })
}
