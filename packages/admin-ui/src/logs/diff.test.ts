import { describe, expect, it } from 'vitest'
import { type DiffRow, diffChanges, formatSides } from './diff.js'

describe('diffChanges', () => {
  it('classifies each leaf as added, removed, changed or unchanged', () => {
    const rows = diffChanges(
      { name: 'Apollo', role: 'viewer', tags: ['a', 'b'], owner: { id: 'u1' } },
      { name: 'Apollo', role: 'admin', tags: ['a'], owner: { id: 'u1', email: 'x@example.com' }, archived: false },
    )
    expect(rows).toEqual([
      { path: 'name', kind: 'unchanged', before: 'Apollo', after: 'Apollo' },
      { path: 'role', kind: 'changed', before: 'viewer', after: 'admin' },
      { path: 'tags[0]', kind: 'unchanged', before: 'a', after: 'a' },
      { path: 'tags[1]', kind: 'removed', before: 'b' },
      { path: 'owner.id', kind: 'unchanged', before: 'u1', after: 'u1' },
      { path: 'owner.email', kind: 'added', after: 'x@example.com' },
      { path: 'archived', kind: 'added', after: false },
    ])
  })

  it('handles a creation (no before), a deletion (no after) and scalar values', () => {
    expect(diffChanges(undefined, { name: 'x' })).toEqual([{ path: 'name', kind: 'added', after: 'x' }])
    expect(diffChanges({ name: 'x' }, undefined)).toEqual([{ path: 'name', kind: 'removed', before: 'x' }])
    expect(diffChanges(1, 2)).toEqual([{ path: '', kind: 'changed', before: 1, after: 2 }])
  })

  it('aligns arrays by their items: an item taken out of the middle reads as that item removed, not as its neighbours changed', () => {
    // Before, rows compared by index: "write" changed to "publish" and "publish" removed, the opposite of what happened.
    expect(diffChanges({ permissions: ['read', 'write', 'publish'] }, { permissions: ['read', 'publish'] })).toEqual([
      { path: 'permissions[0]', kind: 'unchanged', before: 'read', after: 'read' },
      { path: 'permissions[1]', kind: 'removed', before: 'write' },
      { path: 'permissions[1]', kind: 'unchanged', before: 'publish', after: 'publish' },
    ])
    expect(diffChanges(['b', 'c'], ['a', 'b', 'c']).filter((row) => row.kind !== 'unchanged')).toEqual([{ path: '[0]', kind: 'added', after: 'a' }])
    // An item edited in place still shows the field that changed.
    expect(diffChanges({ members: [{ id: 'u1', role: 'viewer' }, { id: 'u2', role: 'admin' }] }, { members: [{ id: 'u1', role: 'editor' }, { id: 'u2', role: 'admin' }] }).filter((row) => row.kind !== 'unchanged')).toEqual([
      { path: 'members[0].role', kind: 'changed', before: 'viewer', after: 'editor' },
    ])
  })

  it('treats a type change between object and scalar as removal plus addition', () => {
    expect(diffChanges({ a: { b: 1 } }, { a: 5 })).toEqual([
      { path: 'a.b', kind: 'removed', before: 1 },
      { path: 'a', kind: 'added', after: 5 },
    ])
  })

  it('shows a change whose sides read the same as JSON, so the quotes tell a string from a number', () => {
    const rows = diffChanges({ size: '5', nothing: 'null', label: 'a' }, { size: 5, nothing: null, label: 'b' })
    const sides = (path: string): ReturnType<typeof formatSides> => formatSides(rows.find((row) => row.path === path) as DiffRow)
    expect(sides('size')).toEqual({ before: '"5"', after: '5' })
    expect(sides('nothing')).toEqual({ before: '"null"', after: 'null' })
    expect(sides('label')).toEqual({ before: 'a', after: 'b' })
  })
})
