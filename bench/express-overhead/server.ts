/**
 * One benchmark server in its own process (so the load generator never shares its event loop).
 * Variant from argv[2]: `bare`, `auditkit` (auditMiddleware, async delivery, SQLite file store) or `pino-http`.
 * Prints `LISTENING <port>` when ready; exits on SIGTERM after flushing.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAuditLogger, type AuditLogger, type AuditStore, type ChainHead } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { auditMiddleware } from '@auditkit/express'
import express from 'express'
import pino from 'pino'
import { pinoHttp } from 'pino-http'

const variant = process.argv[2] ?? 'bare'
const app = express()
let logger: AuditLogger | undefined
let store: AuditStore | undefined
let dir: string | undefined
let batches = 0

// The same stand-in authentication for every variant, so only the logging differs.
app.use((req, _res, next) => {
  ;(req as { user?: unknown }).user = { id: 'user_ada', name: 'Ada Admin', email: 'ada@example.com' }
  next()
})
if (variant === 'auditkit-nostore') {
  // Diagnostic: the whole capture pipeline (validate, redact, seal) with a store that keeps nothing, to tell the
  // adapter's and logger's cost apart from SQLite's.
  store = discardingStore()
  logger = createAuditLogger({ store })
  app.use(auditMiddleware({ logger, tenant: () => 'bench' }))
} else if (variant === 'auditkit') {
  dir = mkdtempSync(join(tmpdir(), 'auditkit-bench-express-'))
  store = createSqliteStore({ path: join(dir, 'audit.db') })
  logger = createAuditLogger({ store, ...(process.env.BENCH_FLUSH_INTERVAL_MS ? { flushIntervalMs: Number(process.env.BENCH_FLUSH_INTERVAL_MS) } : {}) })
  logger.onAppend(() => batches++)
  app.use(auditMiddleware({ logger, tenant: () => 'bench' }))
} else if (variant === 'pino-http') {
  app.use(pinoHttp({ logger: pino(pino.destination({ dest: '/dev/null', sync: false })) }))
} else if (variant !== 'bare') {
  throw new Error(`unknown variant ${variant}`)
}

function discardingStore(): AuditStore {
  const heads = new Map<string, ChainHead>()
  const unsupported = (): never => {
    throw new Error('the discarding bench store only appends')
  }
  return {
    kind: 'discard',
    init: async () => {},
    append: async (events, seal) =>
      events.map((event) => {
        const sealed = seal(event, heads.get(event.chainId) ?? null)
        heads.set(event.chainId, { seq: sealed.seq, hash: sealed.hash })
        return sealed
      }),
    query: unsupported,
    get: unsupported,
    facets: unsupported,
    stream: unsupported,
    readChain: unsupported,
    chainHead: async (chainId) => heads.get(chainId) ?? null,
    listChains: async () => [...heads.keys()],
    getState: unsupported,
    putState: unsupported,
    listState: unsupported,
    acquireLease: unsupported,
    releaseLease: unsupported,
    appendCheckpoint: unsupported,
    listCheckpoints: unsupported,
    close: async () => {},
  }
}

// CPU time per request is far less disturbed by other processes than wall-clock throughput on a shared machine.
let cpuMark = process.cpuUsage()
let served = 0
app.get('/__bench/reset', (_req, res) => {
  cpuMark = process.cpuUsage()
  served = 0
  res.json({ ok: true })
})
app.get('/__bench/cpu', (_req, res) => {
  const used = process.cpuUsage(cpuMark)
  res.json({ cpuMicros: used.user + used.system, served })
})
app.post('/projects', express.json(), (req, res) => {
  served++
  const { name } = req.body as { name?: string }
  res.status(201).json({ id: 'p_1', name: name ?? 'Untitled' })
})

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${(server.address() as AddressInfo).port}\n`)
})

process.on('SIGTERM', () => {
  server.close()
  void (async () => {
    if (logger) {
      await logger.close()
      const stats = logger.stats()
      process.stdout.write(`STATS ${JSON.stringify({ written: stats.written, invalid: stats.invalid, writeFailures: stats.writeFailures, batches })}\n`)
    }
    await store?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
    process.exit(0)
  })()
})
