import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { JsonValue } from '../event/schema.js'
import { DEFAULT_REDACT_KEYS, REDACTED, createRedactor } from './redact.js'

/**
 * Property-based tests of redaction: whatever the JSON value, no value under a secret-named key (any case, any
 * `-`/`_`/`.`/blank between its letters, any prefix or suffix, at any depth, inside arrays) survives; everything
 * else is kept exactly, key order and all; the input is never mutated.
 */

const NEEDLES = DEFAULT_REDACT_KEYS.map((key) => key.toLowerCase().replace(/[-_.\s]/g, ''))

/** The documented rule, written independently: lower case, without `-`, `_`, `.` and blanks, contains a needle. */
const oracleIsSecret = (key: string): boolean => NEEDLES.some((needle) => key.toLowerCase().replace(/[-_.\s]/g, '').includes(needle))

const affix = fc.string({ unit: fc.constantFrom('x', 'Y', '1', '-', '_', '.', ' ', '\u00E9', '$'), maxLength: 4 })
/** A default secret name spelled any way the rule allows: random case, separators between letters, affixes. */
const secretKey = fc
  .tuple(affix, fc.constantFrom(...DEFAULT_REDACT_KEYS), fc.array(fc.tuple(fc.boolean(), fc.constantFrom('', '', '', '-', '_', '.', ' ', '\t')), { minLength: 16, maxLength: 16 }), affix)
  .map(([prefix, name, spelling, suffix]) => {
    const letters = [...name.replace(/-/g, '')].map((ch, i) => {
      const [upper, sep] = spelling[i % spelling.length] as [boolean, string]
      return (i === 0 ? '' : sep) + (upper ? ch.toUpperCase() : ch.toLowerCase())
    })
    return prefix + letters.join('') + suffix
  })
/** Names that must be kept, including ones that look dangerous to a naive `out[key] = ...`. */
const plainKey = fc.oneof(
  fc.constantFrom('name', 'id', 'email', 'tokens_count_', 'pass', 'word', 'api', 'key', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '', '0', '10'),
  fc.string({ maxLength: 8 }),
)
const anyKey = fc.oneof(secretKey, plainKey)

const leaf: fc.Arbitrary<JsonValue> = fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null))
const { tree } = fc.letrec<{ tree: JsonValue; object: JsonValue }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('tree'), { maxLength: 4 }), tie('object')),
  // Object.fromEntries defines keys as data, so an own "__proto__" key is made as JSON.parse makes it.
  object: fc.array(fc.tuple(anyKey, tie('tree')), { maxLength: 5 }).map((entries) => Object.fromEntries(entries) as JsonValue),
}))

/** Replaces every leaf under a secret key with a unique marker, so that a surviving secret can be found by text. */
function plant(value: JsonValue, counter: { n: number }, underSecret = false): JsonValue {
  if (Array.isArray(value)) return value.map((item) => plant(item, counter, underSecret))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, plant(child, counter, underSecret || oracleIsSecret(key))]))
  }
  return underSecret ? `\u0001SECRET-${counter.n++}\u0001` : value
}

/** The expected output, built with data definitions (never `obj[key] =`). */
function expectedOf(value: JsonValue, replacement: string): JsonValue {
  if (Array.isArray(value)) return value.map((item) => expectedOf(item, replacement))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, oracleIsSecret(key) ? replacement : expectedOf(child, replacement)]))
  }
  return value
}

/** Own enumerable keys and values, in order, at every depth: differs when a key went missing or into a prototype. */
function shape(value: JsonValue): string {
  return JSON.stringify(value)
}

describe('createRedactor (property-based)', () => {
  const redact = createRedactor()

  it('the spelled-out secret names are secrets by the documented rule (generator sanity)', () => {
    fc.assert(
      fc.property(secretKey, (key) => {
        expect(oracleIsSecret(key)).toBe(true)
      }),
      { numRuns: 300 },
    )
  })

  it('no value under a secret key survives anywhere, the rest is kept exactly, and the input is not mutated', () => {
    fc.assert(
      fc.property(tree, (generated) => {
        const input = plant(generated, { n: 0 })
        const before = structuredClone(input)
        const beforeText = shape(input)
        const output = redact(input)
        expect(shape(output)).not.toContain('SECRET-')
        expect(shape(output)).toBe(shape(expectedOf(input, REDACTED)))
        // structuredClone and JSON text both: a prototype swapped by `out.__proto__ = ...` would hide from one of them.
        expect(shape(input)).toBe(beforeText)
        expect(input).toEqual(before)
      }),
      { numRuns: 800 },
    )
  })

  it('every object in the output is plain, with Object.prototype as its prototype and only own keys', () => {
    const check = (value: JsonValue): void => {
      if (Array.isArray(value)) return value.forEach(check)
      if (value === null || typeof value !== 'object') return
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
      for (const child of Object.values(value)) check(child)
    }
    fc.assert(
      fc.property(tree, (input) => {
        check(redact(input))
      }),
      { numRuns: 500 },
    )
  })

  // Found by the property above: `out[key] = ...` with an own "__proto__" key set the copy's prototype, so the key was
  // lost (a string value) or turned into inherited members (an array or object value made the copy an array-like).
  it('keeps an own "__proto__" key as a key (regression)', () => {
    const input = JSON.parse('{"__proto__": [], "a": {"__proto__": 0, "password": "p"}, "b": {"__proto__": {"token": "t", "x": 1}}}') as JsonValue
    const output = redact(input) as Record<string, JsonValue>
    expect(JSON.stringify(output)).toBe('{"__proto__":[],"a":{"__proto__":0,"password":"[REDACTED]"},"b":{"__proto__":{"token":"[REDACTED]","x":1}}}')
    expect(Object.getPrototypeOf(output)).toBe(Object.prototype)
    expect(Array.isArray(output)).toBe(false)
  })

  it('extraKeys and replacement: a custom name is redacted in any spelling, with the replacement given', () => {
    fc.assert(
      fc.property(tree, fc.string({ minLength: 1, maxLength: 6 }), (generated, replacement) => {
        const custom = createRedactor({ extraKeys: ['IBAN'], replacement })
        const input = { bank: { Iban: 'DE00-SECRET', nested: [{ 'x-iban-no': 'DE01-SECRET' }] }, other: generated }
        const output = custom(input) as { bank: { Iban: string; nested: { 'x-iban-no': string }[] } }
        expect(output.bank.Iban).toBe(replacement)
        expect(output.bank.nested[0]?.['x-iban-no']).toBe(replacement)
      }),
      { numRuns: 100 },
    )
  })
})
