/**
 * What the MongoDB store does without a server: option checks, input rejected before any round trip, and a server
 * that is down surfacing as STORE_UNAVAILABLE in bounded time. Its behaviour against a real server is covered by
 * test/mongodb-contract.test.ts and test/mongodb-multiprocess.test.ts (they need MONGODB_URI).
 */
import { createServer, type Server, type Socket } from 'node:net'
import { MongoNetworkError, MongoServerError, MongoServerSelectionError } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isAuditKitError } from '../../errors.js'
import { createSealer } from '../../integrity/hash.js'
import type { EventFilter } from '../../store/types.js'
import { isDuplicateKeyError, isTransientError, toStoreError } from './errors.js'
import { createMongoStore } from './mongo-store.js'

async function codeOf(work: () => unknown): Promise<string | undefined> {
  try {
    await work()
  } catch (error) {
    return isAuditKitError(error) ? error.code : `not an AuditKitError: ${String(error)}`
  }
  return undefined
}

const window = { tenantId: 't1', from: '2026-01-01T00:00:00.000Z', to: '2026-02-01T00:00:00.000Z' }

describe('createMongoStore options', () => {
  it('needs exactly one of client or uri, a mongodb:// uri and a valid database name', async () => {
    expect(await codeOf(() => createMongoStore({}))).toBe('INVALID_OPTIONS')
    expect(await codeOf(() => createMongoStore({ uri: 'postgres://x' }))).toBe('INVALID_OPTIONS')
    expect(await codeOf(() => createMongoStore({ uri: 'mongodb://127.0.0.1', database: 'a.b' }))).toBe('INVALID_OPTIONS')
    expect(await codeOf(() => createMongoStore({ uri: 'mongodb://127.0.0.1', maxAppendAttempts: 0 }))).toBe('INVALID_OPTIONS')
    expect(createMongoStore({ uri: 'mongodb+srv://cluster.example.net' }).kind).toBe('mongodb')
  })
})

describe('createMongoStore without a reachable server', () => {
  // A real TCP server that accepts connections and drops them at once: every MongoDB handshake fails.
  let dropping: Server
  let droppingPort = 0
  let closedPort = 0
  beforeAll(async () => {
    dropping = createServer((socket) => socket.destroy())
    await new Promise<void>((resolve) => dropping.listen(0, '127.0.0.1', resolve))
    droppingPort = (dropping.address() as { port: number }).port
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    closedPort = (probe.address() as { port: number }).port
    await new Promise((resolve) => probe.close(resolve))
  })
  afterAll(async () => {
    await new Promise((resolve) => dropping.close(resolve))
  })

  const unreachable = (port: number) =>
    createMongoStore({
      uri: `mongodb://127.0.0.1:${port}/?directConnection=true&serverSelectionTimeoutMS=300&connectTimeoutMS=300`,
      transientRetries: 1,
      retryDelayMs: 1,
    })

  it.each([
    ['refused connections', () => closedPort],
    ['dropped connections', () => droppingPort],
  ])('reports %s as STORE_UNAVAILABLE after bounded retries', async (_name, port) => {
    const store = unreachable(port())
    const started = Date.now()
    const failure = await store.init().then(
      () => null,
      (error: unknown) => error,
    )
    expect(isAuditKitError(failure) && failure.code).toBe('STORE_UNAVAILABLE')
    expect(String((failure as Error).message)).toMatch(/^mongodb init failed/)
    expect(Date.now() - started).toBeLessThan(10_000)
    const append = await store.append([{ ...window, id: 'e1', occurredAt: window.from, chainId: 't1', actor: { type: 'system', id: 's' }, action: 'job_ran', resource: { type: 'job' }, outcome: 'success' }], createSealer()).then(
      () => null,
      (error: unknown) => error,
    )
    expect(isAuditKitError(append) && append.code).toBe('STORE_UNAVAILABLE')
    await store.close()
  })

  it('rejects hostile or malformed input with its own code, before any round trip', async () => {
    const store = unreachable(closedPort)
    const hostile = { ...window, action: { $ne: 'x' } } as unknown as EventFilter
    expect(await codeOf(() => store.query({ ...hostile, limit: 10 }))).toBe('INVALID_QUERY')
    expect(await codeOf(() => store.facets(hostile))).toBe('INVALID_QUERY')
    expect(await codeOf(() => store.stream(hostile)[Symbol.asyncIterator]().next())).toBe('INVALID_QUERY')
    expect(await codeOf(() => store.query({ ...window, from: 'last tuesday', limit: 10 }))).toBe('INVALID_RANGE')
    await store.close()
  })

  it('opens no connection once close() has returned, even when init() was still starting', async () => {
    // A real TCP server that counts connections and never answers: a client made after close() would show up here.
    const sockets: Socket[] = []
    const listening = createServer((socket) => void sockets.push(socket))
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve))
    try {
      const port = (listening.address() as { port: number }).port
      const store = createMongoStore({
        uri: `mongodb://127.0.0.1:${port}/?directConnection=true&serverSelectionTimeoutMS=400&connectTimeoutMS=400`,
        transientRetries: 0,
      })
      const init = store.init().then(
        () => null,
        (error: unknown) => error,
      )
      await store.close()
      const failure = await init
      expect(isAuditKitError(failure) && failure.code).toBe('STORE_UNAVAILABLE')
      expect(sockets.length).toBe(0)
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => listening.close(resolve))
    }
  })

  it('refuses work after close()', async () => {
    const store = unreachable(closedPort)
    await store.close()
    expect(await codeOf(() => store.chainHead('t1'))).toBe('STORE_UNAVAILABLE')
  })
})

describe('MongoDB driver error classification', () => {
  it('retries network trouble, elections and retryable labels; never duplicate keys or authorization failures', () => {
    expect(isTransientError(new MongoNetworkError('socket closed'))).toBe(true)
    const stepDown = new MongoServerError({ code: 189, errmsg: 'Primary stepped down' })
    expect(isTransientError(stepDown)).toBe(true)
    const labelled = new MongoServerError({ code: 1, errmsg: 'x', errorLabels: ['RetryableWriteError'] })
    expect(isTransientError(labelled)).toBe(true)
    const duplicate = new MongoServerError({ code: 11000, errmsg: 'E11000 duplicate key error' })
    expect(isDuplicateKeyError(duplicate)).toBe(true)
    expect(isTransientError(duplicate)).toBe(false)
    expect(isTransientError(new MongoServerError({ code: 13, errmsg: 'not authorized' }))).toBe(false)
    expect(isDuplicateKeyError({ code: 65, writeErrors: [{ code: 11000 }] })).toBe(true)
    const surfaced = toStoreError(new MongoServerSelectionError('no primary', { type: 'Unknown' } as never), 'query')
    expect(surfaced.code).toBe('STORE_UNAVAILABLE')
    expect(surfaced.message).toContain('no primary')
  })
})
