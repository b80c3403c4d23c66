import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { AuditKitError } from '../errors.js'
import { createCursorCodec } from './cursor.js'

const position = {
  after: { occurredAt: '2026-01-01T00:00:00.000Z', id: '0190a1b2-0000-7000-8000-000000000000' },
  window: { from: '2025-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z' },
}

function refused(run: () => unknown): boolean {
  try {
    run()
    return false
  } catch (error) {
    return error instanceof AuditKitError && error.code === 'INVALID_CURSOR'
  }
}

describe('cursor codec', () => {
  const codec = createCursorCodec()
  const cursor = codec.encode(position, 'tenant-a|filters')

  it('round-trips an opaque, URL-safe cursor', () => {
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
    expect(codec.decode(cursor, 'tenant-a|filters')).toEqual(position)
  })

  it('refuses a cursor replayed with other filters or another tenant', () => {
    expect(refused(() => codec.decode(cursor, 'tenant-b|filters'))).toBe(true)
    expect(refused(() => codec.decode(cursor, 'tenant-a|other'))).toBe(true)
  })

  it('refuses every single-character edit', () => {
    for (let i = 0; i < cursor.length; i++) {
      if (cursor[i] === '.') continue
      const edited = cursor.slice(0, i) + (cursor[i] === 'A' ? 'B' : 'A') + cursor.slice(i + 1)
      expect(refused(() => codec.decode(edited, 'tenant-a|filters'))).toBe(true)
    }
  })

  it('refuses garbage, oversized and re-signed-with-another-key cursors', () => {
    for (const bad of ['', '.', 'abc', 'a.b.c', 'x'.repeat(600), createCursorCodec('other-key').encode(position, 'tenant-a|filters')])
      expect(refused(() => codec.decode(bad, 'tenant-a|filters'))).toBe(true)
  })

  it('refuses a cursor with an extra dot-separated part', () => {
    expect(refused(() => codec.decode(`${cursor}.x`, 'tenant-a|filters'))).toBe(true)
    expect(refused(() => codec.decode(`${cursor}.`, 'tenant-a|filters'))).toBe(true)
  })

  it('refuses a signature spelled with other spare bits in its last character, though it decodes to the same bytes', () => {
    const [payload = '', signature = ''] = cursor.split('.')
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const bytes = Buffer.from(signature, 'base64url')
    const respellings = [...alphabet]
      .map((last) => signature.slice(0, -1) + last)
      .filter((spelling) => spelling !== signature && Buffer.from(spelling, 'base64url').equals(bytes))
    expect(respellings.length).toBeGreaterThan(0)
    for (const spelling of respellings) expect(refused(() => codec.decode(`${payload}.${spelling}`, 'tenant-a|filters'))).toBe(true)
  })
})

describe('cursor codec, given a correctly signed but malformed payload (a leaked key or a bug)', () => {
  const secret = 'test-cursor-secret'
  const binding = 'tenant-a|filters'
  const codec = createCursorCodec(secret)
  /** A cursor signed with the codec's own key, as the codec signs one, around any JSON value. */
  const signed = (value: unknown): string => {
    const payload = Buffer.from(JSON.stringify(value)).toString('base64url')
    const mac = createHmac('sha256', secret).update(payload).update('\n').update(binding).digest().subarray(0, 16)
    return `${payload}.${mac.toString('base64url')}`
  }
  const instant = '2026-01-01T00:00:00.000Z'

  it('accepts the well-formed payload the helper signs, an id of 256 characters included', () => {
    expect(codec.decode(signed([1, instant, 'e1', instant, instant]), binding)).toEqual({
      after: { occurredAt: instant, id: 'e1' },
      window: { from: instant, to: instant },
    })
    expect(codec.decode(signed([1, instant, 'e'.repeat(256), instant, instant]), binding).after.id).toHaveLength(256)
  })

  it.each([
    ['not an array', { v: 1 }],
    ['four fields', [1, instant, 'e1', instant]],
    ['six fields', [1, instant, 'e1', instant, instant, instant]],
    ['another version', [2, instant, 'e1', instant, instant]],
    ['a date without time as position', [1, '2026-01-01', 'e1', instant, instant]],
    ['text before the window start', [1, instant, 'e1', `x${instant}`, instant]],
    ['text after the window end', [1, instant, 'e1', instant, `${instant}x`]],
    ['a number as window end', [1, instant, 'e1', instant, 1767225600000]],
    ['an empty id', [1, instant, '', instant, instant]],
    ['an id of 257 characters', [1, instant, 'e'.repeat(257), instant, instant]],
    ['a number as id', [1, instant, 42, instant, instant]],
  ])('refuses %s', (_name, value) => {
    expect(refused(() => codec.decode(signed(value), binding))).toBe(true)
  })
})
