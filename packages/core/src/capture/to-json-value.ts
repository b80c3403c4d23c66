import type { EventLimits } from '../event/limits.js'

/** Thrown inside the walk when a value is too deep or too long to be worth converting: validation refuses it. */
const LEFT_TO_VALIDATION = Symbol('left to validation')

/**
 * The value a handler gave for `before`/`after`/`metadata`, as `JSON.stringify` would write it: `toJSON()` is
 * called (a `Date` becomes its ISO string), a class instance (an ORM entity) becomes its own enumerable properties,
 * `undefined`, functions and symbols are left out of objects (and become `null` in arrays), non-finite numbers
 * become `null`, and a BigInt becomes its decimal string.
 *
 * Without this, a `Date` or an optional field left `undefined` made the whole event invalid and the request
 * unaudited. A value that cannot be converted within the event's bounds (cyclic, too deep, an array longer than the
 * byte bound allows, a throwing getter) is answered unchanged, so that validation refuses it with its usual code.
 */
export function toJsonValue(value: unknown, limits: Pick<EventLimits, 'maxDepth' | 'maxChangesBytes' | 'maxMetadataBytes'>): unknown {
  // Every array item takes at least one byte of JSON: a longer array is over the bound whatever it holds.
  const maxItems = Math.max(limits.maxChangesBytes, limits.maxMetadataBytes)
  const convert = (item: unknown, depth: number): unknown => {
    if (item === null || typeof item === 'string' || typeof item === 'boolean') return item
    if (typeof item === 'number') return Number.isFinite(item) ? item : null
    if (typeof item === 'bigint') return item.toString()
    if (typeof item !== 'object') return undefined
    if (depth > limits.maxDepth) throw LEFT_TO_VALIDATION
    const toJSON = (item as { toJSON?: unknown }).toJSON
    if (typeof toJSON === 'function') return convert((toJSON as (key: string) => unknown).call(item, ''), depth + 1)
    if (Array.isArray(item)) {
      if (item.length > maxItems) throw LEFT_TO_VALIDATION
      const out: unknown[] = []
      for (let i = 0; i < item.length; i++) out.push(convert(item[i], depth + 1) ?? null)
      return out
    }
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(item)) {
      const converted = convert((item as Record<string, unknown>)[key], depth + 1)
      if (converted === undefined) continue
      // An own "__proto__" key stays a key (assignment would set the prototype); validation decides about it.
      if (key === '__proto__') Object.defineProperty(out, key, { value: converted, enumerable: true, writable: true, configurable: true })
      else out[key] = converted
    }
    return out
  }
  try {
    return convert(value, 0)
  } catch {
    return value
  }
}
