// Tamper evidence on real SQLite files: an attacker edits the database with the sqlite3 CLI, then
// `auditkit verify` (the CLI, run from source as a user would in development) and `verifyChain` must name the break.
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  computeEventHash,
  createAuditLogger,
  createCheckpointer,
  createIntegrityService,
  signCheckpoint,
  verifyChain,
  type AuditEvent,
  type ChainVerification,
  type EventFilter,
  type SignedCheckpoint,
  type VerifyChainOptions,
} from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'

const TENANT = 'acme'
const EVENTS = 70
const EVERY = 20 // checkpoints at seq 20, 40, 60; the last events are not yet signed
const HMAC_KEY = 'kept-outside-the-database'
const dir = mkdtempSync(join(tmpdir(), 'auditkit-tamper-'))
const signing = generateKeyPairSync('ed25519')
const attackerKey = generateKeyPairSync('ed25519')
const publicKeyFile = join(dir, 'public.pem')
const cli = fileURLToPath(new URL('../packages/core/src/cli/auditkit.ts', import.meta.url))
let plainDb = ''
let keyedDb = ''
let copies = 0
/** Seqs of the three checkpoints of the golden plain database (20, 40, 60). */
let signedAt: [number, number, number] = [0, 0, 0]

afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function writeChain(path: string, hmacKey?: string): Promise<void> {
  const store = createSqliteStore({ path })
  const logger = createAuditLogger({ store, batchSize: 7, onError: () => {}, ...(hmacKey ? { hmacKey } : {}) })
  const checkpointer = createCheckpointer({ logger, privateKey: signing.privateKey, everyEvents: EVERY, everyMs: 0 })
  for (let n = 1; n <= EVENTS; n++) {
    void logger.record({
      tenantId: TENANT,
      actor: { type: 'user', id: `user-${n % 4}`, email: `user${n % 4}@acme.test` },
      action: n % 10 === 0 ? 'member_role_updated' : 'project_updated',
      resource: { type: 'project', id: `p-${n}`, name: `Projekt Ω ${n}` },
      outcome: 'success',
      context: { ip: '203.0.113.7', method: 'PATCH', path: `/projects/p-${n}`, status: 200 },
      changes: { before: { budget: n * 0.1 }, after: { budget: n * 1e21 } },
    })
  }
  await logger.flush()
  await checkpointer.close({ final: false })
  await logger.close()
  await store.close()
}

beforeAll(async () => {
  writeFileSync(publicKeyFile, signing.publicKey.export({ type: 'spki', format: 'pem' }))
  plainDb = join(dir, 'plain.db')
  keyedDb = join(dir, 'keyed.db')
  await writeChain(plainDb)
  await writeChain(keyedDb, HMAC_KEY)
  const store = createSqliteStore({ path: plainDb })
  signedAt = (await store.listCheckpoints(TENANT)).map((checkpoint) => checkpoint.seq) as [number, number, number]
  await store.close()
  expect(signedAt).toEqual([EVERY, 2 * EVERY, 3 * EVERY])
  expect(signedAt[2]).toBeLessThan(EVENTS)
})

/** A fresh copy of a golden database for one attack. */
function copyOf(golden: string): string {
  const path = join(dir, `attack-${++copies}.db`)
  for (const suffix of ['', '-wal', '-shm']) if (existsSync(golden + suffix)) copyFileSync(golden + suffix, path + suffix)
  return path
}

/** The attacker: plain SQL through the sqlite3 command-line shell. */
function attack(path: string, sql: string): void {
  execFileSync('sqlite3', [path], { input: sql })
}

function rows(path: string): AuditEvent[] {
  const out = execFileSync('sqlite3', ['-json', path, `SELECT event FROM events WHERE chain_id = '${TENANT}' ORDER BY seq`], { encoding: 'utf8' })
  return (JSON.parse(out) as { event: string }[]).map((row) => JSON.parse(row.event) as AuditEvent)
}

const quote = (text: string): string => `'${text.replaceAll("'", "''")}'`

/** `auditkit verify --json` from source; answers the exit code and the chain's result. */
function runVerify(path: string, extra: string[] = []): { code: number | null; chain: ChainVerification } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=source', cli, 'verify', '--sqlite', path, '--public-key', publicKeyFile, '--json', ...extra], {
    cwd: fileURLToPath(new URL('.', import.meta.url)),
    encoding: 'utf8',
  })
  if (result.status !== 0 && result.status !== 1) throw new Error(`auditkit verify exited ${result.status}: ${result.stderr}`)
  const parsed = JSON.parse(result.stdout) as { chains: ChainVerification[] }
  return { code: result.status, chain: parsed.chains[0]! }
}

async function verifyFile(path: string, options: Partial<VerifyChainOptions> = {}): Promise<ChainVerification> {
  const store = createSqliteStore({ path })
  try {
    return await verifyChain({ source: store, chainId: TENANT, publicKey: signing.publicKey, ...options })
  } finally {
    await store.close()
  }
}

describe('tamper evidence on a SQLite file', () => {
  it('passes the untouched chain, with the CLI exit code 0', () => {
    const { code, chain } = runVerify(plainDb)
    expect(code).toBe(0)
    expect(chain).toMatchObject({ ok: true, eventsChecked: EVENTS, checkpoints: { count: 3, lastSeq: signedAt[2], signatures: 'verified' } })
  })

  it('reports one edited field of one row as modified at that seq', () => {
    const path = copyOf(plainDb)
    attack(path, `UPDATE events SET event = json_set(event, '$.actor.email', 'someone@else.test') WHERE seq = 33;`)
    const { code, chain } = runVerify(path)
    expect(code).toBe(1)
    expect(chain.firstBreak).toMatchObject({ reason: 'modified', seq: 33 })
  })

  it('reports a deleted middle row as deleted', () => {
    const path = copyOf(plainDb)
    attack(path, 'DELETE FROM events WHERE seq = 25;')
    expect(runVerify(path)).toMatchObject({ code: 1, chain: { firstBreak: { reason: 'deleted', seq: 25 } } })
  })

  it('reports two swapped rows as reordered', () => {
    const path = copyOf(plainDb)
    attack(path, 'UPDATE events SET seq = -1 WHERE seq = 12; UPDATE events SET seq = 12 WHERE seq = 13; UPDATE events SET seq = 13 WHERE seq = -1;')
    expect(runVerify(path)).toMatchObject({ code: 1, chain: { firstBreak: { reason: 'reordered', seq: 12 } } })
  })

  it('reports a tail deleted behind the last checkpoint as tail truncated, and says what it cannot see', async () => {
    const path = copyOf(plainDb)
    attack(path, `DELETE FROM events WHERE seq > ${signedAt[1] + 5};`)
    expect(runVerify(path)).toMatchObject({ code: 1, chain: { firstBreak: { reason: 'tail_truncated', seq: signedAt[1] + 6 } } })

    // Past the last checkpoint a truncation is invisible to the database alone (the SIEM copy is the witness).
    const unsigned = copyOf(plainDb)
    attack(unsigned, `DELETE FROM events WHERE seq > ${signedAt[2]};`)
    expect((await verifyFile(unsigned)).ok).toBe(true)
    // ... and verification says so for an untouched chain that has unsigned events.
    expect((await verifyFile(plainDb)).warnings.join(' ')).toMatch(new RegExp(`Events ${signedAt[2] + 1}\\.\\.${EVENTS} follow the last checkpoint`))
  })

  it('catches the newest checkpoints deleted with the events after them only with the SIEM copy as anchor', async () => {
    const golden = createSqliteStore({ path: plainDb })
    const newest = (await golden.listCheckpoints(TENANT)).at(-1)!
    await golden.close()
    const path = copyOf(plainDb)
    attack(path, `DELETE FROM checkpoints WHERE seq = ${signedAt[2]}; DELETE FROM events WHERE seq > ${signedAt[1]};`)
    expect(runVerify(path)).toMatchObject({ code: 0, chain: { ok: true } })
    // The record as the SIEM received it (audit.* attributes), saved from a SIEM search.
    const siemFile = join(dir, 'siem-checkpoint.json')
    writeFileSync(
      siemFile,
      JSON.stringify({
        'audit.action': 'audit_checkpoint_signed',
        'audit.chain.id': newest.chainId,
        'audit.seq': newest.seq,
        'audit.hash': newest.hash,
        'audit.checkpoint.created_at': newest.createdAt,
        'audit.checkpoint.prev_signature': newest.prevSignature,
        'audit.checkpoint.signature': newest.signature,
        'audit.checkpoint.key_id': newest.keyId,
      }),
    )
    expect(runVerify(path, ['--anchor', siemFile])).toMatchObject({ code: 1, chain: { firstBreak: { reason: 'tail_truncated', seq: signedAt[1] + 1 } } })
  })

  describe('a whole chain recomputed without the signing key', () => {
    function rewrite(path: string, hmacKey?: string): AuditEvent[] {
      const events = rows(path)
      const rewritten: AuditEvent[] = []
      for (const event of events) {
        if (event.seq < 15) {
          rewritten.push(event)
          continue
        }
        const changed = event.seq === 15 ? { ...event, outcome: 'failure' as const } : event
        const placed = { ...changed, prevHash: rewritten.at(-1)?.hash ?? changed.prevHash }
        rewritten.push({ ...placed, hash: computeEventHash(placed, hmacKey) })
      }
      attack(
        path,
        rewritten
          .filter((event) => event.seq >= 15)
          // The indexed columns too (outcome), as a careful attacker would: verification compares them with the JSON.
          .map((event) => `UPDATE events SET event = ${quote(JSON.stringify(event))}, outcome = '${event.outcome}', hash = '${event.hash}', prev_hash = '${event.prevHash}' WHERE chain_id = '${TENANT}' AND seq = ${event.seq};`)
          .join('\n'),
      )
      return rewritten
    }

    function resign(path: string, events: readonly AuditEvent[], key: KeyObject): void {
      let previous: SignedCheckpoint | null = null
      const statements = ['DELETE FROM checkpoints;']
      for (const seq of signedAt) {
        const event = events[seq - 1]!
        const checkpoint = signCheckpoint({ chainId: TENANT, seq, hash: event.hash, createdAt: new Date().toISOString(), prevSignature: previous?.signature ?? '', keyId: 'attacker' }, key)
        statements.push(
          `INSERT INTO checkpoints VALUES ('${TENANT}', ${seq}, '${checkpoint.hash}', '${checkpoint.createdAt}', '${checkpoint.prevSignature}', '${checkpoint.signature}', 'attacker');`,
        )
        previous = checkpoint
      }
      attack(path, statements.join('\n'))
    }

    it('is caught by the first signed checkpoint after the change', async () => {
      const path = copyOf(plainDb)
      rewrite(path)
      // Every link is consistent again: only the first signed checkpoint after seq 15 disagrees.
      expect(runVerify(path)).toMatchObject({ code: 1, chain: { firstBreak: { reason: 'modified', seq: signedAt[0] } } })
      // Without the checkpoints (and without an HMAC key) the rewrite would be invisible: that is why they exist.
      expect(await verifyFile(path, { publicKey: undefined })).toMatchObject({ ok: false })
    })

    it('is caught as forged when the attacker re-signs the checkpoints with another key', () => {
      const path = copyOf(plainDb)
      resign(path, rewrite(path), attackerKey.privateKey)
      expect(runVerify(path)).toMatchObject({ code: 1, chain: { firstBreak: { reason: 'forged_checkpoint', seq: signedAt[0] } } })
    })

    it('is caught as a missing checkpoint when the attacker deletes the checkpoints that disagree', async () => {
      const path = copyOf(plainDb)
      rewrite(path)
      attack(path, `DELETE FROM checkpoints WHERE seq = ${signedAt[0]};`)
      expect(runVerify(path)).toMatchObject({ code: 1, chain: { firstBreak: { reason: 'missing_checkpoint', seq: signedAt[1] } } })
      // Deleting every checkpoint leaves nothing to link to: only a bound on unsigned events (or the SIEM copy) catches it.
      attack(path, 'DELETE FROM checkpoints;')
      expect((await verifyFile(path)).ok).toBe(true)
      expect(runVerify(path, ['--max-uncheckpointed', String(EVERY + 10)])).toMatchObject({
        code: 1,
        chain: { firstBreak: { reason: 'missing_checkpoint', seq: EVERY + 11 } },
      })
    })

    it('is caught at the changed event itself when the chain is keyed with an HMAC key the attacker lacks', async () => {
      const path = copyOf(keyedDb)
      attack(path, 'DELETE FROM checkpoints;')
      rewrite(path) // plain SHA-256: the attacker does not have the key
      expect(runVerify(path, ['--hmac-key', HMAC_KEY])).toMatchObject({ code: 1, chain: { firstBreak: { reason: 'modified', seq: 15 } } })
      expect(await verifyFile(copyOf(keyedDb), { hmacKey: HMAC_KEY })).toMatchObject({ ok: true, keyed: true })
    })
  })

  it('reports an edited checkpoint as forged and a deleted one as missing', async () => {
    const edited = copyOf(plainDb)
    attack(edited, `UPDATE checkpoints SET created_at = '2020-01-01T00:00:00.000Z' WHERE seq = ${signedAt[1]};`)
    expect((await verifyFile(edited)).firstBreak).toMatchObject({ reason: 'forged_checkpoint', seq: signedAt[1] })
    const deleted = copyOf(plainDb)
    attack(deleted, `DELETE FROM checkpoints WHERE seq = ${signedAt[1]};`)
    expect((await verifyFile(deleted)).firstBreak).toMatchObject({ reason: 'missing_checkpoint', seq: signedAt[2] })
  })
})

describe('index columns edited beside the hashed event JSON', () => {
  // The admin's lists, facets, CSV export and `q` search select rows by the indexed columns and show the JSON: an
  // attacker who edits only a column hides an event from a filtered review (or a window, or the tenant) without
  // touching what is hashed. Verification must compare the columns with the hashed content.
  const everything = { tenantId: TENANT, from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z' }
  const TARGET = 30 // member_role_updated by user-2 on p-30

  async function listed(path: string, filter: Partial<EventFilter>): Promise<number[]> {
    const store = createSqliteStore({ path, readonly: true })
    try {
      const page = await store.query({ ...everything, ...filter, limit: 1000 })
      return page.items.map((event) => event.seq)
    } finally {
      await store.close()
    }
  }

  async function adminVerify(path: string, tenantId = TENANT): Promise<ChainVerification> {
    const store = createSqliteStore({ path, readonly: true })
    try {
      return await createIntegrityService({ store, publicKey: signing.publicKey }).verify({ tenantId }, { from: everything.from, to: everything.to })
    } finally {
      await store.close()
    }
  }

  it.each([
    ['action', "action = 'project_updated'", { action: 'member_role_updated' }],
    ['actor_id', "actor_id = 'user-0'", { actor: 'user-2' }],
    ['actor_type', "actor_type = 'system'", { actorType: 'user' as const }],
    ['resource_type', "resource_type = 'invoice'", { resourceType: 'project' }],
    ['resource_id', "resource_id = 'p-31'", { resourceId: 'p-30' }],
    ['outcome', "outcome = 'failure'", { outcome: 'success' as const }],
    ['search', "search = replace(search, 'member_role', 'project')", { q: 'member_role' }],
    ['occurred_at', "occurred_at = '2001-01-01T00:00:00.000Z'", { from: '2020-01-01T00:00:00.000Z' }],
    ['tenant_id', "tenant_id = 'elsewhere'", {}],
  ] satisfies [string, string, Partial<EventFilter>][])('catches an edited %s column that hides an event from a filtered view', async (column, set, filter) => {
    expect(await listed(plainDb, filter)).toContain(TARGET)
    const path = copyOf(plainDb)
    attack(path, `UPDATE events SET ${set} WHERE chain_id = '${TENANT}' AND seq = ${TARGET};`)
    // What an admin reviewing with that filter sees: the event is gone, its JSON and hash untouched.
    expect(await listed(path, filter)).not.toContain(TARGET)
    const { code, chain } = runVerify(path)
    expect(code).toBe(1)
    expect(chain.firstBreak).toMatchObject({ reason: 'modified', seq: TARGET })
    expect(chain.firstBreak?.message).toContain(column)
    expect((await adminVerify(path)).firstBreak).toMatchObject({ reason: 'modified', seq: TARGET })
  })

  it('catches an edited seq, prev_hash or hash column', () => {
    for (const set of ['seq = 1070', "prev_hash = '" + '0'.repeat(64) + "'", "hash = '" + 'f'.repeat(64) + "'"]) {
      const path = copyOf(plainDb)
      attack(path, `UPDATE events SET ${set} WHERE chain_id = '${TENANT}' AND seq = ${EVENTS};`)
      expect(runVerify(path)).toMatchObject({ code: 1, chain: { firstBreak: { reason: 'modified', seq: EVENTS } } })
    }
  })

  it("catches another tenant's event copied into an empty tenant's chain", async () => {
    const path = copyOf(plainDb)
    attack(
      path,
      `DROP INDEX events_by_id;
       INSERT INTO events SELECT 'newco', 'newco', seq, occurred_at, id, actor_type, actor_id, actor_name, action, resource_type, resource_id,
         outcome, search, prev_hash, hash, event FROM events WHERE chain_id = '${TENANT}' AND seq = 1;`,
    )
    // newco's admin now lists an event newco never recorded (acme's, intact and correctly hashed)...
    const store = createSqliteStore({ path, readonly: true })
    expect((await store.query({ ...everything, tenantId: 'newco', limit: 10 })).items).toHaveLength(1)
    await store.close()
    // ... and verifying newco must say so.
    expect(runVerify(path, ['--tenant', 'newco'])).toMatchObject({ code: 1, chain: { chainId: 'newco', firstBreak: { reason: 'modified', seq: 1 } } })
    expect((await adminVerify(path, 'newco')).firstBreak).toMatchObject({ reason: 'modified', seq: 1 })
    // The row moved away instead (tenant and chain columns) leaves a gap in its own chain.
    const moved = copyOf(plainDb)
    attack(moved, `UPDATE events SET tenant_id = 'newco', chain_id = 'newco', seq = 1 WHERE chain_id = '${TENANT}' AND seq = ${TARGET};`)
    expect(runVerify(moved)).toMatchObject({ code: 1, chain: { firstBreak: { reason: 'deleted', seq: TARGET } } })
  })
})

describe('the index comparison on unusual values', () => {
  it('passes NULs, separator characters and absent optional fields, and still finds an edit next to them', async () => {
    const path = join(dir, 'odd-values.db')
    const store = createSqliteStore({ path })
    const logger = createAuditLogger({ store, onError: () => {} })
    // The driver cuts text at a NUL; a lone surrogate is stored as U+FFFD (its JSON keeps the \ud800 escape).
    const names = ['nul\0inside', 'unit\x1fsep', 'record\x1esep', '\x1e', 'lone\ud800surrogate', 'replacement\ufffdchar']
    for (const name of names)
      await logger.record({ tenantId: 'odd', actor: { type: 'user', id: name, name }, action: 'project_updated', resource: { type: 'project', id: name }, outcome: 'success' }, { delivery: 'await' })
    await logger.record({ tenantId: 'odd', actor: { type: 'user', id: 'plain' }, action: 'project_updated', resource: { type: 'project' }, outcome: 'success' }, { delivery: 'await' })
    await logger.close()
    await store.close()
    expect(runVerify(path, ['--tenant', 'odd'])).toMatchObject({ code: 0, chain: { ok: true, eventsChecked: 7 } })

    for (const [seq, set, column] of [
      [1, "actor_id = 'nul' || char(0) || 'other'", 'actor_id'], // differs only after the NUL
      [2, "resource_id = 'unit' || char(31)", 'resource_id'],
      [4, 'actor_name = NULL', 'actor_name'], // the name "\x1e" is not the absent name
      [7, 'actor_name = char(30)', 'actor_name'], // ... nor the reverse
      [3, "actor_id = CAST(actor_id AS BLOB)", 'actor_id'], // the same bytes as a BLOB: a filter by text never matches it
      [3, 'seq = seq + 0.5', 'seq'], // still in order
      [7, "search = search || char(0) || 'x'", 'search'],
    ] as const) {
      const copy = copyOf(path)
      attack(copy, `UPDATE events SET ${set} WHERE chain_id = 'odd' AND seq = ${seq};`)
      const { code, chain } = runVerify(copy, ['--tenant', 'odd'])
      expect(code, set).toBe(1)
      expect(chain.firstBreak, set).toMatchObject({ reason: 'modified', seq })
      expect(chain.firstBreak?.message, set).toContain(column)
    }
  })
})

describe('bytes that are not UTF-8, written into the file', () => {
  // The driver aborts the whole process (a Rust panic, exit 134) when it is handed such text: the app reading the log
  // and `auditkit verify` alike. Text is read as bytes and decoded, so the edit is reported and the app stays up.
  const everything = { tenantId: TENANT, from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z' }
  const bytes = (text: string, bad = 'ff'): string => `CAST(x'${Buffer.from(text).toString('hex')}${bad}' AS TEXT)`

  it('reports an event, an indexed column, the head hash and a checkpoint so edited, where verification crashed', () => {
    for (const [sql, reason, seq, column] of [
      [`UPDATE events SET event = CAST(replace(event, 'Projekt', ${bytes('Proj')}) AS TEXT) WHERE seq = 33`, 'modified', 33, undefined],
      [`UPDATE events SET actor_id = ${bytes('user-')} WHERE seq = 34`, 'modified', 34, 'actor_id'],
      [`UPDATE events SET action = ${bytes('project_')} WHERE seq = 35`, 'modified', 35, 'action'],
      [`UPDATE events SET hash = ${bytes('f'.repeat(63))} WHERE seq = ${EVENTS}`, 'modified', EVENTS, undefined],
      [`UPDATE checkpoints SET signature = ${bytes('sig')} WHERE seq = ${signedAt[1]}`, 'forged_checkpoint', signedAt[1], undefined],
    ] as const) {
      const path = copyOf(plainDb)
      attack(path, `${sql};`)
      const { code, chain } = runVerify(path)
      expect([sql, code, chain.firstBreak?.reason, chain.firstBreak?.seq]).toEqual([sql, 1, reason, seq])
      if (column) expect(chain.firstBreak?.message).toContain(column)
    }
  })

  it('keeps the app reading and writing the log: the bad bytes read as U+FFFD', async () => {
    const path = copyOf(plainDb)
    attack(
      path,
      `UPDATE events SET event = CAST(replace(event, 'Projekt', ${bytes('Proj')}) AS TEXT) WHERE seq = 33;
       UPDATE events SET actor_id = ${bytes('user-')}, actor_name = ${bytes('name')} WHERE seq = 34;
       UPDATE events SET action = ${bytes('project_')}, resource_type = ${bytes('proj')} WHERE seq = 35;
       UPDATE events SET hash = ${bytes('f'.repeat(63))} WHERE seq = ${EVENTS};
       UPDATE checkpoints SET signature = ${bytes('sig')}, key_id = ${bytes('key')} WHERE seq = ${signedAt[1]};
       INSERT INTO state (scope, key, value, updated_at) VALUES ('siem', 'acme', ${bytes('{"cursor":"', 'ff227d')}, '2026-01-01T00:00:00.000Z'),
         ('siem', ${bytes('beta')}, '{}', '2026-01-01T00:00:00.000Z');`,
    )
    const store = createSqliteStore({ path })
    try {
      const page = await store.query({ ...everything, limit: 100 })
      expect(page.items).toHaveLength(EVENTS)
      const edited = page.items.find((event) => event.seq === 33)
      expect(edited?.resource?.name).toBe('Proj\ufffd Ω 33')
      expect((await store.get(TENANT, edited!.id))?.resource?.name).toBe('Proj\ufffd Ω 33')
      let streamed = 0
      for await (const event of store.stream(everything)) streamed += event.seq === 33 && event.resource?.name === 'Proj\ufffd Ω 33' ? 1 : 0
      expect(streamed).toBe(1)
      const facets = await store.facets(everything)
      expect(facets.actions.map((facet) => facet.value)).toContain('project_\ufffd')
      expect(facets.resourceTypes.map((facet) => facet.value)).toContain('proj\ufffd')
      expect(facets.actors.map((actor) => actor.id)).toContain('user-\ufffd')
      expect(await store.getState('siem', 'acme')).toEqual({ cursor: '\ufffd' })
      expect((await store.listState('siem')).map((entry) => [entry.key, entry.value])).toEqual([
        ['acme', { cursor: '\ufffd' }],
        ['beta\ufffd', {}],
      ])
      expect((await store.listCheckpoints(TENANT)).map((checkpoint) => checkpoint.keyId.endsWith('\ufffd'))).toEqual([false, true, false])
      expect((await store.chainHead(TENANT))?.hash).toBe(`${'f'.repeat(63)}\ufffd`)
      // The next append reads that head: the app keeps recording.
      const logger = createAuditLogger({ store, onError: () => {} })
      await logger.record({ tenantId: TENANT, actor: { type: 'system', id: 'job' }, action: 'project_updated', resource: { type: 'project' }, outcome: 'success' }, { delivery: 'await' })
      await logger.close()
      expect((await store.chainHead(TENANT))?.seq).toBe(EVENTS + 1)
    } finally {
      await store.close()
    }
  })
})
