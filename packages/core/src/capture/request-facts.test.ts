import { describe, expect, it } from 'vitest'
import { actorFromUser, clip, firstHeaderValue, isReadMethod, normalizeIp } from './request-facts.js'

describe('actorFromUser', () => {
  it('keeps an object that already is an Actor, and only its actor fields', () => {
    expect(actorFromUser({ type: 'api_key', id: 'key_1', name: 'CI', scopes: ['x'] })).toEqual({ type: 'api_key', id: 'key_1', name: 'CI' })
  })
  it('maps a user object with an id to a user actor', () => {
    expect(actorFromUser({ id: 42, displayName: 'Ada', email: 'ada@example.com', role: 'admin' })).toEqual({
      type: 'user',
      id: '42',
      name: 'Ada',
      email: 'ada@example.com',
    })
    expect(actorFromUser({ id: 'u1', type: 'admin', username: 'ada' })).toEqual({ type: 'user', id: 'u1', name: 'ada' })
  })
  it("takes a JWT payload's sub, or a userId, as the id when there is no id (NestJS's authentication guide and Passport recipe)", () => {
    expect(actorFromUser({ sub: 1, username: 'john', iat: 1, exp: 2 })).toEqual({ type: 'user', id: '1', name: 'john' })
    expect(actorFromUser({ userId: 'u-7', username: 'maria' })).toEqual({ type: 'user', id: 'u-7', name: 'maria' })
    expect(actorFromUser({ id: 'u1', sub: 'other', userId: 'another' })).toEqual({ type: 'user', id: 'u1' })
    expect(actorFromUser({ id: '', sub: 's1' })).toEqual({ type: 'user', id: 's1' })
  })
  it('gives undefined without a usable id', () => {
    expect(actorFromUser(undefined)).toBeUndefined()
    expect(actorFromUser('u1')).toBeUndefined()
    expect(actorFromUser({ name: 'nobody' })).toBeUndefined()
    expect(actorFromUser({ id: '' })).toBeUndefined()
  })
})

describe('request facts', () => {
  it('reads the first header value and treats empty as absent', () => {
    expect(firstHeaderValue(['a', 'b'])).toBe('a')
    expect(firstHeaderValue('')).toBeUndefined()
    expect(firstHeaderValue(null)).toBeUndefined()
  })
  it('unwraps IPv4-mapped IPv6 addresses only', () => {
    expect(normalizeIp('::ffff:10.1.2.3')).toBe('10.1.2.3')
    expect(normalizeIp('::1')).toBe('::1')
    expect(normalizeIp('')).toBeUndefined()
  })
  it('clips long client strings and knows read methods', () => {
    expect(clip('abcdef', 3)).toBe('abc')
    expect(clip('ab', 3)).toBe('ab')
    expect(isReadMethod('head')).toBe(true)
    expect(isReadMethod('PATCH')).toBe(false)
  })
})
