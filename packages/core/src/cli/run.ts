import { generateKeyPairSync } from 'node:crypto'
import { createWriteStream, existsSync, readFileSync, rmSync, statSync, writeFileSync, type WriteStream } from 'node:fs'
import { once } from 'node:events'
import { resolve } from 'node:path'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { parseInstant } from '../admin/query-params.js'
import { AuditKitError, isAuditKitError } from '../errors.js'
import { parseCheckpoints } from '../integrity/anchors.js'
import { toPublicKey } from '../integrity/keys.js'
import { createNdjsonSource, exportNdjson, seqRangeForTimes } from '../integrity/ndjson.js'
import type { ChainSource } from '../integrity/source.js'
import { verifyAll, type ChainVerification } from '../integrity/verify.js'
import type { AuditStore } from '../store/types.js'
import { AUDITKIT_VERSION } from '../version.js'

/** Exit codes of the `auditkit` command. */
export const EXIT = {
  /** Every chain verified (or the command succeeded). */
  ok: 0,
  /** A chain is broken: the first broken link is printed. */
  broken: 1,
  /** Bad arguments, a missing file or key. */
  usage: 2,
  /** The source could not be read (database unreachable, unreadable export). */
  unavailable: 3,
} as const

export interface CliIo {
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  env: NodeJS.ProcessEnv
}

const USAGE = `Usage:
  auditkit verify <source> [--tenant <id>]... [--public-key <pem file>] [--hmac-key-file <file>]
                  [--max-uncheckpointed <n>] [--anchor <file>] [--from-seq <n>] [--to-seq <n>] [--json]
  auditkit export <store> [--tenant <id>]... [--from <iso time>] [--to <iso time>] [--out <file>]
  auditkit keygen --private-key <file> --public-key <file>
  auditkit --version

Sources:
  --sqlite <file>                      a SQLite store file
  --mongodb <uri> --db <name>          a MongoDB store (optionally --collection-prefix <prefix>)
  --ndjson <file>                      an export made by "auditkit export" (verify only)

--anchor reads checkpoints kept outside the database (JSON or NDJSON, as stored or as the SIEM received them
with their audit.* attributes): each must be in the database, and the chain must reach and match it.

The HMAC key is read from --hmac-key-file, the AUDITKIT_HMAC_KEY environment variable, or --hmac-key
(visible to other users in the process list: prefer the first two).

Exit codes: 0 ok, 1 a chain is broken, 2 usage error, 3 the source could not be read.
`

class UsageError extends Error {}

const OPTIONS = {
  sqlite: { type: 'string' },
  mongodb: { type: 'string' },
  db: { type: 'string' },
  'collection-prefix': { type: 'string' },
  ndjson: { type: 'string' },
  tenant: { type: 'string', multiple: true },
  'public-key': { type: 'string' },
  'hmac-key': { type: 'string' },
  'hmac-key-file': { type: 'string' },
  'max-uncheckpointed': { type: 'string' },
  anchor: { type: 'string' },
  'from-seq': { type: 'string' },
  'to-seq': { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  out: { type: 'string' },
  'private-key': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

type Flags = ReturnType<typeof parseFlags>

const SOURCE_FLAGS = ['sqlite', 'mongodb', 'db', 'collection-prefix'] as const
/** The flags each command reads: any other is refused, not ignored (`export --from-seq` would export every event). */
const COMMAND_FLAGS: Record<string, readonly (keyof typeof OPTIONS)[]> = {
  verify: [...SOURCE_FLAGS, 'ndjson', 'tenant', 'public-key', 'hmac-key', 'hmac-key-file', 'max-uncheckpointed', 'anchor', 'from-seq', 'to-seq', 'json'],
  // --ndjson: answered by exportCommand with what to give instead.
  export: [...SOURCE_FLAGS, 'ndjson', 'tenant', 'from', 'to', 'out'],
  keygen: ['private-key', 'public-key'],
}

function parseFlags(args: string[]) {
  return parseArgs({ args, options: OPTIONS, allowPositionals: false, strict: true }).values
}

/** Runs `auditkit <command> ...` and resolves with the exit code; never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv
  const print = (stream: NodeJS.WritableStream, text: string): void => void stream.write(text.endsWith('\n') ? text : `${text}\n`)
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    print(command === undefined ? io.stderr : io.stdout, USAGE)
    return command === undefined ? EXIT.usage : EXIT.ok
  }
  if (command === '--version' || command === '-v' || command === 'version') {
    // The verifier's version belongs next to its verdicts in an incident record.
    print(io.stdout, `auditkit ${AUDITKIT_VERSION ?? '(version unknown: run from source)'}`)
    return EXIT.ok
  }
  try {
    const flags = parseFlags(rest)
    if (flags.help) {
      print(io.stdout, USAGE)
      return EXIT.ok
    }
    const accepted = COMMAND_FLAGS[command]
    if (accepted) {
      const other = Object.keys(flags).find((name) => name !== 'help' && !(accepted as readonly string[]).includes(name))
      if (other !== undefined) throw new UsageError(`"auditkit ${command}" does not take --${other}`)
    }
    switch (command) {
      case 'verify':
        return await verifyCommand(flags, io, print)
      case 'export':
        return await exportCommand(flags, io)
      case 'keygen':
        return keygenCommand(flags, io, print)
      default:
        throw new UsageError(`Unknown command "${command}"`)
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    if (error instanceof UsageError || (error as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS')) {
      print(io.stderr, `auditkit: ${oneLine(message)}\n\n${USAGE}`)
      return EXIT.usage
    }
    if (isAuditKitError(error) && (error.code === 'INVALID_OPTIONS' || error.code === 'INVALID_RANGE')) {
      print(io.stderr, `auditkit: ${oneLine(message)}`)
      return EXIT.usage
    }
    print(io.stderr, `auditkit: ${isAuditKitError(error) ? `${error.code}: ` : ''}${oneLine(message)}`)
    return EXIT.unavailable
  }
}

type Print = (stream: NodeJS.WritableStream, text: string) => void

async function verifyCommand(flags: Flags, io: CliIo, print: Print): Promise<number> {
  const publicKeyText = flags['public-key'] === undefined ? undefined : readFile(flags['public-key'], '--public-key')
  // Node derives the public key from a private one, so it would verify: but the signing key has no place on a verifier.
  if (publicKeyText !== undefined && /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(publicKeyText))
    throw new UsageError(`--public-key: ${flags['public-key']} holds a private key; give the public key (the --public-key file of "auditkit keygen") and keep the private key off this machine`)
  // Parsed here, not by verifyAll, so that an unreadable key names its file rather than "publicKey".
  const publicKey = publicKeyText === undefined ? undefined : toPublicKey(publicKeyText, `--public-key ${flags['public-key']}`)
  const hmacKey = hmacKeyOf(flags, io.env)
  const maxUncheckpointed = integerFlag(flags['max-uncheckpointed'], '--max-uncheckpointed')
  const fromSeq = integerFlag(flags['from-seq'], '--from-seq')
  const toSeq = integerFlag(flags['to-seq'], '--to-seq')
  const anchors = flags.anchor === undefined ? undefined : anchorsOf(flags.anchor)
  const opened = await openSource(flags)
  try {
    const result = await verifyAll({
      source: opened.source,
      ...(flags.tenant ? { chainIds: uniqueTenants(flags.tenant) } : {}),
      ...(publicKey === undefined ? {} : { publicKey }),
      ...(hmacKey === undefined ? {} : { hmacKey }),
      ...(maxUncheckpointed === undefined ? {} : { maxUncheckpointed }),
      ...(fromSeq === undefined ? {} : { fromSeq }),
      ...(toSeq === undefined ? {} : { toSeq }),
      ...(anchors === undefined ? {} : { anchors }),
    })
    if (flags.json) print(io.stdout, JSON.stringify(result, null, 2))
    else {
      if (result.chains.length === 0) print(io.stdout, 'ok: no chains found')
      for (const chain of result.chains) print(io.stdout, describe(chain))
    }
    return result.ok ? EXIT.ok : EXIT.broken
  } finally {
    await opened.close()
  }
}

function describe(chain: ChainVerification): string {
  const range = chain.range.to === null ? 'no events' : `seq ${chain.range.from}..${chain.range.to}`
  const signatures = chain.checkpoints.signatures === 'verified' ? 'signatures verified' : 'signatures NOT checked'
  const summary = `${chain.eventsChecked} events, ${chain.checkpoints.count} checkpoints, ${signatures}${chain.keyed ? ', HMAC' : ''}`
  const id = shown(chain.chainId)
  const lines = chain.firstBreak
    ? [`BROKEN ${id} at seq ${chain.firstBreak.seq}: ${chain.firstBreak.reason}`, `  ${oneLine(chain.firstBreak.message)}`, `  (${summary})`]
    : [`ok ${id} ${range} (${summary})`]
  for (const warning of chain.warnings) lines.push(`  warning: ${oneLine(warning)}`)
  return lines.join('\n')
}

/**
 * Control (C0, DEL, C1), format (bidi overrides, zero-width), unassigned and private-use characters and separators,
 * and the letters that render as nothing: the default-ignorable code points (the Hangul fillers U+115F, U+1160,
 * U+3164, U+FFA0, the combining grapheme joiner, variation selectors) and the blank Braille pattern U+2800.
 */
const INVISIBLE = /[\p{C}\p{Z}\p{Default_Ignorable_Code_Point}\u2800]/gu

/** In a quoted id, also the combining marks: `acme` followed by one would otherwise read as `acme` (or `acmé`). */
const INVISIBLE_OR_COMBINING = /[\p{C}\p{Z}\p{Default_Ignorable_Code_Point}\u2800\p{M}]/gu

/** Printable ASCII but the space, the quote and the backslash: the only ids printed as they are. */
const PLAIN_ID = /^[\x21\x23-\x5b\x5d-\x7e]+$/

/**
 * An id from the data (a chain or tenant id) in a human line: as it is when it is printable ASCII without a space, a
 * quote or a backslash (`acme`, `tenant-42`), JSON-quoted otherwise (`"Acme Corp"`, `"x\nok acme"`, `"zürich"`,
 * `"\u0430cme"` stays `"аcme"`), with its invisible characters and combining marks escaped (`"acme\u034f"`), so that it
 * can neither start a line of its own, drive the terminal, nor pass for another id: a quoted id never reads as a plain
 * one. Tenant ids are any string: the stores keep them as given.
 */
function shown(value: string): string {
  return PLAIN_ID.test(value) ? value : escaped(JSON.stringify(value), INVISIBLE_OR_COMBINING)
}

const SHORT_ESCAPES: Record<string, string> = { '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' }

/**
 * Text that may quote the data (a verifier message naming a field or key id, an error): every control, format,
 * separator or blank character but the space is escaped as JSON does (`\n`, `\u001b`, `\u202e`, `\u3164`), so the
 * text stays on its line and cannot drive the terminal.
 */
function oneLine(text: string): string {
  return escaped(text, INVISIBLE)
}

function escaped(text: string, characters: RegExp): string {
  return text.replace(characters, (char) => {
    if (char === ' ') return char
    let escaped = ''
    for (let i = 0; i < char.length; i++) escaped += SHORT_ESCAPES[char[i] ?? ''] ?? `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`
    return escaped
  })
}

async function exportCommand(flags: Flags, io: CliIo): Promise<number> {
  if (flags.ndjson !== undefined) throw new UsageError('export reads a store (--sqlite or --mongodb), not --ndjson')
  if ((flags.from === undefined) !== (flags.to === undefined)) throw new UsageError('--from and --to go together')
  const window = flags.from !== undefined && flags.to !== undefined ? { from: parseInstant('--from', flags.from), to: parseInstant('--to', flags.to) } : null
  if (window && window.from > window.to) throw new UsageError(`--from is after --to (the window is [from, to))`)
  const outPath = flags.out
  if (outPath !== undefined && existsSync(outPath)) throw new UsageError(`--out: ${outPath} exists; not overwriting it (remove it or name another file)`)
  const opened = await openStore(flags)
  const file = outPath === undefined ? null : createWriteStream(outPath, { flags: 'wx' })
  const out: NodeJS.WritableStream = file ?? io.stdout
  // Set once this run has created the file ('wx': never one that appeared meanwhile), so a failed export can remove it.
  let created = false
  file?.once('open', () => (created = true))
  try {
    if (file) {
      // A directory that does not exist or cannot be written is the caller's mistake (2), not an unreadable source (3).
      await once(file, 'open').catch((error: unknown) => {
        throw new UsageError(`--out: cannot create ${outPath} (${error instanceof Error ? error.message : String(error)})`)
      })
    }
    const lines = exportNdjson({
      store: opened.store,
      ...(flags.tenant ? { chainIds: uniqueTenants(flags.tenant) } : {}),
      ...(window ? { range: (chainId: string) => seqRangeForTimes(opened.store, chainId, window) } : {}),
    })
    // The reader may stop reading (`auditkit export ... | head`): that ends the export quietly, as Unix tools do.
    let writeError: unknown = null
    const onWriteError = (error: unknown): void => {
      writeError ??= error
    }
    const events: NodeJS.EventEmitter = out
    events.on('error', onWriteError)
    try {
      for await (const line of lines) {
        if (writeError !== null) break
        if (!out.write(line)) await once(out, 'drain')
      }
    } catch (error) {
      writeError ??= error
    } finally {
      events.off('error', onWriteError)
    }
    if (writeError !== null) {
      if ((writeError as { code?: unknown }).code === 'EPIPE') return EXIT.ok
      throw writeError
    }
    if (file) {
      file.end()
      await once(file, 'finish')
    }
    return EXIT.ok
  } catch (error) {
    // A cut export must not be left behind as if it were one (a re-run would refuse it as existing, too).
    if (file && outPath !== undefined) await removePartial(file, outPath, () => created)
    throw error
  } finally {
    await opened.close()
  }
}

/** Closes the --out stream of a failed export and removes the file if this run created it. */
async function removePartial(file: WriteStream, path: string, created: () => boolean): Promise<void> {
  // Waits for the file to be opened (or refused) and closed, so it cannot be created after the removal.
  if (!file.closed) {
    const closed = once(file, 'close').catch(() => {})
    file.destroy()
    await closed
  }
  if (created()) rmSync(path, { force: true })
}

function keygenCommand(flags: Flags, io: CliIo, print: Print): number {
  const privatePath = flags['private-key']
  const publicPath = flags['public-key']
  if (privatePath === undefined || publicPath === undefined) throw new UsageError('keygen needs --private-key <file> and --public-key <file>')
  if (resolve(privatePath) === resolve(publicPath)) throw new UsageError('--private-key and --public-key must be different files')
  for (const path of [privatePath, publicPath]) if (existsSync(path)) throw new UsageError(`${path} exists; not overwriting a key`)
  const { privateKey, publicKey } = generateKeyPairSync('ed25519', {
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  })
  writeKey(privatePath, privateKey, 0o600, '--private-key')
  try {
    writeKey(publicPath, publicKey, 0o644, '--public-key')
  } catch (error) {
    // A private key without its public half is of no use, and would make the re-run refuse to overwrite it.
    rmSync(privatePath, { force: true })
    throw error
  }
  print(io.stdout, `Wrote the Ed25519 private key to ${privatePath} (keep it out of the database) and the public key to ${publicPath}`)
  return EXIT.ok
}

function writeKey(path: string, pem: string, mode: number, flag: string): void {
  try {
    writeFileSync(path, pem, { mode, flag: 'wx' })
  } catch (error) {
    throw new UsageError(`${flag}: cannot write ${path} (${error instanceof Error ? error.message : String(error)})`)
  }
}

interface Opened<T> {
  close(): Promise<void>
  source: T
}

async function openSource(flags: Flags): Promise<Opened<ChainSource | AuditStore>> {
  const chosen = [flags.sqlite, flags.mongodb, flags.ndjson].filter((value) => value !== undefined)
  if (chosen.length !== 1) throw new UsageError('Give exactly one of --sqlite, --mongodb, --ndjson')
  if (flags.ndjson !== undefined) {
    mustBeFile(flags.ndjson)
    return { source: createNdjsonSource({ path: flags.ndjson }), close: async () => {} }
  }
  const { store, close } = await openStore(flags)
  return { source: store, close }
}

async function openStore(flags: Flags): Promise<{ store: AuditStore; close: () => Promise<void> }> {
  if ((flags.sqlite === undefined) === (flags.mongodb === undefined)) throw new UsageError('Give exactly one of --sqlite <file> or --mongodb <uri> --db <name>')
  let store: AuditStore
  if (flags.sqlite !== undefined) {
    // The store would create an empty database for a mistyped path: refuse instead.
    mustBeFile(flags.sqlite)
    const { createSqliteStore } = await import('../stores/sqlite/index.js')
    // verify and export only read: a file kept as evidence must stay byte-identical (no WAL switch, no schema).
    store = createSqliteStore({ path: flags.sqlite, readonly: true })
  } else {
    if (flags.db === undefined) throw new UsageError('--mongodb needs --db <name>')
    const { createMongoStore } = await import('../stores/mongodb/index.js')
    store = createMongoStore({
      uri: flags.mongodb,
      database: flags.db,
      createIndexes: false,
      // Fail in seconds, not the driver's 30 s, when the server is unreachable.
      clientOptions: { serverSelectionTimeoutMS: 10_000 },
      ...(flags['collection-prefix'] === undefined ? {} : { collectionPrefix: flags['collection-prefix'] }),
    })
  }
  await store.init()
  return { store, close: () => store.close() }
}

function hmacKeyOf(flags: Flags, env: NodeJS.ProcessEnv): string | Buffer | undefined {
  const given = [flags['hmac-key'], flags['hmac-key-file']].filter((value) => value !== undefined)
  if (given.length > 1) throw new UsageError('Give --hmac-key or --hmac-key-file, not both')
  if (flags['hmac-key-file'] !== undefined) {
    // A trailing newline from `echo key > file` is not part of the key.
    const key = readFile(flags['hmac-key-file'], '--hmac-key-file').replace(/\r?\n$/, '')
    // An empty key (`echo "$UNSET" > file`) would fail every event as modified: a tampering verdict from a setup slip.
    if (key === '') throw new UsageError(`--hmac-key-file: ${flags['hmac-key-file']} is empty; put the logger's hmacKey in it`)
    return key
  }
  if (flags['hmac-key'] === '') throw new UsageError("--hmac-key is empty; give the logger's hmacKey")
  return flags['hmac-key'] ?? (env.AUDITKIT_HMAC_KEY === undefined || env.AUDITKIT_HMAC_KEY === '' ? undefined : env.AUDITKIT_HMAC_KEY)
}

function mustBeFile(path: string): void {
  const stats = statSync(path, { throwIfNoEntry: false })
  if (!stats) throw new UsageError(`${path} does not exist`)
  if (stats.isDirectory()) throw new UsageError(`${path} is a directory; give the file in it`)
}

/** A repeated --tenant is one chain: exported twice, the file would not verify (its checkpoints would not link). */
function uniqueTenants(tenants: readonly string[]): string[] {
  return [...new Set(tenants)]
}

function anchorsOf(path: string): ReturnType<typeof parseCheckpoints> {
  try {
    return parseCheckpoints(readFile(path, '--anchor'))
  } catch (error) {
    // "Checkpoint line 1 is not JSON" alone does not say which file.
    if (isAuditKitError(error)) throw new AuditKitError(error.code, `--anchor ${path}: ${error.message}`, { cause: error })
    throw error
  }
}

function readFile(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw new UsageError(`${flag}: cannot read ${path} (${error instanceof Error ? error.message : String(error)})`)
  }
}

function integerFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new UsageError(`${flag} must be a whole number`)
  return Number(value)
}
