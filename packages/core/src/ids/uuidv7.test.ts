import { describe, expect, it } from 'vitest'
import { UUID_PATTERN, uuidv7 } from './uuidv7.js'

describe('uuidv7', () => {
  it('sorts ids made in one millisecond in creation order', () => {
    const now = Date.now()
    const ids = Array.from({ length: 50 }, () => uuidv7(now))
    expect(ids.every((id) => UUID_PATTERN.test(id))).toBe(true)
    expect([...ids].sort()).toEqual(ids)
  })

  it('refuses a time past 48 bits without breaking every later id of the process', () => {
    expect(() => uuidv7(2 ** 48)).toThrow()
    const id = uuidv7(Date.now())
    expect(id).toMatch(UUID_PATTERN)
    expect(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)).toBeLessThan(2 ** 48)
  })
})
