import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuditLogger, type AuditLogger } from '../logger/audit-logger.js'
import { createSiemAdminService } from '../siem/siem-admin-service.js'
import { createSiemService, type SiemService } from '../siem/siem-service.js'
import { parseSiemSettings } from '../siem/settings.js'
import type { AuditStore } from '../store/types.js'
import { createSqliteStore } from '../stores/sqlite/index.js'
import { createAuditAdmin, type AuditAdmin } from './create-audit-admin.js'

/**
 * Property-based tests of the SIEM settings routes through the real Fetch handler over a real SQLite store:
 * `PUT /api/settings/siem` and `POST /api/settings/siem/test` with arbitrary bodies (bytes that are not UTF-8, bodies
 * over `maxBodyBytes`, nested thousands deep, another or no content type, repeated keys, `__proto__`, a BOM, JSON that is
 * not an object) answer 2xx, or 4xx with `{ error: { code, message } }` and one of a fixed set of codes, never 5xx.
 * A refused save stores nothing (settings and the tenant's chain unchanged); an accepted one stores exactly what it
 * answers, what `parseSiemSettings` makes of the body, and records one `siem_config_updated`. Test Connection never
 * stores anything.
 */

const REFUSAL_CODES = ['INVALID_BODY', 'INVALID_SETTINGS', 'ENDPOINT_NOT_ALLOWED', 'PAYLOAD_TOO_LARGE']
const MAX_BODY = 4096
const TENANT = 't1'

let dir: string
let store: AuditStore
let logger: AuditLogger
let siem: SiemService
let admin: AuditAdmin
/** A loopback port nobody listens on: Test Connection is refused at once. */
let closedPort: number

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'auditkit-admin-fuzz-'))
  store = createSqliteStore({ path: join(dir, 'audit.db') })
  logger = createAuditLogger({ store, onError: () => {} })
  siem = createSiemService({
    logger,
    secretKey: Buffer.alloc(32, 7).toString('base64'),
    testRateLimit: { max: 1_000_000, windowMs: 60_000 },
    testTimeoutMs: 1_000,
    onError: () => {},
  })
  admin = createAuditAdmin({
    logger,
    siem: createSiemAdminService(siem),
    uiDir: false,
    maxBodyBytes: MAX_BODY,
    authorize: () => ({ tenantId: TENANT, actor: { type: 'user', id: 'ada' } }),
    onError: () => {},
  })
  closedPort = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
})
afterAll(async () => {
  await siem.stop()
  await logger.close()
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

// ---- Bodies ----------------------------------------------------------------------------------------------------

const endpoint = fc.oneof(
  fc.constantFrom<unknown>(
    '', ' ', 'http://127.0.0.1:PORT', 'http://127.0.0.1:PORT/v1/logs', 'http://[::1]:PORT/v1/logs', 'https://127.0.0.1:PORT',
    'http://169.254.169.254/v1/logs', 'http://0.0.0.0:PORT', 'http://[::ffff:169.254.169.254]:4317', 'http://user:pw@127.0.0.1:PORT',
    'http://127.0.0.1:PORT/?q=1', 'ftp://127.0.0.1', 'collector:4317', 'http://', 'http://127.0.0.1:99999', 'javascript://x', 5, null, [], {},
  ),
  fc.string({ maxLength: 12 }),
)
const headerName = fc.oneof(
  fc.constantFrom('Authorization', 'x-api-key', 'Host', 'content-type', 'grpc-timeout', 'x-data-bin', '__proto__', 'constructor', 'a b', 'x\r\ny', ''),
  fc.string({ unit: fc.constantFrom('a', 'Z', '-', '_', '\u00E9', '\n', ':'), minLength: 1, maxLength: 6 }),
)
const headerValue = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '=', '\r', '\n', '\0', '\u00E9', '\uD800', '\uD83D\uDE00'), maxLength: 10 }),
  fc.constantFrom<unknown>(5, null, true, [], {}, 'x'.repeat(9000)),
)
const headers = fc.oneof(
  fc.array(fc.tuple(headerName, headerValue), { maxLength: 4 }).map((entries) => Object.fromEntries(entries) as Record<string, unknown>),
  fc.array(fc.tuple(headerName, headerValue), { maxLength: 3 }).map((entries) => JSON.stringify(Object.fromEntries(entries))),
  fc.constantFrom<unknown>(undefined, null, '', '{', 42, []),
)
const settingsObject = fc.record(
  {
    enabled: fc.oneof(fc.boolean(), fc.constantFrom<unknown>('true', 1, null)),
    endpoint,
    protocol: fc.oneof(fc.constantFrom<unknown>('grpc', 'http/protobuf'), fc.constantFrom<unknown>('http/json', 'GRPC', '', 3)),
    headers,
    extra: fc.string({ maxLength: 4 }),
  },
  { requiredKeys: [] },
)
/** Valid settings (but for a denied host now and then): many saves are accepted. */
const goodSettings = fc
  .record({
    enabled: fc.boolean(),
    protocol: fc.constantFrom('grpc', 'http/protobuf'),
    host: fc.constantFrom('127.0.0.1', '127.0.0.1', '127.0.0.1', '[::1]', '169.254.169.254', '0.0.0.0', '[::ffff:a9fe:a9fe]'),
    headers: fc.dictionary(fc.stringMatching(/^x-[a-z]{1,5}$/), fc.stringMatching(/^[A-Za-z0-9 ]{0,12}$/), { maxKeys: 3 }),
  })
  .map(({ host, ...s }) => ({ ...s, endpoint: s.protocol === 'grpc' ? `http://${host}:PORT` : `http://${host}:PORT/v1/logs` }))

interface Body {
  name: string
  bytes: Uint8Array
  contentType: string | null
  /** Sends a content-length header (else none: a chunked body, counted as it is read). */
  declareLength: boolean
}

const utf8 = (text: string): Uint8Array => Buffer.from(text, 'utf8')
const withPort = (text: string): string => text.replaceAll('PORT', String(closedPort))

const rawBody: fc.Arbitrary<{ name: string; bytes: Uint8Array }> = fc.oneof(
  { weight: 5, arbitrary: fc.oneof(settingsObject, goodSettings).map((s) => ({ name: 'settings', bytes: utf8(withPort(JSON.stringify(s))) })) },
  // Repeated keys: JSON.parse keeps the last one.
  {
    weight: 2,
    arbitrary: fc.tuple(goodSettings, settingsObject).map(([good, other]) => {
      const text = JSON.stringify(good).slice(0, -1) + ',' + JSON.stringify(other).slice(1)
      return { name: 'repeated keys', bytes: utf8(withPort(text === '{,}' ? '{}' : text.replace('{,', '{').replace(',}', '}'))) }
    }),
  },
  // `__proto__` as JSON.parse makes it: an own key, at the top or in headers.
  {
    weight: 2,
    arbitrary: fc.tuple(goodSettings, fc.constantFrom('{"enabled":true}', '{"headers":{"x":"y"}}', '"x"', '{"polluted":"yes"}', 'null')).map(([good, proto]) => ({
      name: '__proto__',
      bytes: utf8(withPort(JSON.stringify(good).replace('{', `{"__proto__":${proto},`).replace('"headers":{', `"headers":{"__proto__":${proto},`))),
    })),
  },
  // Not UTF-8: a byte sequence that no decoder may turn into U+FFFD and save.
  {
    weight: 2,
    arbitrary: fc.tuple(goodSettings, fc.constantFrom([0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe9], [0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82])).map(([good, bad]) => {
      const text = withPort(JSON.stringify({ ...good, headers: { 'x-token': 'ab' } }))
      const at = text.indexOf('ab') + 1
      return { name: `not UTF-8 ${bad.join(',')}`, bytes: Buffer.concat([utf8(text.slice(0, at)), Buffer.from(bad), utf8(text.slice(at))]) }
    }),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ name: 'random bytes', bytes })) },
  // Over maxBodyBytes: one long value, or whitespace.
  {
    weight: 1,
    arbitrary: fc.tuple(goodSettings, fc.integer({ min: MAX_BODY - 200, max: MAX_BODY * 4 }), fc.boolean()).map(([good, size, asSpace]) => {
      const text = withPort(JSON.stringify(good))
      return { name: `about ${size} bytes`, bytes: utf8(asSpace ? text + ' '.repeat(Math.max(0, size - text.length)) : withPort(JSON.stringify({ ...good, headers: { 'x-a': 'a'.repeat(size) } }))) }
    }),
  },
  // Nested deep: arrays or objects, as the body or inside a field.
  {
    weight: 1,
    arbitrary: fc.tuple(fc.integer({ min: 1, max: 2000 }), fc.constantFrom('array', 'object', 'in headers')).map(([depth, shape]) => {
      const nested = shape === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)
      return { name: `${shape} nested ${depth}`, bytes: utf8(shape === 'in headers' ? `{"enabled":false,"headers":${nested}}` : nested) }
    }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', ' ', 'null', '[]', '"x"', '42', 'true', '{', '{"enabled":false', '\uFEFF{"enabled":false}', '{"enabled":false}\u0000', '"{\\"enabled\\":false}"').map((text) => ({
      name: `literal ${JSON.stringify(text)}`,
      bytes: utf8(text),
    })),
  },
)
const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8') },
  { weight: 1, arbitrary: fc.constantFrom<string | null>(null, '', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'application/json-patch+json', 'text/json') },
)
const body: fc.Arbitrary<Body> = fc
  .tuple(rawBody, contentType, fc.boolean())
  .map(([raw, type, declareLength]) => ({ name: raw.name, bytes: raw.bytes, contentType: type, declareLength }))

// ---- Requests --------------------------------------------------------------------------------------------------

async function send(method: 'PUT' | 'POST', path: string, b: Body): Promise<{ status: number; json: unknown }> {
  const headers = new Headers()
  if (b.contentType !== null) headers.set('content-type', b.contentType)
  if (b.declareLength) headers.set('content-length', String(b.bytes.byteLength))
  // As a stream: no content-length unless declared, so the byte count is the handler's own.
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let at = 0; at < b.bytes.byteLength; at += 1024) controller.enqueue(b.bytes.slice(at, at + 1024))
      controller.close()
    },
  })
  const request = new Request(`http://app.test/api/settings/siem${path}`, { method, headers, body: stream, duplex: 'half' } as RequestInit)
  const response = await admin.fetch(request)
  const text = await response.text()
  expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8')
  return { status: response.status, json: JSON.parse(text) as unknown }
}

async function snapshot(): Promise<{ settings: unknown; head: unknown }> {
  const response = await admin.fetch(new Request('http://app.test/api/settings/siem'))
  expect(response.status).toBe(200)
  const { settings } = (await response.json()) as { settings: unknown }
  return { settings, head: await store.chainHead(TENANT) }
}

function expectRefusal(answer: { status: number; json: unknown }, context: string): void {
  expect([400, 413], context).toContain(answer.status)
  const error = (answer.json as { error?: { code?: unknown; message?: unknown } }).error
  expect(REFUSAL_CODES, context).toContain(error?.code)
  expect(typeof error?.message, context).toBe('string')
  expect(answer.status, context).toBe(error?.code === 'PAYLOAD_TOO_LARGE' ? 413 : 400)
}

const describeBody = (b: Body): string => `${b.name}, content-type ${JSON.stringify(b.contentType)}, ${b.bytes.byteLength} bytes${b.declareLength ? ' (declared)' : ''}`

/** What the body is to a reader that follows RFC 8259 strictly (UTF-8, no BOM), or undefined when it is not JSON. */
function strictJson(bytes: Uint8Array): { value: unknown } | undefined {
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
    return { value: JSON.parse(text) as unknown }
  } catch {
    return undefined
  }
}

describe('SIEM settings routes with arbitrary bodies (property-based)', () => {
  it('PUT answers 200 and stores exactly the parsed settings, or a 4xx with a stable code and stores nothing', async () => {
    let saved = 0
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const context = describeBody(b)
        const before = await snapshot()
        const answer = await send('PUT', '', b)
        const after = await snapshot()
        if (answer.status !== 200) {
          expectRefusal(answer, context)
          expect(after, `${context}: a refused save changed the store`).toEqual(before)
          return
        }
        saved++
        // Only JSON in UTF-8, under the size limit, with the JSON content type, can be saved.
        expect(b.contentType?.toLowerCase().startsWith('application/json'), context).toBe(true)
        expect(b.bytes.byteLength, context).toBeLessThanOrEqual(MAX_BODY)
        const parsed = strictJson(b.bytes)
        expect(parsed, `${context}: saved a body that is not UTF-8 JSON`).toBeDefined()
        const expected = parseSiemSettings(parsed?.value)
        const answered = (answer.json as { settings: { enabled: boolean; endpoint: string; protocol: string; headers: Record<string, string> } }).settings
        expect(after.settings, context).toEqual(answered)
        expect({ enabled: answered.enabled, endpoint: answered.endpoint, protocol: answered.protocol }, context).toEqual({
          enabled: expected.enabled,
          endpoint: expected.endpoint,
          protocol: expected.protocol,
        })
        // Header values are never answered, only masked; every name given is kept, none added.
        expect(Object.keys(answered.headers).sort(), context).toEqual(Object.keys(expected.headers).sort())
        expect(Object.getPrototypeOf(answered.headers), context).toBe(Object.prototype)
        // One siem_config_updated, nothing else.
        const beforeSeq = (before.head as { seq: number } | null)?.seq ?? 0
        expect((after.head as { seq: number } | null)?.seq, context).toBe(beforeSeq + 1)
        const [recorded] = await store.readChain(TENANT, beforeSeq, 1)
        expect(recorded?.action, context).toBe('siem_config_updated')
      }),
      { numRuns: 150 },
    )
    expect(saved).toBeGreaterThan(4) // about 15 of 150 on average: the property is not vacuous
  }, 30_000)

  it('POST /test answers 200 with a result, or a 4xx with a stable code, and never stores anything', async () => {
    let tested = 0
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const context = describeBody(b)
        const before = await snapshot()
        const answer = await send('POST', '/test', b)
        expect(await snapshot(), `${context}: Test Connection changed the store`).toEqual(before)
        if (answer.status !== 200) {
          expectRefusal(answer, context)
          return
        }
        tested++
        expect(strictJson(b.bytes), `${context}: tested a body that is not UTF-8 JSON`).toBeDefined()
        const result = answer.json as { ok?: unknown; result?: unknown; message?: unknown }
        expect(typeof result.ok, context).toBe('boolean')
        expect(typeof result.result, context).toBe('string')
        // Nothing listens on the port: no test can pass.
        expect(result.ok, context).toBe(false)
      }),
      { numRuns: 100 },
    )
    expect(tested).toBeGreaterThan(10)
  }, 30_000)
})
