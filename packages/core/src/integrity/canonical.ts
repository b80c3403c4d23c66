/**
 * RFC 8785 JSON Canonicalization Scheme for the JSON values events hold:
 * object keys sorted by UTF-16 code units, no whitespace, ECMAScript number and string serialisation.
 * `undefined` members are omitted, as JSON.stringify does.
 */
export function canonicalize(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('JCS cannot encode non-finite numbers')
    return JSON.stringify(value)
  }
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
  // The default sort compares UTF-16 code units, which is exactly the order RFC 8785 prescribes.
  const keys = Object.keys(record).sort()
  let out = '{'
  for (const key of keys) {
    const member = record[key]
    if (member === undefined) continue
    out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${canonicalize(member)}`
  }
  return `${out}}`
}
