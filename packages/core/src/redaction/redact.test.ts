import { describe, expect, it } from 'vitest'
import type { JsonValue } from '../event/schema.js'
import { REDACTED, createRedactor } from './redact.js'

describe('createRedactor', () => {
  it('redacts secrets at any depth, inside arrays and arrays of arrays too', () => {
    const redact = createRedactor()
    const value: JsonValue = {
      members: [
        { name: 'ada', password: 'hunter2' },
        { name: 'bob', credentials: [{ token: 't-1' }] },
      ],
      matrix: [[{ secret: 's-1' }], 'plain'],
    }
    expect(redact(value)).toEqual({
      members: [
        { name: 'ada', password: REDACTED },
        { name: 'bob', credentials: [{ token: REDACTED }] },
      ],
      matrix: [[{ secret: REDACTED }], 'plain'],
    })
  })

  it('matches key names case-insensitively, ignoring -, _, . and spaces, anywhere in the key', () => {
    const redact = createRedactor()
    const value: JsonValue = {
      Authorization: 'Bearer a',
      'X-API-Key': 'k-1',
      api_key: 'k-2',
      'Set-Cookie': 'sid=1',
      'client.secret': 's-2',
      refreshToken: 't-2',
      'DB PASSWORD': 'p-1',
      name: 'kept',
    }
    expect(redact(value)).toEqual({
      Authorization: REDACTED,
      'X-API-Key': REDACTED,
      api_key: REDACTED,
      'Set-Cookie': REDACTED,
      'client.secret': REDACTED,
      refreshToken: REDACTED,
      'DB PASSWORD': REDACTED,
      name: 'kept',
    })
  })

  it('adds extraKeys to the defaults, replaces them with keys, and writes the replacement given', () => {
    const value: JsonValue = { password: 'p', iban: 'DE00', ssn: '123' }
    expect(createRedactor({ extraKeys: ['IBAN'] })(value)).toEqual({ password: REDACTED, iban: REDACTED, ssn: '123' })
    expect(createRedactor({ keys: ['ssn'] })(value)).toEqual({ password: 'p', iban: 'DE00', ssn: REDACTED })
    expect(createRedactor({ replacement: '***' })(value)).toEqual({ password: '***', iban: 'DE00', ssn: '123' })
  })

  it('writes [REDACTED] by default', () => {
    expect(createRedactor()({ password: 'p' })).toEqual({ password: '[REDACTED]' })
  })

  it('keeps null, numbers and booleans as they are, at any depth', () => {
    const value: JsonValue = { note: null, count: 3, active: false, list: [null, 0, true, { deleted: null }] }
    expect(createRedactor()(value)).toEqual(value)
  })

  it('ignores key names that normalise to nothing, which would otherwise match every key', () => {
    const value: JsonValue = { name: 'kept', password: 'p' }
    expect(createRedactor({ extraKeys: ['', '-_. '] })(value)).toEqual({ name: 'kept', password: REDACTED })
    expect(createRedactor({ keys: [''] })(value)).toEqual(value)
  })

  it('keeps an own "__proto__" key (as JSON.parse makes one) as a key, redacted inside, without touching the copy\'s prototype', () => {
    const value = JSON.parse('{"__proto__":{"token":"t","name":"n"},"id":1}') as JsonValue
    const redacted = createRedactor()(value) as { [key: string]: JsonValue }
    expect(Object.getPrototypeOf(redacted)).toBe(Object.prototype)
    expect(Object.keys(redacted)).toEqual(['__proto__', 'id'])
    expect(JSON.stringify(redacted)).toBe(`{"__proto__":{"token":"${REDACTED}","name":"n"},"id":1}`)
    expect(Object.getOwnPropertyDescriptor(redacted, '__proto__')).toMatchObject({ enumerable: true, writable: true, configurable: true })
  })

  it('returns a copy and leaves the input untouched', () => {
    const value = { nested: { token: 't' }, list: [{ password: 'p' }] }
    const redacted = createRedactor()(value)
    expect(value).toEqual({ nested: { token: 't' }, list: [{ password: 'p' }] })
    expect(redacted).not.toBe(value)
    expect(createRedactor()(undefined)).toBeUndefined()
  })
})
