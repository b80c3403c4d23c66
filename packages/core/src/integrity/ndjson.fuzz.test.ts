import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT, runCli } from '../cli/run.js'
import { createAuditLogger } from '../logger/audit-logger.js'
import { createSqliteStore } from '../stores/sqlite/index.js'
import { createCheckpointer } from './checkpointer.js'
import { BREAK_REASONS } from './verify.js'

/**
 * Property-based tests of `auditkit verify --ndjson` (createNdjsonSource + verifyAll) against a real export: a small
 * signed, HMAC-keyed chain per tenant written through `createAuditLogger` into a SQLite file, exported with
 * `auditkit export`, then changed by one arbitrary mutation.
 *
 * What counts as "the same export" (the oracle, independent of the verifier): the file read as UTF-8 (invalid bytes as
 * U+FFFD), split at LF (a CR before it dropped), lines blank to `String.prototype.trim` skipped, every other line parsed
 * with JSON.parse; then, per chain id, the `event` objects in file order and the `checkpoint` objects as a set, compared
 * as JSON data: key order and number spelling do not count (`1`, `1.0`, `1e0` are the same number; so are `0` and `-0`),
 * escapes do not count (`"\u0061"` is `"a"`). The header and `chain` lines are not data: `exportedAt`, `head`, and a
 * declared range the events still cover may change without it (a declared range they no longer cover is `tail_truncated`).
 *
 * Verified as an auditor would: with the public key, the HMAC key and `--max-uncheckpointed 0` (the export's chains
 * end on a checkpoint); without the last, dropping the newest checkpoint line is a documented non-detection.
 *
 * Then: the verifier answers exit 0 (intact) only for the same export; a changed one is exit 1 with a documented break
 * reason or exit 3 with `INTEGRITY_ERROR` (never another error, never a usage error about the file's content); a
 * change that keeps the export the same by construction (whitespace between tokens, key order, number spelling,
 * escapes, CRLF line ends, blank lines) verifies as intact.
 */

const dir = mkdtempSync(join(tmpdir(), 'auditkit-ndjson-fuzz-'))
const publicKeyPath = join(dir, 'public.pem')
const exportPath = join(dir, 'export.ndjson')
const mutatedPath = join(dir, 'mutated.ndjson')
const HMAC = 'fuzz-hmac-key'
let original: Buffer

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const chunks = { stdout: '', stderr: '' }
  const sink = (name: 'stdout' | 'stderr'): Writable =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks[name] += chunk.toString()
        callback()
      },
    })
  const code = await runCli(args, { stdout: sink('stdout'), stderr: sink('stderr'), env: {} })
  return { code, ...chunks }
}

beforeAll(async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  writeFileSync(publicKeyPath, publicKey.export({ type: 'spki', format: 'pem' }))
  const dbPath = join(dir, 'audit.db')
  const store = createSqliteStore({ path: dbPath })
  const logger = createAuditLogger({ store, hmacKey: HMAC, onError: () => {} })
  const checkpointer = createCheckpointer({ logger, privateKey, everyEvents: 3, everyMs: 0 })
  const tenants = ['acme', 'globex \u00FC \uD83D\uDE00']
  for (let n = 1; n <= 10; n++) {
    await logger.record(
      {
        tenantId: tenants[n % 3 === 0 ? 1 : 0] as string,
        actor: { type: 'user', id: `u${n}`, name: n === 2 ? 'Zo\u00EB \uD800 \u202E' : 'Ada', email: 'ada@example.com' },
        action: 'member_role_updated',
        resource: { type: 'member', id: `m${n}`, name: '\u65E5\u672C' },
        targets: [{ type: 'role', id: 'admin' }],
        outcome: n % 4 === 0 ? 'failure' : 'success',
        context: { ip: '203.0.113.7', method: 'PATCH', path: `/members/m${n}`, status: 200 + n, requestId: `req-${n}` },
        changes: { before: { role: 'viewer', n: 0 }, after: { role: 'admin', n: 1.5 } },
        metadata: { big: 1e21, small: 1e-7, neg: -12, list: [1, 'two', null, true, { deep: 'x\ny' }], text: '\\ "quoted" \u0000 \uDBFF' },
      },
      { delivery: 'await' },
    )
  }
  await checkpointer.close()
  await logger.close()
  await store.close()
  expect(await cli(['export', '--sqlite', dbPath, '--out', exportPath])).toMatchObject({ code: EXIT.ok })
  original = readFileSync(exportPath)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

type Json = string | number | boolean | null | Json[] | { [key: string]: Json }

/** JSON data equality: key order ignored, numbers by value (0 and -0 equal). */
function jsonEqual(a: Json, b: Json): boolean {
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false
    return a.every((item, i) => jsonEqual(item, b[i] as Json))
  }
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  return keys.every((key) => Object.prototype.hasOwnProperty.call(b, key) && jsonEqual(a[key] as Json, b[key] as Json))
}

interface Content {
  events: Map<string, Json[]>
  checkpoints: Map<string, Json[]>
}

/** The export's data as the oracle reads it (see the top comment), or null when a line is not JSON. */
function contentOf(bytes: Buffer): Content | null {
  const content: Content = { events: new Map(), checkpoints: new Map() }
  for (const raw of new TextDecoder('utf-8').decode(bytes).split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line.trim() === '') continue
    let value: Json
    try {
      value = JSON.parse(line) as Json
    } catch {
      return null
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return null
    const kind = value.kind
    if (kind !== 'event' && kind !== 'checkpoint') continue
    const chainId = JSON.stringify(value.chainId ?? null)
    const into = kind === 'event' ? content.events : content.checkpoints
    into.set(chainId, [...(into.get(chainId) ?? []), value])
  }
  return content
}

function sameContent(a: Content, b: Content): boolean {
  const sameSequences = (x: Map<string, Json[]>, y: Map<string, Json[]>, ordered: boolean): boolean => {
    if (x.size !== y.size) return false
    for (const [chainId, items] of x) {
      const others = y.get(chainId)
      if (!others || others.length !== items.length) return false
      if (ordered ? !items.every((item, i) => jsonEqual(item, others[i] as Json)) : !items.every((item) => others.some((other) => jsonEqual(item, other))))
        return false
    }
    return true
  }
  return sameSequences(a.events, b.events, true) && sameSequences(a.checkpoints, b.checkpoints, false)
}

interface Verdict {
  code: number
  reasons: string[]
  stderr: string
}

async function verify(bytes: Buffer): Promise<Verdict> {
  writeFileSync(mutatedPath, bytes)
  const { code, stdout, stderr } = await cli(['verify', '--ndjson', mutatedPath, '--public-key', publicKeyPath, '--hmac-key', HMAC, '--max-uncheckpointed', '0', '--json'])
  const reasons =
    code === EXIT.ok || code === EXIT.broken
      ? (JSON.parse(stdout) as { chains: { firstBreak: { reason: string } | null }[] }).chains.flatMap((chain) => (chain.firstBreak ? [chain.firstBreak.reason] : []))
      : []
  return { code, reasons, stderr }
}

// ---- Mutations -------------------------------------------------------------------------------------------------

const lines = (bytes: Buffer): Buffer[] => {
  const out: Buffer[] = []
  let start = 0
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, start)) {
    out.push(bytes.subarray(start, i))
    start = i + 1
  }
  if (start < bytes.length) out.push(bytes.subarray(start))
  return out
}
const joined = (parts: Buffer[]): Buffer => Buffer.concat(parts.flatMap((part) => [part, Buffer.from('\n')]))

/** Token boundaries outside strings (positions between two tokens, or at the line's ends) of a line of JSON. */
function tokenGaps(text: string): number[] {
  const gaps = [0, text.length]
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') {
        inString = false
        gaps.push(i + 1)
      }
    } else if (c === '"') {
      gaps.push(i)
      inString = true
    } else if (c === ',' || c === ':' || c === '{' || c === '}' || c === '[' || c === ']') gaps.push(i, i + 1)
  }
  return [...new Set(gaps)].sort((a, b) => a - b)
}

/** Number tokens outside strings: [start, end). */
function numberTokens(text: string): [number, number][] {
  const found: [number, number][] = []
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (c === '-' || (c >= '0' && c <= '9')) {
      const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i))
      if (match) {
        found.push([i, i + match[0].length])
        i += match[0].length - 1
      }
    }
  }
  return found
}

/** Spans of string contents (between the quotes) outside of which nothing is a string. */
function stringSpans(text: string): [number, number][] {
  const spans: [number, number][] = []
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '"') continue
    const start = i + 1
    for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++
    spans.push([start, i])
  }
  return spans
}

/** The same number, spelled otherwise (the value JSON.parse reads is unchanged). */
function respelled(token: string, style: number): string {
  const [mantissa = token, exponent] = token.split(/[eE]/)
  const withFraction = mantissa.includes('.') ? `${mantissa}0` : `${mantissa}.0`
  switch (style % 4) {
    case 0:
      return exponent === undefined ? withFraction : `${withFraction}e${exponent}`
    case 1:
      return exponent === undefined ? `${token}e0` : `${mantissa}E${exponent.startsWith('-') || exponent.startsWith('+') ? exponent : `+${exponent}`}`
    case 2:
      return exponent === undefined ? `${token}E+00` : `${mantissa}e${Number(exponent) >= 0 ? '+' : '-'}0${Math.abs(Number(exponent))}`
    default:
      if (exponent !== undefined) return `${withFraction}e${exponent}`
      return /^-|\.|^0$/.test(mantissa) ? withFraction : `${mantissa}0e-1`
  }
}

function shuffledKeys(value: Json, seed: number): Json {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((item, i) => shuffledKeys(item, seed + i + 1))
  const entries = Object.entries(value)
  const rotated = entries.map((_, i) => entries[(i + seed) % entries.length] as [string, Json]).reverse()
  return Object.fromEntries(rotated.map(([key, item]) => [key, shuffledKeys(item, seed * 7 + 3)]))
}

/** Any JSON path of a value, for retyping. */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix]
  const children = Array.isArray(value) ? value.map((item, i) => paths(item, [...prefix, i])) : Object.entries(value).map(([key, item]) => paths(item, [...prefix, key]))
  return [prefix, ...children.flat()]
}

const pick = <T>(items: readonly T[], n: number): T => items[n % items.length] as T
const WEIRD_VALUES: Json[] = [null, true, false, 0, -1, 1.5, 1e308, 2 ** 53, '', 'x', '0', [], {}, [1], { seq: 1 }, 'acme']

interface Mutation {
  name: string
  /** True when the export's data is unchanged by construction: it must verify as intact. */
  benign: boolean
  apply(bytes: Buffer): Buffer
}

const n = fc.nat({ max: 1_000_000 })
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(n, fc.integer({ min: 0, max: 7 })).map(([at, bit]) => ({
    name: `flip bit ${bit} of byte ${at}`,
    benign: false,
    apply: (b: Buffer) => {
      const copy = Buffer.from(b)
      const i = at % copy.length
      copy[i] = (copy[i] as number) ^ (1 << bit)
      return copy
    },
  })),
  n.map((i) => ({ name: `delete line ${i}`, benign: false, apply: (b: Buffer) => joined(lines(b).filter((_, k) => k !== i % lines(b).length)) })),
  fc.tuple(n, n).map(([i, j]) => ({
    name: `duplicate line ${i} before line ${j}`,
    benign: false,
    apply: (b: Buffer) => {
      const all = lines(b)
      const copy = all[i % all.length] as Buffer
      all.splice(j % (all.length + 1), 0, copy)
      return joined(all)
    },
  })),
  fc.tuple(n, n).map(([i, j]) => ({
    name: `swap lines ${i} and ${j}`,
    benign: false,
    apply: (b: Buffer) => {
      const all = lines(b)
      const [x, y] = [i % all.length, j % all.length]
      ;[all[x], all[y]] = [all[y] as Buffer, all[x] as Buffer]
      return joined(all)
    },
  })),
  n.map((at) => ({ name: `truncate at byte ${at}`, benign: false, apply: (b: Buffer) => b.subarray(0, at % (b.length + 1)) })),
  n.map((k) => ({ name: `keep the first ${k} lines`, benign: false, apply: (b: Buffer) => joined(lines(b).slice(0, k % (lines(b).length + 1))) })),
  fc.tuple(n, fc.constantFrom('\uFEFF', '\0', '\r', '\r\n', '\n', '\u2028', '\u00A0', ' ', '\t', '\n\n')).map(([at, inserted]) => ({
    name: `insert ${JSON.stringify(inserted)} at byte ${at}`,
    benign: false,
    apply: (b: Buffer) => {
      // At a character boundary, so that the bytes around stay UTF-8.
      const text = b.toString('utf8')
      const i = at % (text.length + 1)
      return Buffer.from(text.slice(0, i) + inserted + text.slice(i), 'utf8')
    },
  })),
  fc.constantFrom('\uFEFF').map((bom) => ({ name: 'BOM at the start of the file', benign: false, apply: (b: Buffer) => Buffer.concat([Buffer.from(bom), b]) })),
  fc.tuple(fc.integer({ min: -1, max: 1_000 })).map(([i]) => ({
    name: i < 0 ? 'CRLF on every line' : `CRLF on line ${i}`,
    benign: true,
    apply: (b: Buffer) => Buffer.concat(lines(b).flatMap((line, k) => [line, Buffer.from(i < 0 || k === i % lines(b).length ? '\r\n' : '\n')])),
  })),
  fc.tuple(n, n, fc.constantFrom(' ', '\t', '  \t ', '\r')).map(([i, g, space]) => ({
    name: `whitespace ${JSON.stringify(space)} at token gap ${g} of line ${i}`,
    // A lone CR is JSON whitespace but a line end to readline (and to NDJSON readers that accept CR line ends).
    benign: space !== '\r',
    apply: (b: Buffer) => {
      const all = lines(b).map((line) => line.toString('utf8'))
      const k = i % all.length
      const line = all[k] as string
      const gaps = tokenGaps(line)
      const at = pick(gaps, g)
      all[k] = line.slice(0, at) + space + line.slice(at)
      return joined(all.map((text) => Buffer.from(text, 'utf8')))
    },
  })),
  fc.tuple(n, n, n).map(([i, t, style]) => ({
    name: `respell number ${t} of line ${i} (style ${style % 4})`,
    benign: true,
    apply: (b: Buffer) => {
      const all = lines(b).map((line) => line.toString('utf8'))
      const k = i % all.length
      const line = all[k] as string
      const tokens = numberTokens(line)
      if (tokens.length === 0) return b
      const [start, end] = pick(tokens, t)
      all[k] = line.slice(0, start) + respelled(line.slice(start, end), style) + line.slice(end)
      return joined(all.map((text) => Buffer.from(text, 'utf8')))
    },
  })),
  fc.tuple(n, n, n).map(([i, s, c]) => ({
    name: `escape character ${c} of string ${s} of line ${i} as \\uXXXX`,
    benign: true,
    apply: (b: Buffer) => {
      const all = lines(b).map((line) => line.toString('utf8'))
      const k = i % all.length
      const line = all[k] as string
      const spans = stringSpans(line).filter(([start, end]) => end > start)
      if (spans.length === 0) return b
      const [start, end] = pick(spans, s)
      let at = start + (c % (end - start))
      // Not in the middle of an escape sequence: back up to a character that is not part of one.
      while (at > start && /\\/.test(line.slice(Math.max(start, at - 6), at))) at--
      if (line[at] === '\\') return b
      // A whole code point: escaping half of a surrogate pair would leave the other half lone.
      if (at > start && /[\uDC00-\uDFFF]/.test(line[at] as string) && /[\uD800-\uDBFF]/.test(line[at - 1] as string)) at--
      const width = /[\uD800-\uDBFF]/.test(line[at] as string) && /[\uDC00-\uDFFF]/.test(line[at + 1] ?? '') ? 2 : 1
      const escapes = Array.from({ length: width }, (_, u) => `\\u${line.charCodeAt(at + u).toString(16).padStart(4, '0')}`)
      all[k] = `${line.slice(0, at)}${escapes.join('')}${line.slice(at + width)}`
      return joined(all.map((text) => Buffer.from(text, 'utf8')))
    },
  })),
  fc.tuple(n, n).map(([i, seed]) => ({
    name: `reorder the keys of line ${i} (seed ${seed})`,
    benign: true,
    apply: (b: Buffer) => {
      const all = lines(b).map((line) => line.toString('utf8'))
      const k = i % all.length
      all[k] = JSON.stringify(shuffledKeys(JSON.parse(all[k] as string) as Json, seed))
      return joined(all.map((text) => Buffer.from(text, 'utf8')))
    },
  })),
  fc.tuple(n, n, n).map(([i, p, v]) => ({
    name: `retype value ${p} of line ${i} to ${JSON.stringify(pick(WEIRD_VALUES, v))}`,
    benign: false,
    apply: (b: Buffer) => {
      const all = lines(b).map((line) => line.toString('utf8'))
      const k = i % all.length
      const value = JSON.parse(all[k] as string) as Json
      const path = pick(paths(value).filter((candidate) => candidate.length > 0), p)
      let parent = value as { [key: string]: Json }
      for (const key of path.slice(0, -1)) parent = parent[key] as { [key: string]: Json }
      parent[path[path.length - 1] as string] = pick(WEIRD_VALUES, v)
      all[k] = JSON.stringify(value)
      return joined(all.map((text) => Buffer.from(text, 'utf8')))
    },
  })),
  fc.constantFrom(1, 2).map((count) => ({ name: `${count} blank line(s) at the end`, benign: true, apply: (b: Buffer) => Buffer.concat([b, Buffer.from('\n'.repeat(count))]) })),
)

async function checkMutation(m: Mutation): Promise<void> {
  const mutated = m.apply(original)
  const verdict = await verify(mutated)
  const context = `${m.name}: exit ${verdict.code} ${verdict.reasons.join(',')} ${verdict.stderr.trim()}`
  expect([EXIT.ok, EXIT.broken, EXIT.unavailable], context).toContain(verdict.code)
  if (verdict.code === EXIT.unavailable) expect(verdict.stderr, context).toMatch(/^auditkit: INTEGRITY_ERROR: /)
  if (verdict.code === EXIT.broken) {
    expect(verdict.reasons.length, context).toBeGreaterThan(0)
    for (const reason of verdict.reasons) expect(BREAK_REASONS, context).toContain(reason)
  }
  const before = contentOf(original) as Content
  const after = contentOf(mutated)
  const same = after !== null && sameContent(before, after)
  if (verdict.code === EXIT.ok) expect(same, `${context}: verified as intact, but its data differs from the export`).toBe(true)
  if (m.benign) {
    expect(same, `${m.name}: the test's own mutation changed the data`).toBe(true)
    expect(verdict.code, context).toBe(EXIT.ok)
  }
}

describe('auditkit verify --ndjson on mutated exports (property-based)', () => {
  it('verifies the unchanged export, and the oracle reads it', async () => {
    const verdict = await verify(original)
    expect(verdict, verdict.stderr).toMatchObject({ code: EXIT.ok, reasons: [] })
    const content = contentOf(original) as Content
    expect([...content.events.values()].flat()).toHaveLength(10)
    expect([...content.checkpoints.values()].flat().length).toBeGreaterThanOrEqual(3)
  })

  // Regression (found by the property below, "keep the first 19 lines" = the header alone, or the lines before
  // globex's section): a file cut at a line boundary before a chain's `chain` line verified as an intact export of
  // fewer chains, exit 0 ("ok: no chains found" for the header alone). The header now declares its chains.
  it('refuses an export cut at a line boundary before a chain section, or after its header', async () => {
    const all = lines(original)
    const globexAt = all.findIndex((line) => line.toString('utf8').startsWith('{"kind":"chain","chainId":"globex'))
    expect(globexAt).toBeGreaterThan(1)
    for (const kept of [1, 2, globexAt]) {
      const verdict = await verify(joined(all.slice(0, kept)))
      expect(verdict.code, `first ${kept} lines`).toBe(EXIT.unavailable)
      expect(verdict.stderr).toMatch(/^auditkit: INTEGRITY_ERROR: .* declares chain "(acme|globex[^"]*)" in its first line but holds no "chain" line for it/)
    }
  })

  // Regression (found by the property below, a BOM inserted into the key "chainId" of acme's newest checkpoint line):
  // a line without a chainId belonged to no chain and was skipped unseen, so the newest checkpoint could be dropped
  // by renaming one key and the file still verified (exit 0) without --max-uncheckpointed.
  it('refuses a chain, checkpoint or event line without a chainId string', async () => {
    const all = lines(original).map(String)
    for (const kind of ['chain', 'checkpoint', 'event']) {
      const k = all.findLastIndex((line) => line.startsWith(`{"kind":"${kind}","chainId"`) || (kind === 'event' && line.startsWith('{"kind":"event"')))
      for (const replacement of ['"chainI\uFEFFd":', '"chainId":null,"x":']) {
        const copy = [...all]
        copy[k] = (copy[k] as string).replace('"chainId":', replacement)
        writeFileSync(mutatedPath, joined(copy.map((line) => Buffer.from(line, 'utf8'))))
        const verdict = await cli(['verify', '--ndjson', mutatedPath, '--public-key', publicKeyPath, '--hmac-key', HMAC])
        expect(verdict, `${kind} line ${k}: ${replacement}`).toMatchObject({ code: EXIT.unavailable, stderr: expect.stringMatching(/^auditkit: INTEGRITY_ERROR: Line \d+ \(a \w+ line\) has no "chainId" string/) })
      }
    }
  })

  it('accepts a single mutation as intact only when the data is the same, and reports any other with a reason or INTEGRITY_ERROR', async () => {
    await fc.assert(fc.asyncProperty(mutation, checkMutation), { numRuns: 200 })
  }, 30_000)
})
