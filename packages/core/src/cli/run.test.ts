import { createHash, generateKeyPairSync } from 'node:crypto'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import Database from 'libsql'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeExportLogsRequest } from '@auditkit/test-utils'
import { createCheckpointer } from '../integrity/checkpointer.js'
import { createAuditLogger } from '../logger/audit-logger.js'
import { checkpointToLogRecord, encodeExportLogsRequest } from '../siem/otlp-encoding.js'
import { createSqliteStore } from '../stores/sqlite/index.js'
import { EXIT, runCli } from './run.js'

const dir = mkdtempSync(join(tmpdir(), 'auditkit-cli-'))
const dbPath = join(dir, 'audit.db')
const publicKeyPath = join(dir, 'public.pem')
const hmacKeyPath = join(dir, 'hmac.key')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

beforeAll(async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  writeFileSync(publicKeyPath, publicKey.export({ type: 'spki', format: 'pem' }))
  writeFileSync(hmacKeyPath, 'cli-hmac-key\n')
  const store = createSqliteStore({ path: dbPath })
  const logger = createAuditLogger({ store, hmacKey: 'cli-hmac-key', onError: () => {} })
  const checkpointer = createCheckpointer({ logger, privateKey, everyEvents: 5, everyMs: 0 })
  for (let n = 1; n <= 12; n++) {
    await logger.record(
      { tenantId: n % 4 === 0 ? 'globex' : 'acme', actor: { type: 'system', id: 'job' }, action: 'report_generated', resource: { type: 'report', id: `r${n}` }, outcome: 'success' },
      { delivery: 'await' },
    )
  }
  await checkpointer.close()
  await logger.close()
  await store.close()
})

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const chunks = { stdout: '', stderr: '' }
  const sink = (name: 'stdout' | 'stderr') =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks[name] += chunk.toString()
        callback()
      },
    })
  const code = await runCli(args, { stdout: sink('stdout'), stderr: sink('stderr'), env })
  return { code, ...chunks }
}

/** A copy of the CLI tests' database (its WAL folded in first) with `sql` run on it, as someone with file access would. */
function tamperedCopy(name: string, sql: string): string {
  const source = new Database(dbPath)
  source.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  source.close()
  const copy = join(dir, name)
  copyFileSync(dbPath, copy)
  const attacker = new Database(copy)
  attacker.exec(sql)
  attacker.close()
  return copy
}

describe('auditkit CLI', () => {
  it('answers usage errors with exit code 2', async () => {
    expect((await cli([])).code).toBe(EXIT.usage)
    expect(await cli(['frobnicate'])).toMatchObject({ code: EXIT.usage, stderr: expect.stringContaining('Unknown command "frobnicate"') })
    expect(await cli(['verify', '--sqlite', dbPath, '--bogus'])).toMatchObject({ code: EXIT.usage })
    expect(await cli(['verify'])).toMatchObject({ code: EXIT.usage, stderr: expect.stringContaining('exactly one of') })
    expect(await cli(['verify', '--sqlite', join(dir, 'missing.db')])).toMatchObject({ code: EXIT.usage, stderr: expect.stringContaining('does not exist') })
    expect(existsSync(join(dir, 'missing.db'))).toBe(false)
    expect(await cli(['verify', '--sqlite', dbPath, '--public-key', join(dir, 'nope.pem')])).toMatchObject({ code: EXIT.usage })
    expect(await cli(['verify', '--sqlite', dbPath, '--public-key', hmacKeyPath])).toMatchObject({ code: EXIT.usage, stderr: expect.stringContaining('PEM') })
    expect(await cli(['verify', '--sqlite', dbPath, '--from-seq', 'x'])).toMatchObject({ code: EXIT.usage })
    expect(await cli(['verify', '--mongodb', 'mongodb://127.0.0.1:1'])).toMatchObject({ code: EXIT.usage, stderr: expect.stringContaining('--db') })
    expect((await cli(['--help'])).code).toBe(EXIT.ok)
  })

  it('prints its version (the package.json version the build stamps)', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    for (const flag of ['--version', '-v', 'version']) expect(await cli([flag])).toEqual({ code: EXIT.ok, stdout: `auditkit ${version}\n`, stderr: '' })
  })

  it('verifies every chain of a SQLite file with the public key and the HMAC key', async () => {
    const result = await cli(['verify', '--sqlite', dbPath, '--public-key', publicKeyPath, '--hmac-key-file', hmacKeyPath])
    expect(result).toMatchObject({ code: EXIT.ok, stderr: '' })
    expect(result.stdout).toMatch(/^ok acme seq 1\.\.9 \(9 events, 2 checkpoints, signatures verified, HMAC\)$/m)
    expect(result.stdout).toMatch(/^ok globex seq 1\.\.3 /m)
    const json = await cli(['verify', '--sqlite', dbPath, '--tenant', 'globex', '--json'], { AUDITKIT_HMAC_KEY: 'cli-hmac-key' })
    expect(json.code).toBe(EXIT.ok)
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, chains: [{ chainId: 'globex', eventsChecked: 3, keyed: true, checkpoints: { signatures: 'unchecked' } }] })
    // Without the HMAC key the hashes cannot match.
    expect(await cli(['verify', '--sqlite', dbPath, '--tenant', 'acme'])).toMatchObject({ code: EXIT.broken, stdout: expect.stringContaining('HMAC key') })
  })

  it('exports NDJSON that verifies offline, and reports tampering with exit code 1', async () => {
    const out = join(dir, 'acme.ndjson')
    expect(await cli(['export', '--sqlite', dbPath, '--tenant', 'acme', '--out', out])).toMatchObject({ code: EXIT.ok })
    expect(await cli(['verify', '--ndjson', out, '--public-key', publicKeyPath, '--hmac-key', 'cli-hmac-key'])).toMatchObject({
      code: EXIT.ok,
      stdout: expect.stringContaining('ok acme seq 1..9'),
    })
    expect(await cli(['export', '--sqlite', dbPath, '--out', out])).toMatchObject({ code: EXIT.usage, stderr: expect.stringContaining('not overwriting') })
    const stdout = await cli(['export', '--sqlite', dbPath, '--tenant', 'globex'])
    expect(stdout.stdout.trimEnd().split('\n')).toHaveLength(1 + 1 + 1 + 3) // header, chain, checkpoint, events

    const attacker = new Database(dbPath)
    attacker.exec(`UPDATE events SET event = json_set(event, '$.outcome', 'failure') WHERE chain_id = 'acme' AND seq = 4`)
    attacker.close()
    const broken = await cli(['verify', '--sqlite', dbPath, '--public-key', publicKeyPath, '--hmac-key-file', hmacKeyPath])
    expect(broken.code).toBe(EXIT.broken)
    expect(broken.stdout).toMatch(/^BROKEN acme at seq 4: modified$/m)
    expect(broken.stdout).toMatch(/^ok globex/m)
  })

  it('reports an unreadable export with exit code 3', async () => {
    const bad = join(dir, 'bad.ndjson')
    writeFileSync(bad, 'id,action\n')
    expect(await cli(['verify', '--ndjson', bad])).toMatchObject({ code: EXIT.unavailable, stderr: expect.stringContaining('INTEGRITY_ERROR') })
    // A chain line with a broken range is a bad file, not a usage error about a --from-seq the user never gave.
    writeFileSync(bad, '{"kind":"auditkit-chain","version":1}\n{"kind":"chain","chainId":"acme","fromSeq":"x","toSeq":3,"head":null}\n')
    expect(await cli(['verify', '--ndjson', bad])).toMatchObject({ code: EXIT.unavailable, stderr: expect.stringContaining('invalid seq range') })
  })

  it('ends an export quietly when the reader stops reading (`auditkit export ... | head`)', async () => {
    let written = 0
    const closedPipe = new Writable({
      highWaterMark: 1,
      write(_chunk: Buffer, _encoding, callback) {
        written++
        callback(written > 1 ? Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }) : null)
      },
    })
    const stderr: string[] = []
    const code = await runCli(['export', '--sqlite', dbPath], {
      stdout: closedPipe,
      stderr: new Writable({ write: (chunk: Buffer, _encoding, callback) => (stderr.push(chunk.toString()), callback()) }),
      env: {},
    })
    expect({ code, stderr: stderr.join('') }).toEqual({ code: EXIT.ok, stderr: '' })
  })

  it('says that the HMAC key may be the wrong one when the first event does not match its hash', async () => {
    const result = await cli(['verify', '--sqlite', dbPath, '--tenant', 'globex', '--hmac-key-file', publicKeyPath])
    expect(result.code).toBe(EXIT.broken)
    expect(result.stdout).toMatch(/^BROKEN globex at seq 1: modified\n.*content was changed \(or the HMAC key given is not the one the chain was written with\)/m)
  })

  it('says that nothing was verified for a tenant the file does not hold (a typo must not read as ok)', async () => {
    const result = await cli(['verify', '--sqlite', dbPath, '--tenant', 'globx', '--hmac-key-file', hmacKeyPath])
    expect(result.code).toBe(EXIT.ok)
    expect(result.stdout).toMatch(/^ok globx no events .*\n {2}warning: No events and no checkpoints of this chain in this source: nothing was verified/m)
    const known = await cli(['verify', '--sqlite', dbPath, '--tenant', 'globex', '--hmac-key-file', hmacKeyPath])
    expect(known.stdout).not.toMatch(/nothing was verified/)
  })

  it('reports a field added to an event row of a SQLite file as modified', async () => {
    const copy = tamperedCopy('added-field.db', `UPDATE events SET event = json_set(event, '$.approvedBy', 'cfo') WHERE chain_id = 'globex' AND seq = 2`)
    const result = await cli(['verify', '--sqlite', copy, '--tenant', 'globex', '--public-key', publicKeyPath, '--hmac-key-file', hmacKeyPath])
    expect(result.code).toBe(EXIT.broken)
    expect(result.stdout).toMatch(/^BROKEN globex at seq 2: modified\n.*"approvedBy"/m)
  })

  it('finds a tenant whose events were all deleted while its signed checkpoints remain, when verifying every chain', async () => {
    const copy = tamperedCopy('deleted-chain.db', `DELETE FROM events WHERE chain_id = 'globex'`)
    const result = await cli(['verify', '--sqlite', copy, '--public-key', publicKeyPath, '--hmac-key-file', hmacKeyPath])
    expect(result.code).toBe(EXIT.broken)
    expect(result.stdout).toMatch(/ acme\b/) // checked too (an earlier test of this file edits one of its events)
    expect(result.stdout).toMatch(/^BROKEN globex at seq \d+: tail_truncated/m)
  })

  const mongoUri = process.env.MONGODB_URI
  if (!mongoUri) console.warn('SKIPPED: auditkit verify --mongodb needs a MongoDB server; set MONGODB_URI to run it')
  it.skipIf(!mongoUri)('verifies and exports a MongoDB store', async () => {
    const { createMongoStore } = await import('../stores/mongodb/index.js')
    const database = `auditkit_cli_${process.pid}`
    const store = createMongoStore({ uri: mongoUri!, database })
    try {
      const logger = createAuditLogger({ store, onError: () => {} })
      for (let n = 1; n <= 5; n++)
        await logger.record({ tenantId: 'acme', actor: { type: 'system', id: 'job' }, action: 'report_generated', resource: { type: 'report' }, outcome: 'success' }, { delivery: 'await' })
      await logger.close()
      expect(await cli(['verify', '--mongodb', mongoUri!, '--db', database])).toMatchObject({ code: EXIT.ok, stdout: expect.stringContaining('ok acme seq 1..5') })
      expect((await cli(['export', '--mongodb', mongoUri!, '--db', database])).stdout.split('\n').filter((line) => line.includes('"kind":"event"'))).toHaveLength(5)
    } finally {
      const { MongoClient } = await import('mongodb')
      const client = await MongoClient.connect(mongoUri!)
      await client.db(database).dropDatabase()
      await client.close()
      await store.close()
    }
  })

  it('makes an Ed25519 key pair and never overwrites one', async () => {
    const privatePath = join(dir, 'signing.pem')
    const publicPath = join(dir, 'signing.pub.pem')
    expect(await cli(['keygen', '--private-key', privatePath, '--public-key', publicPath])).toMatchObject({ code: EXIT.ok })
    expect(readFileSync(privatePath, 'utf8')).toMatch(/BEGIN PRIVATE KEY/)
    expect(readFileSync(publicPath, 'utf8')).toMatch(/BEGIN PUBLIC KEY/)
    expect(statSync(privatePath).mode & 0o077).toBe(0)
    expect(await cli(['keygen', '--private-key', privatePath, '--public-key', join(dir, 'other.pem')])).toMatchObject({ code: EXIT.usage })
    expect(await cli(['keygen', '--private-key', join(dir, 'x.pem')])).toMatchObject({ code: EXIT.usage })
  })

  it('reads a SQLite file kept as evidence without changing a byte or leaving WAL files beside it', async () => {
    const evidence = join(dir, 'evidence.db')
    // An evidence copy is one self-contained file: the WAL folded in, in rollback-journal mode (what `VACUUM INTO`
    // or `sqlite3 .backup` hand over). Opened for writing, the store would switch it to WAL and change its header.
    const source = new Database(dbPath)
    source.exec('PRAGMA wal_checkpoint(TRUNCATE)')
    source.close()
    copyFileSync(dbPath, evidence)
    const copy = new Database(evidence)
    copy.exec('PRAGMA journal_mode = DELETE')
    copy.close()
    const before = sha256(evidence)
    // globex: the tenant the tampering test above leaves intact.
    const verified = await cli(['verify', '--sqlite', evidence, '--tenant', 'globex', '--public-key', publicKeyPath, '--hmac-key-file', hmacKeyPath])
    expect(verified).toMatchObject({ code: EXIT.ok, stdout: expect.stringContaining('ok globex seq 1..3') })
    expect(await cli(['export', '--sqlite', evidence, '--tenant', 'globex', '--out', join(dir, 'evidence.ndjson')])).toMatchObject({ code: EXIT.ok })
    expect(sha256(evidence)).toBe(before)
    expect(['-wal', '-shm', '-journal'].filter((suffix) => existsSync(`${evidence}${suffix}`))).toEqual([])
    expect(readFileSync(join(dir, 'evidence.ndjson'), 'utf8').trimEnd().split('\n')).toHaveLength(1 + 1 + 1 + 3) // header, chain, checkpoint, events
  })
})


describe('auditkit CLI: what an operator or auditor gets wrong', () => {
  it('refuses a flag of another command instead of ignoring it (an export given --from-seq must not export every event)', async () => {
    const out = join(dir, 'wrong-flag.ndjson')
    expect(await cli(['export', '--sqlite', dbPath, '--tenant', 'globex', '--from-seq', '2', '--to-seq', '2', '--out', out])).toMatchObject({
      code: EXIT.usage,
      stderr: expect.stringContaining('"auditkit export" does not take --from-seq'),
    })
    expect(existsSync(out)).toBe(false)
    for (const args of [
      ['verify', '--sqlite', dbPath, '--from', '2026-01-01', '--to', '2027-01-01'],
      ['verify', '--sqlite', dbPath, '--out', out],
      ['export', '--sqlite', dbPath, '--public-key', publicKeyPath],
      ['export', '--sqlite', dbPath, '--json'],
      ['keygen', '--sqlite', dbPath, '--private-key', join(dir, 'k.pem'), '--public-key', join(dir, 'k.pub.pem')],
    ])
      expect(await cli(args)).toMatchObject({ code: EXIT.usage, stderr: expect.stringMatching(/does not take --/) })
    expect(existsSync(join(dir, 'k.pem'))).toBe(false)
  })

  it('exports a tenant given twice once, so the export verifies', async () => {
    const out = join(dir, 'twice.ndjson')
    expect(await cli(['export', '--sqlite', dbPath, '--tenant', 'globex', '--tenant', 'globex', '--out', out])).toMatchObject({ code: EXIT.ok })
    expect(readFileSync(out, 'utf8').trimEnd().split('\n')).toHaveLength(1 + 1 + 1 + 3) // header, chain, checkpoint, events
    expect(await cli(['verify', '--ndjson', out, '--public-key', publicKeyPath, '--hmac-key-file', hmacKeyPath])).toMatchObject({ code: EXIT.ok })
    const verified = await cli(['verify', '--sqlite', dbPath, '--tenant', 'globex', '--tenant', 'globex', '--hmac-key-file', hmacKeyPath])
    expect(verified.stdout.match(/^ok globex/gm)).toHaveLength(1)
  })

  it('refuses a window whose --from is after its --to, or a time that is not ISO 8601 with a zone', async () => {
    const out = join(dir, 'reversed.ndjson')
    expect(await cli(['export', '--sqlite', dbPath, '--from', '2030-01-01T00:00:00Z', '--to', '2020-01-01T00:00:00Z', '--out', out])).toMatchObject({
      code: EXIT.usage,
      stderr: expect.stringContaining('--from is after --to'),
    })
    expect(existsSync(out)).toBe(false)
    // `new Date('1')` is 2001-01-01; a date-time without a zone would be read in this machine's time zone.
    for (const from of ['1', 'March 7, 2026', '2026-01-01T00:00:00'])
      expect(await cli(['export', '--sqlite', dbPath, '--from', from, '--to', '2030-01-01T00:00:00Z', '--out', out])).toMatchObject({
        code: EXIT.usage,
        stderr: expect.stringContaining('ISO 8601'),
      })
    expect(existsSync(out)).toBe(false)
    expect(await cli(['export', '--sqlite', dbPath, '--tenant', 'globex', '--from', '2020-01-01', '--to', '2099-01-01T00:00:00+02:00', '--out', out])).toMatchObject({ code: EXIT.ok })
  })

  it('leaves no partial --out file when an export fails, and refuses an existing one as a usage error', async () => {
    const foreign = join(dir, 'foreign.db')
    const other = new Database(foreign)
    other.exec('CREATE TABLE notes (text TEXT)')
    other.close()
    const out = join(dir, 'failed.ndjson')
    expect(await cli(['export', '--sqlite', foreign, '--out', out])).toMatchObject({ code: EXIT.unavailable })
    // The file is opened asynchronously: give a late open the time to show up.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(existsSync(out)).toBe(false)
    writeFileSync(out, 'kept\n')
    expect(await cli(['export', '--sqlite', dbPath, '--out', out])).toMatchObject({ code: EXIT.usage, stderr: expect.stringContaining('not overwriting') })
    expect(readFileSync(out, 'utf8')).toBe('kept\n')
  })

  it('answers an --out file that cannot be created with a usage error naming --out, not as an unreadable source', async () => {
    const out = join(dir, 'no-such-dir', 'acme.ndjson')
    const result = await cli(['export', '--sqlite', dbPath, '--tenant', 'acme', '--out', out])
    expect(result).toMatchObject({ code: EXIT.usage, stderr: expect.stringContaining(`--out: cannot create ${out}`) })
    expect(existsSync(out)).toBe(false)
  })

  it('verifies the events of a tenant whose chain line was removed from an export, and refuses an empty file', async () => {
    const { stdout } = await cli(['export', '--sqlite', dbPath])
    const hidden = join(dir, 'hidden-chain.ndjson')
    // acme's `chain` line removed and one of its events edited: it used to print only "ok globex" and exit 0.
    writeFileSync(hidden, stdout.split('\n').filter((line) => !line.startsWith('{"kind":"chain","chainId":"acme"')).join('\n').replace('"id":"r2"', '"id":"r20"'))
    const result = await cli(['verify', '--ndjson', hidden, '--hmac-key-file', hmacKeyPath, '--public-key', publicKeyPath])
    expect(result.code).toBe(EXIT.broken)
    expect(result.stdout).toMatch(/^BROKEN acme at seq 2: modified$/m)
    const empty = join(dir, 'empty.ndjson')
    writeFileSync(empty, '')
    expect(await cli(['verify', '--ndjson', empty])).toMatchObject({ code: EXIT.unavailable, stderr: expect.stringContaining('is not an AuditKit chain export') })
  })

  it('answers a directory or a private key where a file or a public key belongs with a usage error', async () => {
    expect(await cli(['verify', '--sqlite', dir])).toMatchObject({ code: EXIT.usage, stderr: expect.stringContaining('is a directory') })
    expect(await cli(['verify', '--ndjson', dir])).toMatchObject({ code: EXIT.usage, stderr: expect.stringContaining('is a directory') })
    const privatePath = join(dir, 'given-as-public.pem')
    writeFileSync(privatePath, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }))
    expect(await cli(['verify', '--sqlite', dbPath, '--public-key', privatePath])).toMatchObject({ code: EXIT.usage, stderr: expect.stringContaining('private key') })
    expect(await cli(['verify', '--sqlite', dbPath, '--from-seq', '99999999999999999999'])).toMatchObject({ code: EXIT.usage })
  })

  it('refuses an empty HMAC key file instead of reporting every event as modified', async () => {
    // `echo "$AUDIT_HMAC_KEY" > hmac.key` with the variable unset: exit 1 would read as tampering.
    const empty = join(dir, 'empty.key')
    writeFileSync(empty, '\n')
    expect(await cli(['verify', '--sqlite', dbPath, '--tenant', 'globex', '--hmac-key-file', empty])).toMatchObject({
      code: EXIT.usage,
      stderr: expect.stringContaining('is empty'),
    })
    expect(await cli(['verify', '--sqlite', dbPath, '--tenant', 'globex', '--hmac-key='])).toMatchObject({ code: EXIT.usage })
  })

  it('names the --public-key file that is not a PEM key', async () => {
    const result = await cli(['verify', '--sqlite', dbPath, '--public-key', hmacKeyPath])
    expect(result).toMatchObject({ code: EXIT.usage, stderr: expect.stringContaining(`--public-key ${hmacKeyPath} is not a readable PEM key`) })
  })

  it('says "no checkpoint yet" when --max-uncheckpointed is exceeded by a chain that has none, not "seq none"', async () => {
    const path = join(dir, 'no-checkpoints.db')
    const store = createSqliteStore({ path })
    const logger = createAuditLogger({ store, onError: () => {} })
    for (let n = 1; n <= 3; n++)
      await logger.record({ tenantId: 'initech', actor: { type: 'system', id: 'job' }, action: 'report_generated', resource: { type: 'report' }, outcome: 'success' }, { delivery: 'await' })
    await logger.close()
    await store.close()
    const result = await cli(['verify', '--sqlite', path, '--max-uncheckpointed', '1'])
    expect(result.code).toBe(EXIT.broken)
    expect(result.stdout).toContain('3 events and no checkpoint yet, more than the 1 allowed without one')
    expect(result.stdout).not.toContain('seq none')
  })

  it('takes --anchor checkpoint records as an OTLP receiver decodes them (nested attributes) and as OTLP JSON key/values', async () => {
    const path = join(dir, 'anchored.db')
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    const keyPath = join(dir, 'anchored.pub.pem')
    writeFileSync(keyPath, publicKey.export({ type: 'spki', format: 'pem' }))
    const store = createSqliteStore({ path })
    const logger = createAuditLogger({ store, onError: () => {} })
    const checkpointer = createCheckpointer({ logger, privateKey, everyEvents: 2, everyMs: 0 })
    for (let n = 1; n <= 4; n++)
      await logger.record({ tenantId: 'hooli', actor: { type: 'system', id: 'job' }, action: 'report_generated', resource: { type: 'report' }, outcome: 'success' }, { delivery: 'await' })
    await checkpointer.close()
    await logger.close()
    await store.init()
    const checkpoints = await store.listCheckpoints('hooli')
    await store.close()
    expect(checkpoints.length).toBeGreaterThan(0)
    // The records exactly as the SIEM export encodes them and an OTLP receiver decodes them.
    const received = decodeExportLogsRequest(encodeExportLogsRequest(checkpoints.map(checkpointToLogRecord), { resource: [], scopeName: 'test' }))
    const nested = join(dir, 'anchors-nested.ndjson')
    writeFileSync(nested, received.map((record) => JSON.stringify(record)).join('\n'))
    expect(await cli(['verify', '--sqlite', path, '--public-key', keyPath, '--anchor', nested])).toMatchObject({ code: EXIT.ok, stdout: expect.stringContaining('ok hooli') })
    const otlpJson = join(dir, 'anchors-otlp.json')
    const keyValues = received.map((record) => ({
      eventName: record.eventName,
      attributes: Object.entries(record.attributes).map(([key, value]) => ({ key, value: typeof value === 'number' ? { intValue: String(value) } : { stringValue: value } })),
    }))
    writeFileSync(otlpJson, JSON.stringify(keyValues))
    expect(await cli(['verify', '--sqlite', path, '--public-key', keyPath, '--anchor', otlpJson])).toMatchObject({ code: EXIT.ok })
    // A forged anchor in the nested shape is checked, not ignored.
    const forged = received.map((record) => ({ ...record, attributes: { ...record.attributes, 'audit.checkpoint.signature': Buffer.alloc(64).toString('base64') } }))
    writeFileSync(nested, JSON.stringify(forged.at(-1)))
    expect((await cli(['verify', '--sqlite', path, '--public-key', keyPath, '--anchor', nested])).code).toBe(EXIT.broken)
  })

  it('keygen refuses one path for both keys and leaves no private key behind when it cannot write the public one', async () => {
    const same = join(dir, 'same.pem')
    expect(await cli(['keygen', '--private-key', same, '--public-key', same])).toMatchObject({ code: EXIT.usage, stderr: expect.stringContaining('different files') })
    expect(existsSync(same)).toBe(false)
    const lonely = join(dir, 'lonely.pem')
    expect(await cli(['keygen', '--private-key', lonely, '--public-key', join(dir, 'no-such-folder', 'lonely.pub.pem')])).toMatchObject({
      code: EXIT.usage,
      stderr: expect.stringContaining('cannot write'),
    })
    expect(existsSync(lonely)).toBe(false)
  })
})

describe('auditkit CLI: data that tries to print lines of its own', () => {
  // Tenant ids are any non-empty string (the stores keep them as given), so a real store can hold these; printed raw,
  // the first one made an export print a line "ok acme seq 1..2100 (...)" of its own and exit 0.
  const forged = 'x\nok acme seq 1..2100 (2100 events, 420 checkpoints, signatures verified, HMAC)'
  const escape = '\u001b[2K\rok acme seq 1..2100 (terminal line cleared)'
  const bidi = 'evil\u202e\u2028ok acme'
  // Ids that print like another one: a combining grapheme joiner (invisible), a Cyrillic "а", and Hangul fillers (letters
  // that render blank) padding a fake summary away from the real one.
  const joiner = 'acme\u034f'
  const cyrillic = '\u0430cme'
  const fake = 'acme seq 1..999 (999 events, 2 checkpoints, signatures verified, HMAC)'
  const filler = `${fake}${' '.repeat(40)}`.replaceAll(' ', '\u3164')
  const lookalikes = [joiner, cyrillic, filler, 'x\u115f\u1160\uffa0\u2800y', 'e\u0301\u20dd', '株式会社']
  const crafted = join(dir, 'crafted.db')
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const craftedKeyPath = join(dir, 'crafted-public.pem')

  beforeAll(async () => {
    writeFileSync(craftedKeyPath, publicKey.export({ type: 'spki', format: 'pem' }))
    const store = createSqliteStore({ path: crafted })
    const logger = createAuditLogger({ store, hmacKey: 'cli-hmac-key', onError: () => {} })
    const checkpointer = createCheckpointer({ logger, privateKey, everyEvents: 2, everyMs: 0 })
    for (const tenantId of [forged, escape, bidi, 'Acme Corp', 'acme', 'zürich', ...lookalikes]) {
      for (let n = 1; n <= 2; n++) {
        await logger.record(
          { tenantId, actor: { type: 'system', id: 'job' }, action: 'report_generated', resource: { type: 'report', id: `r${n}` }, outcome: 'success' },
          { delivery: 'await' },
        )
      }
    }
    await checkpointer.close()
    await logger.close()
    await store.close()
  })

  /** No line an attacker chose: nothing but the lines the CLI writes, and no terminal control character at all. */
  function expectNoForgedLines(output: string): void {
    expect(output).not.toMatch(/^ok acme seq 1\.\.2100/m)
    // eslint-disable-next-line no-control-regex
    expect(output).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/)
  }

  it('prints a chain id holding a line break or terminal controls JSON-quoted on its own line, from an NDJSON export and a store', async () => {
    const out = join(dir, 'crafted.ndjson')
    expect(await cli(['export', '--sqlite', crafted, '--out', out])).toMatchObject({ code: EXIT.ok })
    // Every line of the export is one JSON object (JSON escapes the line break).
    expect(readFileSync(out, 'utf8').trimEnd().split('\n')).toHaveLength(1 + 12 * (1 + 1 + 2))
    for (const args of [['--ndjson', out], ['--sqlite', crafted]]) {
      const result = await cli(['verify', ...args, '--public-key', craftedKeyPath, '--hmac-key', 'cli-hmac-key'])
      // The chains verify: exit 0, each named so that it cannot be mistaken for another.
      expect(result).toMatchObject({ code: EXIT.ok, stderr: '' })
      expectNoForgedLines(result.stdout)
      const lines = result.stdout.trimEnd().split('\n')
      expect(lines).toHaveLength(12)
      expect(lines.filter((line) => line.startsWith('ok acme'))).toEqual(['ok acme seq 1..2 (2 events, 1 checkpoints, signatures verified, HMAC)'])
      expect(lines).toEqual(
        expect.arrayContaining([
          'ok "x\\nok acme seq 1..2100 (2100 events, 420 checkpoints, signatures verified, HMAC)" seq 1..2 (2 events, 1 checkpoints, signatures verified, HMAC)',
          'ok "\\u001b[2K\\rok acme seq 1..2100 (terminal line cleared)" seq 1..2 (2 events, 1 checkpoints, signatures verified, HMAC)',
          'ok "evil\\u202e\\u2028ok acme" seq 1..2 (2 events, 1 checkpoints, signatures verified, HMAC)',
          'ok "Acme Corp" seq 1..2 (2 events, 1 checkpoints, signatures verified, HMAC)',
          // Ordinary ids print as they always did.
          'ok acme seq 1..2 (2 events, 1 checkpoints, signatures verified, HMAC)',
          // Beyond printable ASCII an id is quoted, its letters kept as they are.
          'ok "zürich" seq 1..2 (2 events, 1 checkpoints, signatures verified, HMAC)',
        ]),
      )
    }
    // --json was already safe: JSON escapes the control characters, and the ids come back exactly.
    const json = await cli(['verify', '--ndjson', out, '--public-key', craftedKeyPath, '--hmac-key', 'cli-hmac-key', '--json'])
    expect(json.code).toBe(EXIT.ok)
    expect(json.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/) // eslint-disable-line no-control-regex
    expect((JSON.parse(json.stdout) as { chains: { chainId: string }[] }).chains.map((chain) => chain.chainId)).toEqual(
      expect.arrayContaining([forged, escape, bidi, 'acme']),
    )
  })

  it('quotes an id that is not printable ASCII, and escapes its combining marks and blank letters, so that it cannot look like another id', async () => {
    const out = join(dir, 'crafted-lookalikes.ndjson')
    expect(await cli(['export', '--sqlite', crafted, '--out', out])).toMatchObject({ code: EXIT.ok })
    for (const args of [['--ndjson', out], ['--sqlite', crafted]]) {
      const result = await cli(['verify', ...args, '--public-key', craftedKeyPath, '--hmac-key', 'cli-hmac-key'])
      expect(result).toMatchObject({ code: EXIT.ok, stderr: '' })
      expectNoForgedLines(result.stdout)
      const lines = result.stdout.trimEnd().split('\n')
      // The only line naming acme plainly is acme's own; every lookalike is quoted and shows what sets it apart.
      expect(lines.filter((line) => /^ok [^"]/.test(line))).toEqual(['ok acme seq 1..2 (2 events, 1 checkpoints, signatures verified, HMAC)'])
      const summary = 'seq 1..2 (2 events, 1 checkpoints, signatures verified, HMAC)'
      expect(lines).toEqual(
        expect.arrayContaining([
          `ok "acme\\u034f" ${summary}`,
          `ok "\u0430cme" ${summary}`, // Cyrillic kept, but quoted: never the plain acme
          `ok "${`${fake}${' '.repeat(40)}`.replaceAll(' ', '\\u3164')}" ${summary}`,
          `ok "x\\u115f\\u1160\\uffa0\\u2800y" ${summary}`,
          `ok "e\\u0301\\u20dd" ${summary}`,
          `ok "株式会社" ${summary}`,
        ]),
      )
      // Nothing invisible or combining is left on any line.
      expect(result.stdout).not.toMatch(/[\p{M}\p{Default_Ignorable_Code_Point}\u2800]/u)
    }
    // A --tenant, held or not, the same way.
    const held = await cli(['verify', '--sqlite', crafted, '--tenant', cyrillic, '--hmac-key', 'cli-hmac-key'])
    expect(held.stdout).toMatch(/^ok "\u0430cme" seq 1\.\.2 /m)
    const missing = await cli(['verify', '--sqlite', crafted, '--tenant', 'acm\u0435\u034f', '--hmac-key', 'cli-hmac-key'])
    expect(missing.stdout).toMatch(/^ok "acm\u0435\\u034f" no events /m)
  })

  it('quotes a --tenant the source does not hold, and a broken chain, the same way (exit codes unchanged)', async () => {
    const missing = await cli(['verify', '--sqlite', crafted, '--tenant', 'nobody\nok acme seq 1..2100', '--hmac-key', 'cli-hmac-key'])
    expect(missing.code).toBe(EXIT.ok)
    expectNoForgedLines(missing.stdout)
    expect(missing.stdout).toMatch(/^ok "nobody\\nok acme seq 1\.\.2100" no events/m)

    const out = join(dir, 'crafted-broken.ndjson')
    expect(await cli(['export', '--sqlite', crafted, '--tenant', forged, '--out', out])).toMatchObject({ code: EXIT.ok })
    const text = readFileSync(out, 'utf8')
    writeFileSync(out, text.replace('"id":"r2"', '"id":"r20"'))
    const broken = await cli(['verify', '--ndjson', out, '--public-key', craftedKeyPath, '--hmac-key', 'cli-hmac-key'])
    expect(broken.code).toBe(EXIT.broken)
    expectNoForgedLines(broken.stdout)
    expect(broken.stdout).toMatch(/^BROKEN "x\\nok acme seq 1\.\.2100 \(2100 events, 420 checkpoints, signatures verified, HMAC\)" at seq 2: modified$/m)
  })

  it('escapes the data a verifier message or an error quotes (an added field name, a chain id, a seq)', async () => {
    const out = join(dir, 'crafted-acme.ndjson')
    expect(await cli(['export', '--sqlite', crafted, '--tenant', 'acme', '--out', out])).toMatchObject({ code: EXIT.ok })
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n')
    const added = lines.map((line) => (line.includes('"kind":"event"') && line.includes('"seq":2,') ? line.replace('{"kind":"event",', '{"kind":"event","x\\nok acme seq 1..2100 (added)":1,') : line))
    writeFileSync(out, `${added.join('\n')}\n`)
    const field = await cli(['verify', '--ndjson', out, '--public-key', craftedKeyPath, '--hmac-key', 'cli-hmac-key'])
    expect(field.code).toBe(EXIT.broken)
    expectNoForgedLines(field.stdout)
    expect(field.stdout).toContain('a field "x\\nok acme seq 1..2100 (added)" that its hash does not cover')

    // An error quoting the file's data goes to stderr, which shares the terminal: escaped there too.
    const bad = join(dir, 'crafted-bad.ndjson')
    writeFileSync(bad, '{"kind":"auditkit-chain","version":1}\n{"kind":"chain","chainId":"x\\nok acme seq 1..2100","fromSeq":"1\\u001b[2K\\rok acme seq 1..2100","toSeq":3,"head":null}\n')
    const error = await cli(['verify', '--ndjson', bad])
    expect(error).toMatchObject({ code: EXIT.unavailable, stdout: '' })
    expectNoForgedLines(error.stderr)
    expect(error.stderr).toBe('auditkit: INTEGRITY_ERROR: The source declares an invalid seq range for chain "x\\nok acme seq 1..2100" (fromSeq "1\\u001b[2K\\rok acme seq 1..2100", toSeq 3)\n')
    // Letters that render blank too: they could pad a message out of sight.
    writeFileSync(bad, '{"kind":"auditkit-chain","version":1}\n{"kind":"chain","chainId":"x\\u3164\\u2800y","fromSeq":"1","toSeq":3,"head":null}\n')
    expect((await cli(['verify', '--ndjson', bad])).stderr).toContain('chain "x\\u3164\\u2800y"')
  })
})

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}

