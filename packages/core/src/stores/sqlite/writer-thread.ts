// The worker threads of a SQLite store: the writer (`createWriterThread`: appends) and the reader (`createReaderThread`:
// queries and facets). Both run the same entry, writer-worker.ts, which its `role` tells what to open and serve.
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { AuditKitError, type AuditErrorCode } from '../../errors.js'
import type { AuditEvent, UnsealedEvent } from '../../event/schema.js'
import type { EventFilter, EventPage, EventQuery, Facets } from '../../store/types.js'

/** What a store thread needs to open the same file the way the store does. */
export interface StoreThreadSettings {
  path: string
  busyTimeoutMs: number
  cacheSizeKiB: number
  searchIndex: boolean
}

/** What a thread of the store does: write (append) or read (the admin's queries and facets). */
export type ThreadRole = 'writer' | 'reader'

/** The store reads a reader thread runs (those whose time grows with the events they match), with their argument. */
export interface ThreadReadArguments {
  query: EventQuery
  facets: EventFilter
}

/** A read as it crosses to the thread. */
export type ThreadRead = { operation: 'query'; argument: EventQuery } | { operation: 'facets'; argument: EventFilter }

/** What a thread read answers, by operation. */
export interface ThreadReadResults {
  query: EventPage
  facets: Facets
}

/** Main thread -> store thread. */
export type ThreadRequest =
  | {
      type: 'append'
      id: number
      /**
       * The events themselves, structured-cloned. Measured on Node 20 (events of a recorded request, batches of 5-170):
       * cloning costs the two threads together 1.3-3.5 µs an event, against 3-7 µs for `JSON.stringify` plus `JSON.parse`
       * of the same batch, and the request thread's part is the smaller one too.
       */
      events: readonly UnsealedEvent[]
      hmacKey: string | Buffer | undefined
      /** Events of a batch whose commit may have happened before the previous writer thread died: look them up first. */
      uncertainIds: string[]
    }
  | ({ type: 'read'; id: number } & ThreadRead)
  | { type: 'close' }

/** `[seq, prevHash, hash]`: all a sealed event adds to the event that was sent. */
export type Seal = [number, string, string]

/** Store thread -> main thread. */
export type ThreadReply =
  | { type: 'ready' }
  | { type: 'appended'; id: number; seals: Seal[] }
  | { type: 'read'; id: number; result: ThreadReadResults[keyof ThreadReadResults] }
  | { type: 'failed'; id: number; code: AuditErrorCode; message: string }

export interface StoreThread {
  /** Seals and writes `events` on the writer thread; resolves with them sealed, in the same order. */
  append(events: readonly UnsealedEvent[], hmacKey: string | Buffer | undefined): Promise<AuditEvent[]>
  /** Runs a read on a reader thread (`createReaderThread`); resolves with what the store answers. */
  read<O extends keyof ThreadReadArguments>(operation: O, argument: ThreadReadArguments[O]): Promise<ThreadReadResults[O]>
  /** Starts the thread if it is not running; resolves once it is up, or failed to start (then `usable` is false). */
  start(): Promise<void>
  /** False once the thread failed to start: the store then writes on the main thread. */
  readonly usable: boolean
  /** Lets queued appends finish, closes the thread's connection and ends the thread. */
  close(): Promise<void>
  /** Ends the thread at once, as a crash would (tests). */
  terminate(): Promise<void>
}

interface InFlight {
  /** The events of an append (none for a read): their outcome is uncertain if the thread dies. */
  events: readonly UnsealedEvent[]
  settle: (reply: Extract<ThreadReply, { type: 'appended' | 'read' }>) => void
  reject: (error: AuditKitError) => void
}

/**
 * The worker entry, found through the package's own exports (`@auditkit/core/sqlite-writer`), or null when bundled away.
 * The entry is TypeScript only when the process resolves AuditKit from source (`--conditions=source`: AuditKit's own
 * tests and benches): the thread then loads it through tsx's require hook, as Node 20 applies no `--import` loader to
 * a worker's entry.
 */
function writerEntry(): { code: string; eval: boolean } | null {
  try {
    const require = createRequire(import.meta.url)
    const file = require.resolve('@auditkit/core/sqlite-writer')
    if (!file.endsWith('.ts')) return { code: file, eval: false }
    const loader = createRequire(file).resolve('tsx/cjs')
    return { code: `require(${JSON.stringify(loader)}); require(${JSON.stringify(file)})`, eval: true }
  } catch {
    return null
  }
}

/**
 * The SQLite writes of a store, on a worker thread with its own connection: hashing, inserting and committing a batch
 * no longer hold the event loop, and use a core the request handlers leave idle. A thread that dies with batches in
 * flight leaves their outcome unknown; the logger retries them and the next thread looks their ids up before writing,
 * so that a batch committed just before the crash is neither lost nor written twice.
 * Returns null when the worker entry cannot be found (an app bundled without AuditKit's files).
 */
export function createWriterThread(settings: StoreThreadSettings): StoreThread | null {
  return createStoreThread(settings, 'writer')
}

/**
 * The reads of a store whose time grows with the events they match (the admin's queries and facet menus: a `q` search
 * of a year of a large tenant scans for seconds), on a worker thread with its own read-only connection: the app's
 * requests are not held up meanwhile (WAL: a reader and the writer do not block each other). A thread that dies fails
 * the reads in flight with `STORE_UNAVAILABLE`; the next read starts a new one.
 * Returns null when the worker entry cannot be found.
 */
export function createReaderThread(settings: StoreThreadSettings): StoreThread | null {
  return createStoreThread(settings, 'reader')
}

function createStoreThread(settings: StoreThreadSettings, role: ThreadRole): StoreThread | null {
  const found = writerEntry()
  if (found === null) return null
  const entry = found
  let worker: Worker | null = null
  let ready = false
  /** Resolves once the current thread is up or failed to start. */
  let startup: Promise<void> = Promise.resolve()
  let startupSettled: () => void = () => {}
  let usable = true
  let closing: Promise<void> | null = null
  let nextId = 1
  const inFlight = new Map<number, InFlight>()
  /** Ids of events that were in flight when a thread died. */
  const uncertain = new Set<string>()

  function failAll(reason: string): void {
    for (const [id, pending] of inFlight) {
      for (const event of pending.events) uncertain.add(event.id)
      inFlight.delete(id)
      pending.reject(new AuditKitError('STORE_UNAVAILABLE', reason))
    }
  }

  function start(source: { code: string; eval: boolean }): Worker {
    const started = new Worker(source.code, { eval: source.eval, workerData: { ...settings, role } })
    ready = false
    startup = new Promise((resolve) => (startupSettled = resolve))
    // The thread keeps the process alive only while it has work (see `append`).
    started.unref()
    started.on('message', (reply: ThreadReply) => {
      if (reply.type === 'ready') {
        ready = true
        startupSettled()
        return
      }
      const pending = inFlight.get(reply.id)
      if (!pending) return
      inFlight.delete(reply.id)
      if (inFlight.size === 0) started.unref()
      if (reply.type === 'failed') {
        pending.reject(new AuditKitError(reply.code, reply.message))
        return
      }
      pending.settle(reply)
    })
    started.on('error', (error) => {
      if (!ready) usable = false
      startupSettled()
      failAll(`The sqlite ${role} thread ${ready ? 'failed' : 'could not start'}: ${error.message}`)
    })
    started.on('exit', (code) => {
      if (worker === started) worker = null
      if (!ready && closing === null) usable = false
      startupSettled()
      if (inFlight.size > 0) failAll(`The sqlite ${role} thread exited (code ${code}) with ${role === 'writer' ? 'writes' : 'reads'} in flight`)
    })
    return started
  }

  /** Sends one request to the thread (started if need be) and settles with its reply, mapped by `answer`. */
  function send<T>(request: (id: number) => ThreadRequest, events: readonly UnsealedEvent[], answer: (reply: Extract<ThreadReply, { type: 'appended' | 'read' }>) => T): Promise<T> {
    if (closing) return Promise.reject(new AuditKitError('STORE_UNAVAILABLE', `The sqlite store at ${settings.path} is closed`))
    worker ??= start(entry)
    const id = nextId++
    const current = worker
    return new Promise<T>((resolve, reject) => {
      try {
        current.postMessage(request(id))
      } catch (error) {
        // Only a value that is not JSON data (a function, a symbol) cannot be cloned; the logger never passes one.
        reject(new AuditKitError('INVALID_EVENT', `An event cannot be passed to the sqlite ${role} thread: ${error instanceof Error ? error.message : String(error)}`))
        return
      }
      const settle = (reply: Extract<ThreadReply, { type: 'appended' | 'read' }>): void => {
        try {
          resolve(answer(reply))
        } catch (error) {
          reject(error as AuditKitError)
        }
      }
      inFlight.set(id, { events, settle, reject })
      current.ref()
    })
  }

  return {
    get usable() {
      return usable
    },
    start() {
      if (closing) return Promise.resolve()
      worker ??= start(entry)
      return startup
    },
    append(events, hmacKey) {
      const uncertainIds = uncertain.size === 0 ? [] : events.filter((event) => uncertain.has(event.id)).map((event) => event.id)
      return send<AuditEvent[]>(
        (id) => ({ type: 'append', id, events, hmacKey, uncertainIds }),
        events,
        (reply) => {
          if (reply.type !== 'appended') throw new AuditKitError('STORE_UNAVAILABLE', 'The sqlite writer thread answered an append with a read')
          for (const event of events) uncertain.delete(event.id)
          return events.map((event, i) => {
            const [seq, prevHash, hash] = reply.seals[i] as Seal
            return Object.assign({}, event, { seq, prevHash, hash }) // not a spread: see the logger's enqueue
          })
        },
      )
    },
    read(operation, argument) {
      return send(
        (id) => ({ type: 'read', id, operation, argument }) as ThreadRequest,
        [],
        (reply) => {
          if (reply.type !== 'read') throw new AuditKitError('STORE_UNAVAILABLE', 'The sqlite reader thread answered a read with an append')
          return reply.result as ThreadReadResults[typeof operation]
        },
      )
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        const current = worker
        if (!current) return resolve()
        current.once('exit', () => resolve())
        current.ref()
        // Messages are handled in order: every append sent before this one is written first.
        current.postMessage({ type: 'close' } satisfies ThreadRequest)
      })
      return closing
    },
    async terminate() {
      await worker?.terminate()
    },
  }
}

