/**
 * The writer thread of a SQLite store (`writer: 'thread'`), started by `createWriterThread`. It opens its own connection
 * to the store's file and runs the store's own `append`: the same transaction, sealing and facet counting as on the
 * main thread, so both ways of writing produce the same rows. Started by `createReaderThread` (`reader: 'thread'`),
 * the same entry opens the file read-only and runs the store's own `query` and `facets` instead.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { AUDIT_ERROR_CODES, type AuditErrorCode } from '../../errors.js'
import type { AuditEvent, UnsealedEvent } from '../../event/schema.js'
import { createSealer, type Sealer } from '../../integrity/hash.js'
import { createSqliteStore } from './sqlite-store.js'
import type { Seal, ThreadRole, ThreadReply, ThreadRequest, StoreThreadSettings } from './writer-thread.js'

const port = parentPort
if (port === null) throw new Error('writer-worker runs as a worker thread of createSqliteStore({ writer: "thread" })')

const { role = 'writer', ...settings } = workerData as StoreThreadSettings & { role?: ThreadRole }
// A reader never writes: read-only, it cannot change the file even by mistake (no schema work, no facet catch-up).
const store = createSqliteStore({ ...settings, writer: 'inline', reader: 'inline', readonly: role === 'reader' })
const sealers = new Map<string, Sealer>()

function sealerFor(hmacKey: string | Buffer | undefined): Sealer {
  const key = hmacKey === undefined ? '' : typeof hmacKey === 'string' ? `s:${hmacKey}` : `b:${Buffer.from(hmacKey).toString('hex')}`
  let seal = sealers.get(key)
  if (!seal) {
    // Structured cloning turns a Buffer into a plain Uint8Array: make it a Buffer again for createHmac.
    seal = createSealer(hmacKey === undefined || typeof hmacKey === 'string' ? hmacKey : Buffer.from(hmacKey))
    sealers.set(key, seal)
  }
  return seal
}

/** Appends `events`; those whose commit is uncertain (a previous thread died) are looked up first and not written twice. */
async function appendOnce(events: readonly UnsealedEvent[], seal: Sealer, uncertainIds: readonly string[]): Promise<Seal[]> {
  const stored = new Map<string, AuditEvent>()
  if (uncertainIds.length > 0) {
    const uncertain = new Set(uncertainIds)
    for (const event of events) {
      if (!uncertain.has(event.id)) continue
      const found = await store.get(event.tenantId, event.id)
      if (found) stored.set(event.id, found)
    }
  }
  const fresh = stored.size === 0 ? events : events.filter((event) => !stored.has(event.id))
  const written = new Map((await store.append(fresh, seal)).map((event) => [event.id, event]))
  return events.map((event) => {
    const sealed = stored.get(event.id) ?? written.get(event.id)
    if (!sealed) throw new Error(`event ${event.id} was neither found nor written`)
    return [sealed.seq, sealed.prevHash, sealed.hash]
  })
}

/** Carries an error across the thread boundary with its code. */
function failureOf(id: number, error: unknown): ThreadReply {
  // The store's own errors keep their code (CHAIN_CONFLICT, STORE_UNAVAILABLE); anything else is the store being unavailable.
  const code = (error as { code?: unknown } | null)?.code
  if (error instanceof Error && (AUDIT_ERROR_CODES as readonly unknown[]).includes(code)) return { type: 'failed', id, code: code as AuditErrorCode, message: error.message }
  return { type: 'failed', id, code: 'STORE_UNAVAILABLE', message: error instanceof Error ? error.message : String(error) }
}

function post(reply: ThreadReply): void {
  port?.postMessage(reply)
}

// Loaded: from here on a failure is the store's (answered per request, retried by the logger), not the thread's.
post({ type: 'ready' })
// Requests are handled one at a time, in the order they were sent (each step catches its own errors).
let work: Promise<void> = Promise.resolve()
port.on('message', (request: ThreadRequest) => {
  work = work.then(async () => {
    if (request.type === 'close') {
      await store.close().catch(() => undefined)
      // Nothing else keeps the thread alive: it exits, which is what the store's close() waits for.
      port.close()
      return
    }
    try {
      if (request.type === 'read') {
        const result = request.operation === 'query' ? await store.query(request.argument) : await store.facets(request.argument)
        post({ type: 'read', id: request.id, result })
        return
      }
      post({ type: 'appended', id: request.id, seals: await appendOnce(request.events, sealerFor(request.hmacKey), request.uncertainIds) })
    } catch (error) {
      post(failureOf(request.id, error))
    }
  })
})
