import { describe, expect, it } from 'vitest'
import { EMPTY_FILTERS, actorMenuValue, actorOptionValue, filtersFromUrl, filtersToSearch, fromActorMenu, toApiFilters } from './filters.js'

describe('filters in the URL', () => {
  it('round-trips through the query string, leaving empty values out', () => {
    const form = { ...EMPTY_FILTERS, actor: 'u_ben', resourceType: 'api_key', q: 'a&b=c', fromDay: '2026-11-01' }
    const search = filtersToSearch(form)
    expect(search).toBe('?actor=u_ben&resource=api_key&q=a%26b%3Dc&from=2026-11-01')
    expect(filtersFromUrl(search)).toEqual(form)
    expect(filtersToSearch(EMPTY_FILTERS)).toBe('')
  })

  it('ignores malformed dates and unknown keys from a hand-edited link', () => {
    expect(filtersFromUrl('?from=yesterday&to=2026-11-30&foo=bar')).toEqual({ ...EMPTY_FILTERS, toDay: '2026-11-30' })
  })
})

describe('actor type and specific resource (the manual: filter by a user, an API key or an actor type; by a resource or a resource type)', () => {
  it('keeps actorType and resourceId in the URL and sends them to the API', () => {
    const form = filtersFromUrl('?actorType=api_key&resource=project&resourceId=prj_101')
    expect(form).toEqual({ ...EMPTY_FILTERS, actorType: 'api_key', resourceType: 'project', resourceId: 'prj_101' })
    expect(filtersToSearch(form)).toBe('?actorType=api_key&resource=project&resourceId=prj_101')
    expect(toApiFilters(form)).toMatchObject({ actorType: 'api_key', resourceType: 'project', resourceId: 'prj_101' })
    expect(toApiFilters({ ...EMPTY_FILTERS, resourceId: '  prj_7 ' }).resourceId).toBe('prj_7')
  })

  it('ignores an actor type outside user, api_key and system from a hand-edited link', () => {
    expect(filtersFromUrl('?actorType=robot&actor=u_ben')).toEqual({ ...EMPTY_FILTERS, actor: 'u_ben' })
  })

  it('puts individual actors and actor types in one menu without mixing them up', () => {
    expect(actorMenuValue({ ...EMPTY_FILTERS, actor: 'u_ben' })).toBe('u_ben')
    const typeValue = actorMenuValue({ ...EMPTY_FILTERS, actorType: 'system' })
    expect(typeValue).not.toBe('system')
    expect(fromActorMenu(typeValue)).toEqual({ actor: '', actorType: 'system' })
    // An actor whose id happens to read like a type is still that actor.
    expect(fromActorMenu('system')).toEqual({ actor: 'system', actorType: '' })
    expect(fromActorMenu(actorMenuValue({ ...EMPTY_FILTERS, actor: 'system' }))).toEqual({ actor: 'system', actorType: '' })
    expect(fromActorMenu('')).toEqual({ actor: '', actorType: '' })
  })

  it('filters an actor chosen from the menu by its type and id, so a user and an API key sharing an id stay apart', () => {
    const user = actorOptionValue('user', 'ci')
    const key = actorOptionValue('api_key', 'ci')
    expect(user).not.toBe(key)
    expect(fromActorMenu(user)).toEqual({ actor: 'ci', actorType: 'user' })
    expect(fromActorMenu(key)).toEqual({ actor: 'ci', actorType: 'api_key' })
    const form = { ...EMPTY_FILTERS, ...fromActorMenu(key) }
    expect(toApiFilters(form)).toMatchObject({ actor: 'ci', actorType: 'api_key' })
    // The link keeps both, and the menu shows the same actor again after a reload.
    const search = filtersToSearch(form)
    expect(search).toBe('?actor=ci&actorType=api_key')
    expect(actorMenuValue(filtersFromUrl(search))).toBe(key)
    // An id holding the separator's neighbours, or a colon, is kept whole.
    expect(fromActorMenu(actorOptionValue('user', 'a:b type:c'))).toEqual({ actor: 'a:b type:c', actorType: 'user' })
  })
})
