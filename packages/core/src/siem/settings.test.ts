import { describe, expect, it } from 'vitest'
import { AuditKitError } from '../errors.js'
import { createSecretBox, parseSecretKey } from './secret-box.js'
import { effectiveUrl, maskSecret, parseSiemSettings } from './settings.js'

function problems(input: unknown): { path: string; reason: string }[] {
  try {
    parseSiemSettings(input)
  } catch (error) {
    expect(error).toBeInstanceOf(AuditKitError)
    expect((error as AuditKitError).code).toBe('INVALID_SETTINGS')
    return (error as AuditKitError).details.map(({ path, reason }) => ({ path, reason }))
  }
  throw new Error('expected INVALID_SETTINGS')
}

const valid = { enabled: true, endpoint: 'https://collector.example.com:4317', protocol: 'grpc' }

describe('SIEM settings validation', () => {
  it('accepts headers as an object or as JSON text', () => {
    expect(parseSiemSettings({ ...valid, headers: { Authorization: 'Bearer abc' } }).headers).toEqual({ Authorization: 'Bearer abc' })
    expect(parseSiemSettings({ ...valid, headers: '{"x-api-key":"k1"}' }).headers).toEqual({ 'x-api-key': 'k1' })
    expect(parseSiemSettings({ ...valid, headers: '' }).headers).toEqual({})
  })

  it('names each problem', () => {
    expect(problems({ ...valid, headers: '{"Authorization": ' })).toEqual([{ path: 'headers', reason: 'invalid_json' }])
    expect(problems({ ...valid, headers: '["a"]' })).toEqual([{ path: 'headers', reason: 'invalid_type' }])
    expect(problems({ ...valid, headers: '"text"' })).toEqual([{ path: 'headers', reason: 'invalid_type' }])
    expect(problems({ ...valid, headers: { 'Bad Name': 'x' } })).toEqual([{ path: 'headers.Bad Name', reason: 'invalid_header_name' }])
    expect(problems({ ...valid, headers: { 'X-Token': 'a\r\nInjected: 1' } })).toEqual([{ path: 'headers.X-Token', reason: 'control_character' }])
    expect(problems({ ...valid, headers: { 'X-Token': 5 } })).toEqual([{ path: 'headers.X-Token', reason: 'invalid_type' }])
    expect(problems({ ...valid, headers: { Host: 'evil' } })).toEqual([{ path: 'headers.Host', reason: 'reserved_header' }])
    expect(problems({ ...valid, endpoint: 'collector.example.com:4317' })).toEqual([{ path: 'endpoint', reason: 'missing_scheme' }])
    expect(problems({ ...valid, endpoint: 'ftp://collector.example.com' })).toEqual([{ path: 'endpoint', reason: 'unsupported_scheme' }])
    expect(problems({ ...valid, endpoint: 'https://user:pw@collector.example.com' })).toEqual([{ path: 'endpoint', reason: 'credentials_in_url' }])
    expect(problems({ ...valid, endpoint: 'https://c.example.com:4317/v1/logs' })).toEqual([{ path: 'endpoint', reason: 'path_not_allowed' }])
    expect(problems({ ...valid, protocol: 'http/protobuf' })).toEqual([{ path: 'endpoint', reason: 'path_required' }])
    expect(problems({ ...valid, protocol: 'http/json' })).toEqual([{ path: 'protocol', reason: 'invalid_value' }])
    expect(problems({ ...valid, endpoint: '' })).toEqual([{ path: 'endpoint', reason: 'required' }])
    expect(problems({ ...valid, color: 'red' })).toEqual([{ path: 'color', reason: 'unknown_field' }])
    expect(problems([1])).toEqual([{ path: '', reason: 'invalid_type' }])
  })

  // Review finding: a string was parsed as JSON a second time, so settings JSON-encoded twice (a client bug) were saved.
  it('refuses a body that is not an object, JSON text of settings included (only headers may be JSON text)', () => {
    for (const input of ['{"enabled":false}', JSON.stringify({ ...valid, headers: {} }), 'not json', '', '[]', null, undefined, 7, true, [1], [valid]]) {
      expect([input, problems(input)]).toEqual([input, [{ path: '', reason: 'invalid_type' }]])
    }
  })

  it('allows saving a disabled integration without an endpoint', () => {
    expect(parseSiemSettings({ enabled: false })).toEqual({ enabled: false, endpoint: '', protocol: 'grpc', headers: {} })
  })

  it('adds the default port of the protocol, but keeps an explicit one (even :443)', () => {
    expect(effectiveUrl({ endpoint: 'https://c.example.com', protocol: 'grpc' }).port).toBe('4317')
    expect(effectiveUrl({ endpoint: 'https://c.example.com/v1/logs', protocol: 'http/protobuf' }).port).toBe('4318')
    expect(effectiveUrl({ endpoint: 'https://c.example.com:443/v1/logs', protocol: 'http/protobuf' }).port).toBe('')
    expect(effectiveUrl({ endpoint: 'http://[::1]:9999/v1/logs', protocol: 'http/protobuf' }).port).toBe('9999')
  })

  it('masks secrets to their last four characters', () => {
    expect(maskSecret('Bearer secret-token-1234')).toBe('****1234')
    expect(maskSecret('short')).toBe('****')
  })

  it('measures the credentials after an auth scheme, so that the scheme does not carry a short token past the limit', () => {
    // "Bearer " made a six-character token long enough to show four of its six characters.
    expect(maskSecret('Bearer abc123')).toBe('****')
    expect(maskSecret('bearer 12345678')).toBe('****')
    expect(maskSecret('Bearer secret-token-1234')).toBe('****1234')
    expect(maskSecret('Splunk 3f9c2a7e-1b2c')).toBe('****1b2c')
  })

  it('never shows any part of Basic credentials: their last base64 characters spell the end of the password', () => {
    // base64("user:pass") ends in "YXNz", which decodes to "ass".
    expect(maskSecret(`Basic ${Buffer.from('user:pass').toString('base64')}`)).toBe('****')
    expect(maskSecret(`BASIC ${Buffer.from('collector:a-long-password-9f3a').toString('base64')}`)).toBe('****')
  })

  it('finds the auth scheme also after leading whitespace or several spaces, which the settings accept as they are', () => {
    const basic = Buffer.from('collector:a-long-password-9f3a').toString('base64')
    for (const value of [` Basic ${basic}`, `  Basic ${basic}`, `Basic   ${basic}`]) {
      // Accepted unchanged (an HTTP client sends it trimmed, so it works): its mask must not show the password's end.
      expect(parseSiemSettings({ ...valid, headers: { Authorization: value } }).headers['Authorization']).toBe(value)
      expect(maskSecret(value), JSON.stringify(value)).toBe('****')
    }
    expect(maskSecret(' Bearer abc123')).toBe('****')
    expect(maskSecret(' Bearer secret-token-1234')).toBe('****1234')
  })
})

describe('secret box', () => {
  const key = Buffer.alloc(32, 7).toString('base64')

  it('round-trips and binds the value to its context', () => {
    const box = createSecretBox(key)
    const sealed = box.seal('Bearer abc', 't1\nAuthorization')
    expect(sealed).not.toContain('abc')
    expect(box.open(sealed, 't1\nAuthorization')).toBe('Bearer abc')
    expect(() => box.open(sealed, 't2\nAuthorization')).toThrow(/cannot be decrypted/)
    expect(() => createSecretBox(Buffer.alloc(32, 8)).open(sealed, 't1\nAuthorization')).toThrow(/cannot be decrypted/)
  })

  it('refuses keys that are not 32 bytes, and sealing without a key', () => {
    expect(() => parseSecretKey('too short')).toThrow(/32 bytes/)
    expect(parseSecretKey('ab'.repeat(32))).toHaveLength(32)
    expect(() => createSecretBox(undefined).seal('x', 'c')).toThrow(/secretKey/)
  })

  it('reads a key as 64 hex characters in either case, or base64 of 32 bytes, and a Buffer as its own bytes only', () => {
    const bytes = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex')
    expect(parseSecretKey(bytes.toString('hex').toUpperCase())).toEqual(bytes)
    expect(parseSecretKey(bytes.toString('base64'))).toEqual(bytes)
    // Text of 64 hex characters with more after it is no hex key (hex decoding would stop at the first non-hex pair).
    expect(() => parseSecretKey(`${bytes.toString('hex')}zz`)).toThrow(/32 bytes/)
    // A Buffer holding the text of a hex key is 64 bytes, not that key.
    expect(() => parseSecretKey(Buffer.from(bytes.toString('hex')))).toThrow(/32 bytes/)
    const sealed = createSecretBox(bytes.toString('hex')).seal('Bearer abc', 't1\nAuthorization')
    expect(createSecretBox(bytes).open(sealed, 't1\nAuthorization')).toBe('Bearer abc')
  })

  it('opens only the v1 form it writes, never a value of another version or with a tampered tag or ciphertext', () => {
    const box = createSecretBox(key)
    const sealed = box.seal('Bearer abc', 't1\nAuthorization')
    const [version, iv, tag, ciphertext] = sealed.split('.') as [string, string, string, string]
    expect(version).toBe('v1')
    expect(() => box.open(['v2', iv, tag, ciphertext].join('.'), 't1\nAuthorization')).toThrow(expect.objectContaining({ code: 'SECRET_KEY_ERROR' }))
    // The SIEM service tells "enter the value again" from any other failure by this code; the cause says what failed.
    expect(() => box.open(sealed, 't2\nAuthorization')).toThrow(expect.objectContaining({ code: 'SECRET_KEY_ERROR', cause: expect.any(Error) }))
    const flip = (part: string): string => Buffer.from(Buffer.from(part, 'base64url').map((byte, i) => (i === 0 ? byte ^ 1 : byte))).toString('base64url')
    for (const tampered of [[version, iv, flip(tag), ciphertext], [version, iv, tag, flip(ciphertext)], [version, flip(iv), tag, ciphertext]])
      expect(() => box.open(tampered.join('.'), 't1\nAuthorization')).toThrow(expect.objectContaining({ code: 'SECRET_KEY_ERROR' }))
    // Sealing twice never repeats the IV (AES-GCM with a repeated IV leaks both values).
    expect(box.seal('Bearer abc', 't1\nAuthorization').split('.')[1]).not.toBe(iv)
  })
})
