import { describe, expect, it } from 'vitest'
import { diffChanges } from './diff.js'

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

  it('treats a type change between object and scalar as removal plus addition', () => {
    expect(diffChanges({ a: { b: 1 } }, { a: 5 })).toEqual([
      { path: 'a.b', kind: 'removed', before: 1 },
      { path: 'a', kind: 'added', after: 5 },
    ])
  })
})
