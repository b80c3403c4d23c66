import { describe, expect, it } from 'vitest'
import { EMPTY_FILTERS, filtersFromUrl, filtersToSearch } from './filters.js'

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
