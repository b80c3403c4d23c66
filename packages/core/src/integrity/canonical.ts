/**
 * RFC 8785 JSON Canonicalization Scheme for the JSON values events hold:
 * object keys sorted by UTF-16 code units, no whitespace, ECMAScript number and string serialisation.
 * `undefined` members are omitted, as JSON.stringify does.
 */
export function canonicalize(value: unknown): string {
  if (value === null || typeof value !== 'object') return canonicalPrimitive(value)
  // Plain loops and string building: this runs for every event written and every event verified.
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      out += (i === 0 ? '' : ',') + (item === undefined ? 'null' : canonicalize(item))
    }
    return `${out}]`
  }
  const record = value as Record<string, unknown>
  const { keys, quoted } = layoutOf(Object.keys(record))
  let out = '{'
  for (let i = 0; i < keys.length; i++) {
    const member = record[keys[i]!]
    if (member === undefined) continue
    out += `${out.length === 1 ? '' : ','}${quoted[i]!}:${canonicalize(member)}`
  }
  return `${out}}`
}

function canonicalPrimitive(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('JCS cannot encode non-finite numbers')
  return JSON.stringify(value)
}

/** An object's members in JCS order, with each key already quoted. */
interface KeyLayout {
  /** The keys as `Object.keys` listed them: what a cached layout is checked against. */
  listed: readonly string[]
  keys: readonly string[]
  quoted: readonly string[]
}

/**
 * Events repeat the same few object shapes (actor, resource, context...), so the sorted, quoted key list is kept per
 * list of keys: sorting and quoting them again for every event was most of the time spent canonicalising.
 * Bounded, so that objects with ever-new keys (metadata) cannot grow it without limit.
 */
const layouts = new Map<string, KeyLayout>()
const MAX_LAYOUTS = 1000
/**
 * Only short key lists are kept: a cached layout holds its keys, a quoted copy and the joined id, and `changes` may
 * bring a new list of thousands of keys (or one 60,000-character key) with every event; 1000 of those stayed alive
 * as hundreds of MB. Event shapes are a few short keys, and a long list costs its sort anyway.
 */
const MAX_CACHED_KEYS = 32
const MAX_CACHED_ID_LENGTH = 1024

function layoutOf(listed: string[]): KeyLayout {
  const id = listed.join('\u0000')
  const cached = layouts.get(id)
  // Keys holding U+0000 could make two lists share an id: a cached layout is used only for the very same list.
  if (cached && sameKeys(cached.listed, listed)) return cached
  // The default sort compares UTF-16 code units, which is exactly the order RFC 8785 prescribes.
  const keys = listed.slice().sort()
  const layout = { listed, keys, quoted: keys.map((key) => JSON.stringify(key)) }
  if (listed.length > MAX_CACHED_KEYS || id.length > MAX_CACHED_ID_LENGTH) return layout
  if (layouts.size >= MAX_LAYOUTS) layouts.clear()
  layouts.set(id, layout)
  return layout
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
