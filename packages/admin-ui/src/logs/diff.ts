import type { JsonValue } from '../api/types.js'

export type DiffKind = 'added' | 'removed' | 'changed' | 'unchanged'

export interface DiffRow {
  /** Dotted path (`settings.headers.Authorization`, `tags[1]`); empty for a whole non-object value. */
  path: string
  kind: DiffKind
  before?: JsonValue
  after?: JsonValue
}

function isPlainObject(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function childPath(parent: string, key: string): string {
  if (/^\d+$/.test(key)) return `${parent}[${key}]`
  return parent === '' ? key : `${parent}.${key}`
}

/** Leaves of a JSON value by path. Empty objects and arrays are leaves, so that `{}` → `{a: 1}` reads as an addition. */
function flatten(value: JsonValue | undefined, path: string, into: Map<string, JsonValue>): void {
  if (value === undefined) return
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    for (const [key, child] of Object.entries(value)) flatten(child, path === '' ? key : `${path}.${key}`, into)
  } else if (Array.isArray(value) && value.length > 0) {
    value.forEach((child, index) => flatten(child, childPath(path, String(index)), into))
  } else {
    into.set(path, value)
  }
}

function same(a: JsonValue, b: JsonValue): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/** Longest arrays aligned item by item; longer ones are compared by index (the table would be unreadable anyway). */
const MAX_ALIGN_CELLS = 250_000

/** Index pairs of a longest common subsequence of equal items, in order. */
function commonItems(before: JsonValue[], after: JsonValue[]): [number, number][] {
  const a = before.map((item) => JSON.stringify(item))
  const b = after.map((item) => JSON.stringify(item))
  const n = a.length
  const m = b.length
  if (n * m > MAX_ALIGN_CELLS) return []
  // lengths[i][j]: the LCS length of a[i..] and b[j..].
  const lengths = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0))
  for (let i = n - 1; i >= 0; i--) {
    const row = lengths[i] as number[]
    const next = lengths[i + 1] as number[]
    for (let j = m - 1; j >= 0; j--) row[j] = a[i] === b[j] ? (next[j + 1] as number) + 1 : Math.max(next[j] as number, row[j + 1] as number)
  }
  const pairs: [number, number][] = []
  let i = 0
  let j = 0
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      pairs.push([i, j])
      i++
      j++
    } else if (((lengths[i + 1] as number[])[j] as number) >= ((lengths[i] as number[])[j + 1] as number)) i++
    else j++
  }
  return pairs
}

function addLeaves(value: JsonValue, path: string, kind: 'added' | 'removed', rows: DiffRow[]): void {
  const leaves = new Map<string, JsonValue>()
  flatten(value, path, leaves)
  for (const [leaf, leafValue] of leaves) rows.push(kind === 'added' ? { path: leaf, kind, after: leafValue } : { path: leaf, kind, before: leafValue })
}

function walk(before: JsonValue | undefined, after: JsonValue | undefined, path: string, rows: DiffRow[]): void {
  if (before === undefined) {
    if (after !== undefined) addLeaves(after, path, 'added', rows)
    return
  }
  if (after === undefined) {
    addLeaves(before, path, 'removed', rows)
    return
  }
  if (isPlainObject(before) && isPlainObject(after) && Object.keys(before).length > 0 && Object.keys(after).length > 0) {
    for (const [key, value] of Object.entries(before)) walk(value, after[key], path === '' ? key : `${path}.${key}`, rows)
    for (const [key, value] of Object.entries(after)) if (!(key in before)) walk(undefined, value, path === '' ? key : `${path}.${key}`, rows)
    return
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length > 0 && after.length > 0) {
    // Items are matched by value first, so that one taken out of (or put into) the middle reads as that item removed
    // (added), not as every later item changed. Unmatched items between two matches are compared in place.
    // Removed items keep their index in `before`; the others are named by their index in `after`.
    const pairs = [...commonItems(before, after), [before.length, after.length] as [number, number]]
    let i = 0
    let j = 0
    for (const [nextI, nextJ] of pairs) {
      while (i < nextI && j < nextJ) {
        walk(before[i], after[j], childPath(path, String(j)), rows)
        i++
        j++
      }
      for (; i < nextI; i++) walk(before[i], undefined, childPath(path, String(i)), rows)
      for (; j < nextJ; j++) walk(undefined, after[j], childPath(path, String(j)), rows)
      if (nextI < before.length) walk(before[nextI], after[nextJ], childPath(path, String(nextJ)), rows)
      i = nextI + 1
      j = nextJ + 1
    }
    return
  }
  const shape = (value: JsonValue): string => (isPlainObject(value) && Object.keys(value).length > 0 ? 'object' : Array.isArray(value) && value.length > 0 ? 'array' : 'leaf')
  if (shape(before) === 'leaf' && shape(after) === 'leaf') {
    rows.push({ path, kind: same(before, after) ? 'unchanged' : 'changed', before, after })
    return
  }
  // An object or array on one side and something else on the other: its leaves go, the new ones come.
  addLeaves(before, path, 'removed', rows)
  addLeaves(after, path, 'added', rows)
}

/**
 * Field-level diff of an event's `changes.before` and `changes.after`: one row per leaf path, in the order
 * the fields appear (before's order, then fields only `after` has). Array items are matched by value.
 */
export function diffChanges(before: JsonValue | undefined, after: JsonValue | undefined): DiffRow[] {
  const rows: DiffRow[] = []
  walk(before, after, '', rows)
  return rows
}

/** A JSON value as one short line for a table cell. */
export function formatValue(value: JsonValue | undefined): string {
  if (value === undefined) return ''
  if (typeof value === 'string') return value
  return JSON.stringify(value)
}

/**
 * Both sides of a row as table text. A change whose sides read the same (`"5"` against `5`, `"null"` against
 * `null`) shows both as JSON, so that the quotes tell the string from the number.
 */
export function formatSides(row: DiffRow): { before: string; after: string } {
  const before = formatValue(row.before)
  const after = formatValue(row.after)
  if (row.kind !== 'changed' || before !== after) return { before, after }
  return { before: JSON.stringify(row.before), after: JSON.stringify(row.after) }
}
