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
})
