import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, describe, expect, it } from 'vitest'
import type { AuditEventInput } from '../event/schema.js'
import { createAuditLogger } from '../logger/audit-logger.js'
import type { AuditStore, SignedCheckpoint } from '../store/types.js'
import { createSqliteStore } from '../stores/sqlite/index.js'
import { verifyCheckpointSignature } from './checkpoint.js'
import { checkpointLeaseName, createCheckpointer } from './checkpointer.js'
import { keyFingerprint } from './keys.js'
import { verifyChain } from './verify.js'

const dir = mkdtempSync(join(tmpdir(), 'auditkit-checkpointer-'))
const stores: AuditStore[] = []
afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()))
  rmSync(dir, { recursive: true, force: true })
})
const { privateKey, publicKey } = generateKeyPairSync('ed25519')
let files = 0
const openStore = (path = join(dir, `chain-${++files}.db`)): AuditStore => {
  const store = createSqliteStore({ path })
  stores.push(store)
  return store
}
const input = (n: number, tenantId = 't1'): AuditEventInput => ({
  tenantId,
  actor: { type: 'user', id: 'u1' },
  action: 'project_updated',
  resource: { type: 'project', id: `p${n}` },
  outcome: 'success',
})

function expectLinked(checkpoints: readonly SignedCheckpoint[]): void {
  checkpoints.forEach((checkpoint, i) => {
    expect(checkpoint.prevSignature).toBe(i === 0 ? '' : checkpoints[i - 1]!.signature)
    expect(verifyCheckpointSignature(checkpoint, publicKey)).toBe(true)
  })
}

describe('createCheckpointer', () => {
  it('signs the chain head each time seq passes a multiple of everyEvents, and once more on close', async () => {
    const store = openStore()
    const logger = createAuditLogger({ store, batchSize: 4, onError: () => {} })
    const checkpointer = createCheckpointer({ logger, privateKey, everyEvents: 10, everyMs: 0 })
    const seen: SignedCheckpoint[] = []
    checkpointer.onCheckpoint((checkpoint) => seen.push(checkpoint))
    for (let n = 1; n <= 35; n++) await logger.record(input(n), { delivery: 'await' })
    await checkpointer.close()
    const checkpoints = await store.listCheckpoints('t1')
    expect(checkpoints.map((checkpoint) => checkpoint.seq)).toEqual([10, 20, 30, 35])
    expect(seen).toEqual(checkpoints)
    expect(checkpoints[0]!.keyId).toBe(keyFingerprint(publicKey))
    expectLinked(checkpoints)
    expect(await verifyChain({ source: store, chainId: 't1', publicKey, maxUncheckpointed: 0 })).toMatchObject({ ok: true, eventsChecked: 35 })
    await logger.close()
  })

  it('signs chains that received events on a timer, and nothing when nothing is new', async () => {
    const store = openStore()
    const logger = createAuditLogger({ store, onError: () => {} })
    const checkpointer = createCheckpointer({ logger, privateKey, keyId: 'audit-2026', everyEvents: 0, everyMs: 40 })
    await logger.record(input(1), { delivery: 'await' })
    await logger.record(input(2, 't2'), { delivery: 'await' })
    // The 40 ms timer signs both chains; a busy machine may take much longer to get there, so wait for it (bounded).
    const signed = { timeout: 10_000, interval: 20 }
    await expect.poll(async () => (await store.listCheckpoints('t1')).map((checkpoint) => [checkpoint.seq, checkpoint.keyId]), signed).toEqual([[1, 'audit-2026']])
    await expect.poll(async () => (await store.listCheckpoints('t2')).length, signed).toBe(1)
    await sleep(100)
    expect(await store.listCheckpoints('t1')).toHaveLength(1)
    expect(await checkpointer.checkpoint('t1')).toBeNull()
    await checkpointer.close()
    await logger.close()
  })

  it('keeps one linked checkpoint sequence when several processes checkpoint the same chain', async () => {
    const path = join(dir, 'shared.db')
    const writers = [openStore(path), openStore(path), openStore(path)].map((store) => {
      const logger = createAuditLogger({ store, batchSize: 3, onError: () => {} })
      return { store, logger, checkpointer: createCheckpointer({ logger, privateKey, everyEvents: 5, everyMs: 0 }) }
    })
    await Promise.all(
      writers.map(async ({ logger }, w) => {
        for (let n = 0; n < 20; n++) await logger.record(input(w * 100 + n), { delivery: 'await' })
      }),
    )
    await Promise.all(writers.map(({ checkpointer }) => checkpointer.close()))
    const checkpoints = await writers[0]!.store.listCheckpoints('t1')
    expect(checkpoints.length).toBeGreaterThanOrEqual(3)
    expect(checkpoints.at(-1)!.seq).toBe(60)
    expectLinked(checkpoints)
    expect(await verifyChain({ source: writers[0]!.store, chainId: 't1', publicKey })).toMatchObject({ ok: true, eventsChecked: 60 })
    await Promise.all(writers.map(({ logger }) => logger.close()))
  })

  it('skips a chain whose lease another process holds', async () => {
    const store = openStore()
    const logger = createAuditLogger({ store, onError: () => {} })
    await logger.record(input(1), { delivery: 'await' })
    const checkpointer = createCheckpointer({ store, privateKey, everyMs: 0 })
    expect(await store.acquireLease(checkpointLeaseName('t1'), 'someone-else', 60_000)).toBe(true)
    expect(await checkpointer.checkpoint('t1')).toBeNull()
    await store.releaseLease(checkpointLeaseName('t1'), 'someone-else')
    expect(await checkpointer.checkpoint('t1')).toMatchObject({ chainId: 't1', seq: 1, prevSignature: '' })
    await checkpointer.close()
    await logger.close()
  })

  it('waits for a busy lease when a batch crosses a multiple of everyEvents, so that multiple still gets its checkpoint', async () => {
    const store = openStore()
    const logger = createAuditLogger({ store, onError: () => {} })
    const checkpointer = createCheckpointer({ logger, privateKey, everyEvents: 5, everyMs: 0 })
    const lease = checkpointLeaseName('t1')
    expect(await store.acquireLease(lease, 'someone-else', 60_000)).toBe(true)
    for (let n = 1; n <= 6; n++) await logger.record(input(n), { delivery: 'await' })
    await sleep(100)
    expect(await store.listCheckpoints('t1')).toEqual([]) // still held by the other process
    await store.releaseLease(lease, 'someone-else')
    // No timer, no close: the crossing of seq 5 alone must lead to its checkpoint once the lease is free.
    // Bounds a hang only: the waiting trigger retries every 10-30 ms for up to leaseTtlMs (30 s).
    await expect.poll(async () => (await store.listCheckpoints('t1')).map((checkpoint) => checkpoint.seq), { timeout: 15_000 }).toEqual([5])
    await checkpointer.close()
    expect((await store.listCheckpoints('t1')).map((checkpoint) => checkpoint.seq)).toEqual([5, 6])
    await logger.close()
  })

  it('signs every multiple of everyEvents not signed yet, in order, before the head', async () => {
    const store = openStore()
    const logger = createAuditLogger({ store, onError: () => {} })
    for (let n = 1; n <= 25; n++) await logger.record(input(n), { delivery: 'await' })
    // Started on a chain that already has 25 events: one call catches up on 10 and 20, then signs the head.
    const checkpointer = createCheckpointer({ store, privateKey, everyEvents: 10, everyMs: 0 })
    const seen: SignedCheckpoint[] = []
    checkpointer.onCheckpoint((checkpoint) => seen.push(checkpoint))
    expect(await checkpointer.checkpoint('t1')).toMatchObject({ seq: 25 })
    const checkpoints = await store.listCheckpoints('t1')
    expect(checkpoints.map((checkpoint) => checkpoint.seq)).toEqual([10, 20, 25])
    expect(seen).toEqual(checkpoints)
    const events = await store.readChain('t1', 0, 100)
    for (const checkpoint of checkpoints) expect(checkpoint.hash).toBe(events[checkpoint.seq - 1]!.hash)
    expectLinked(checkpoints)
    expect(await checkpointer.checkpoint('t1')).toBeNull() // nothing new
    await checkpointer.close()
    await logger.close()
  })

  it('does not fork the checkpoint sequence when a process stalls past its lease', async () => {
    const path = join(dir, 'stall.db')
    const store = openStore(path)
    const logger = createAuditLogger({ store, onError: () => {} })
    for (let n = 1; n <= 3; n++) await logger.record(input(n), { delivery: 'await' })
    // The same real file, but this process hangs (a long GC pause) after signing, when it renews its lease to write.
    let release = (): void => {}
    const stalled = new Promise<void>((resolve) => (release = resolve))
    let reachedStall = (): void => {}
    const atStall = new Promise<void>((resolve) => (reachedStall = resolve))
    const other = openStore(path)
    let leaseCalls = 0
    const slow: AuditStore = Object.assign(Object.create(other) as AuditStore, {
      acquireLease: async (name: string, owner: string, ttlMs: number) => {
        if (++leaseCalls === 2) {
          reachedStall()
          await stalled
        }
        return other.acquireLease(name, owner, ttlMs)
      },
    })
    const stalling = createCheckpointer({ store: slow, privateKey, everyMs: 0, leaseTtlMs: 30 })
    const healthy = createCheckpointer({ store, privateKey, everyMs: 0, leaseTtlMs: 30 })
    const late = stalling.checkpoint('t1')
    // It took the lease (first call) and signed; now it hangs on the renewal. Its lease expires 30 ms after it was
    // taken, so 60 ms from here it has surely expired, however slowly the process got here.
    await atStall
    await sleep(60)
    await logger.record(input(4), { delivery: 'await' })
    expect(await healthy.checkpoint('t1')).toMatchObject({ seq: 4, prevSignature: '' })
    release()
    expect(await late).toBeNull()
    const checkpoints = await store.listCheckpoints('t1')
    expect(checkpoints.map((checkpoint) => checkpoint.seq)).toEqual([4])
    expect(await verifyChain({ source: store, chainId: 't1', publicKey })).toMatchObject({ ok: true })
    await stalling.close({ final: false })
    await healthy.close({ final: false })
    await logger.close()
  })

  it('refuses keys that are not Ed25519 private keys, and missing stores', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
    const store = openStore()
    expect(() => createCheckpointer({ store, privateKey: rsa.privateKey })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    expect(() => createCheckpointer({ store, privateKey: publicKey })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    expect(() => createCheckpointer({ store, privateKey: 'not a pem' })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    expect(() => createCheckpointer({ privateKey })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    expect(() => createCheckpointer({ store, privateKey, everyEvents: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
  })
})
