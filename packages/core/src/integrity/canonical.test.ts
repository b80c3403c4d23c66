import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it, vi } from 'vitest'
import { canonicalize } from './canonical.js'

/** Vectors from RFC 8785 (JSON Canonicalization Scheme). */
describe('canonicalize (RFC 8785)', () => {
  it('serialises the sample of section 3.2.3', () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    )
    expect(canonicalize(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    )
  })

  it('sorts keys by UTF-16 code units, non-ASCII and surrogate pairs included (section 3.2.3)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    }
    expect(canonicalize(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis",' +
        '"€":"Euro Sign","😀":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    )
  })

  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'], // -0
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['41b3de4355555555', '333333333.3333333'],
    ['3fb999999999999a', '0.1'],
  ])('serialises the IEEE 754 double %s as %s (appendix B)', (bits, expected) => {
    const value = Buffer.from(bits, 'hex').readDoubleBE(0)
    expect(canonicalize(value)).toBe(expected)
    expect(canonicalize({ n: [value] })).toBe(`{"n":[${expected}]}`)
  })

  it('refuses NaN and infinities, which JSON cannot hold', () => {
    expect(() => canonicalize(Number.NaN)).toThrow(TypeError)
    expect(() => canonicalize({ a: [Number.POSITIVE_INFINITY] })).toThrow(TypeError)
  })

  it('omits undefined members and keeps nested structure without whitespace', () => {
    expect(canonicalize({ b: undefined, a: { d: [1, 'x', null, false], c: {} } })).toBe('{"a":{"c":{},"d":[1,"x",null,false]}}')
  })

  it('writes an undefined array item as null, as JSON.stringify does', () => {
    expect(canonicalize([1, undefined, 'x'])).toBe('[1,null,"x"]')
    expect(canonicalize({ list: [undefined] })).toBe('{"list":[null]}')
  })

  it('writes each member once, a member named "undefined" included', () => {
    expect(canonicalize({ undefined: 1 })).toBe('{"undefined":1}')
    expect(canonicalize({ b: 2, undefined: 1, a: 0 })).toBe('{"a":0,"b":2,"undefined":1}')
  })

  it('gives the same text after a JSON round trip (what a store does)', () => {
    const value = { z: -0, y: 1e21, x: 0.1, 'ü': 'naïve', nested: { '\u00e9': [2e-7, 123456789012345680000] } }
    expect(canonicalize(JSON.parse(JSON.stringify(value)))).toBe(canonicalize(value))
  })

  it('orders each object by its own keys when objects share a shape, list their keys differently, or hold U+0000 in keys', () => {
    // The sorted key list is cached per list of keys: every one of these must still come out as a fresh sort would.
    for (let round = 0; round < 2; round++) {
      expect(canonicalize({ b: 1, a: 2 })).toBe('{"a":2,"b":1}')
      expect(canonicalize({ a: 2, b: 1 })).toBe('{"a":2,"b":1}')
      expect(canonicalize({ 'a\u0000b': 1, c: 2 })).toBe('{"a\\u0000b":1,"c":2}')
      expect(canonicalize({ a: 1, 'b\u0000c': 2 })).toBe('{"a":1,"b\\u0000c":2}')
      expect(canonicalize({ z: { b: undefined, a: [{ d: 1, c: 2 }] } })).toBe('{"z":{"a":[{"c":2,"d":1}]}}')
    }
  })

  it('keeps little memory for its key-order cache when objects bring large, ever-new key lists', async () => {
    // `changes` may hold 64 KiB of JSON with keys a client chose: every event a new list of thousands of keys, or one
    // long key. The key-order cache must not keep hundreds of such lists (and their quoted copies) alive.
    vi.resetModules() // a fresh module: an empty cache, whatever earlier tests left in it
    const fresh = (await import('./canonical.js')).canonicalize
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    gc()
    const before = process.memoryUsage().heapUsed
    for (let n = 0; n < 990; n++) {
      const value: Record<string, number> = {}
      if (n % 8 === 0) for (let i = 0; i < 2000; i++) value[`${n}_${i}`] = i
      else value[`${n}_`.padEnd(60_000, 'k')] = n
      fresh({ before: value })
    }
    gc()
    gc()
    // Without a bound the cache kept about 140 MB here; other work in the test worker moves the heap by up to ~25 MB.
    expect((process.memoryUsage().heapUsed - before) / 2 ** 20).toBeLessThan(48)
  })

  it('matches a plain sort-every-time reference on many random values, past the size of its key-order cache', () => {
    const reference = (value: unknown): string => {
      if (value === null || typeof value !== 'object') return JSON.stringify(value)
      if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : reference(item))).join(',')}]`
      const record = value as Record<string, unknown>
      const members = Object.keys(record)
        .sort()
        .filter((key) => record[key] !== undefined)
        .map((key) => `${JSON.stringify(key)}:${reference(record[key])}`)
      return `{${members.join(',')}}`
    }
    let seed = 7
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    const alphabet = ['a', 'b', 'B', 'é', '\u0000', '😀', '_', '1', '\uffff']
    const key = (): string => Array.from({ length: 1 + next(3) }, () => alphabet[next(alphabet.length)]).join('')
    const value = (depth: number): unknown => {
      const kind = next(depth > 2 ? 4 : 6)
      if (kind === 0) return next(1000) / (1 + next(7)) - 300
      if (kind === 1) return key()
      if (kind === 2) return [true, false, null, undefined][next(4)]
      if (kind === 3) return next(2) === 0 ? -0 : 1e21 * (1 + next(3))
      if (kind === 4) return Array.from({ length: next(4) }, () => value(depth + 1))
      return Object.fromEntries(Array.from({ length: next(5) }, () => [key(), value(depth + 1)]))
    }
    for (let i = 0; i < 5000; i++) {
      const sample = { [key()]: value(0), [key()]: value(0) }
      expect(canonicalize(sample)).toBe(reference(sample))
    }
  })
})

/**
 * Edge cases of RFC 8785 (numbers at the exponent thresholds and beyond 2^53, every escape JCS requires and the
 * characters it leaves alone, keys sorted by UTF-16 code units against code points, numeric-like keys that JS objects
 * list first, an own "__proto__"), with the expected text computed by an independent JCS implementation in Python
 * (json + decimal, floats formatted by the ECMAScript Number::toString rules, keys sorted by their UTF-16BE bytes).
 * The npm `canonicalize` package (the RFC's reference JS implementation) gives the same text.
 */
const CROSS_CHECK_INPUT = String.raw`{"numbers":[1e21,1e20,1e-7,1e-6,123456789012345680000,5e-324,1.7976931348623157e308,-0.0,9007199254740993,
0.30000000000000004,100,1.5e-10,-1e-7,4.35,9223372036854775808,0.000001234,1e+300,-123.456e-30],
"strings":["\u0000\u0008\u001f\u007f\u0080\u2028\u2029/<>&'\u00e9\ud83d\ude00\uffff","\"\\\b\f\n\r\t"],
"keys":{"2":0,"10":1,"1":2,"\ue000":3,"\ud83d\ude00":4,"\uffff":5,"a":6,"B":7,"__proto__":8,"":9,"\u00e9":10,"e\u0301":11,"\ud800\udc00":12}}`
const CROSS_CHECK_CANONICAL =
  "{\"keys\":{\"\":9,\"1\":2,\"10\":1,\"2\":0,\"B\":7,\"__proto__\":8,\"a\":6,\"e\u0301\":11,\"\u00e9\":10,\"\ud800\udc00\":12,\"\ud83d\ude00\":4,\"\ue000\":3,\"\uffff\":5},\"numbers\":[1e+21,100000000000000000000,1e-7,0.000001,123456789012345680000,5e-324,1.7976931348623157e+308,0,9007199254740992,0.30000000000000004,100,1.5e-10,-1e-7,4.35,9223372036854776000,0.000001234,1e+300,-1.23456e-28],\"strings\":[\"\\u0000\\b\\u001f\u007f\u0080\u2028\u2029/<>&'\u00e9\ud83d\ude00\uffff\",\"\\\"\\\\\\b\\f\\n\\r\\t\"]}"

describe('canonicalize against an independent implementation', () => {
  it('gives the text a Python JCS implementation computes for the edge cases, before and after a JSON round trip', () => {
    const input: unknown = JSON.parse(CROSS_CHECK_INPUT)
    // JSON.parse keeps "__proto__" as an own key, as it is after a store's JSON round trip.
    expect(Object.keys((input as { keys: object }).keys)).toContain('__proto__')
    for (let round = 0; round < 2; round++) expect(canonicalize(input)).toBe(CROSS_CHECK_CANONICAL)
    expect(canonicalize(JSON.parse(JSON.stringify(input)))).toBe(CROSS_CHECK_CANONICAL)
  })
})
