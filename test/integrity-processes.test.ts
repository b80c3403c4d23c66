import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, it } from 'vitest'
import { verifyChain, verifyCheckpointSignature } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { runInRounds, startRoundWorker } from '@auditkit/test-utils'

const PROCESSES = 8
const EVENTS_EACH = 1000
/** Each round, every process appends EVENTS_EACH / ROUNDS events: at least PROCESSES - 1 switches of writer a round. */
const ROUNDS = 5
const dir = mkdtempSync(join(tmpdir(), 'auditkit-processes-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it(`${PROCESSES} processes x ${EVENTS_EACH} appends to one chain give seq 1..${PROCESSES * EVENTS_EACH} with linked checkpoints`, async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const keyFile = join(dir, 'signing.pem')
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 })
  const path = join(dir, 'shared.db')
  // Create the schema once, so the workers start on an existing database.
  const store = createSqliteStore({ path })
  await store.init()

  const script = fileURLToPath(new URL('./integrity-append-worker.ts', import.meta.url))
  // Every round starts all the processes at once and waits for all of them: their appends interleave in the chain.
  const results = await runInRounds(
    Array.from({ length: PROCESSES }, (_, w) =>
      startRoundWorker<{ worker: string; written: number; errors: string[] }>(script, [path, String(w), String(EVENTS_EACH), keyFile, String(ROUNDS)]),
    ),
    ROUNDS,
  )
  expect(results.map((result) => result.written)).toEqual(Array(PROCESSES).fill(EVENTS_EACH))

  const total = PROCESSES * EVENTS_EACH
  expect(await store.chainHead('shared')).toMatchObject({ seq: total })
  const seqs: number[] = []
  let switches = 0
  let previousWorker: unknown = null
  for (let after = 0; ; ) {
    const batch = await store.readChain('shared', after, 2000)
    if (batch.length === 0) break
    for (const event of batch) {
      seqs.push(event.seq)
      if (event.metadata?.worker !== previousWorker) switches++
      previousWorker = event.metadata?.worker
    }
    after = batch.at(-1)!.seq
  }
  expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1))
  // The writers really interleaved on the chain rather than running one after another (the rounds guarantee at
  // least ROUNDS * (PROCESSES - 1) + 1 runs of one writer, whatever the scheduling).
  expect(switches).toBeGreaterThan(PROCESSES * 4)

  const checkpoints = await store.listCheckpoints('shared')
  expect(checkpoints.at(-1)!.seq).toBe(total) // the last process to close signed the final head
  // Every multiple of 500 has its own checkpoint, whichever of the 8 processes got there first and however late.
  const multiples = checkpoints.map((checkpoint) => checkpoint.seq).filter((seq) => seq % 500 === 0)
  expect(multiples).toEqual(Array.from({ length: total / 500 }, (_, i) => (i + 1) * 500))
  checkpoints.forEach((checkpoint, i) => {
    expect(checkpoint.prevSignature).toBe(i === 0 ? '' : checkpoints[i - 1]!.signature)
    expect(verifyCheckpointSignature(checkpoint, publicKey)).toBe(true)
  })
  const result = await verifyChain({ source: store, chainId: 'shared', publicKey, maxUncheckpointed: 0 })
  expect(result).toMatchObject({ ok: true, eventsChecked: total, head: { seq: total } })
  expect(result.checkpoints.count).toBeGreaterThanOrEqual(total / 500)
  await store.close()
})
