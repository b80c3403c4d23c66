import { describe, expect, it } from 'vitest'
import { MESSAGES } from './messages.js'

describe('English counts', () => {
  it('says "1 event", not "1 events"', () => {
    const { en } = MESSAGES
    expect(en.shownCount(1)).toBe('1 event shown')
    expect(en.shownCount(28)).toBe('28 events shown')
    expect(en.shownCountMore(1)).toBe('1 event shown, more available')
    expect(en.shownCountMore(1200)).toBe('1,200 events shown, more available')
    expect(en.integrityOkDetail(1)).toBe('1 event checked, no broken link found.')
    expect(en.integrityOkDetail(143)).toBe('143 events checked, no broken link found.')
  })
})
