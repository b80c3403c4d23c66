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

/**
 * Field-level diff of an event's `changes.before` and `changes.after`: one row per leaf path, in the order
 * the fields appear (before's order, then fields only `after` has).
 */
export function diffChanges(before: JsonValue | undefined, after: JsonValue | undefined): DiffRow[] {
  const left = new Map<string, JsonValue>()
  const right = new Map<string, JsonValue>()
  flatten(before, '', left)
  flatten(after, '', right)
  const rows: DiffRow[] = []
  for (const [path, value] of left) {
    if (!right.has(path)) rows.push({ path, kind: 'removed', before: value })
    else {
      const next = right.get(path) as JsonValue
      rows.push({ path, kind: same(value, next) ? 'unchanged' : 'changed', before: value, after: next })
    }
  }
  for (const [path, value] of right) if (!left.has(path)) rows.push({ path, kind: 'added', after: value })
  return rows
}

/** A JSON value as one short line for a table cell. */
export function formatValue(value: JsonValue | undefined): string {
  if (value === undefined) return ''
  if (typeof value === 'string') return value
  return JSON.stringify(value)
}
