import { describe, expect, it } from 'vitest'
import { MESSAGES } from '../i18n/messages.js'
import { checkEndpoint, checkHeaders } from './validate.js'

const t = MESSAGES.en

describe('checkHeaders', () => {
  it('accepts an object of strings and an empty field', () => {
    expect(checkHeaders('{"Authorization": "Bearer abc"}', t)).toEqual({ ok: true, headers: { Authorization: 'Bearer abc' } })
    expect(checkHeaders('  ', t)).toEqual({ ok: true, headers: {} })
  })

  it('names what is wrong', () => {
    expect(checkHeaders('{"a": ', t)).toMatchObject({ ok: false, error: expect.stringContaining('Not valid JSON') })
    expect(checkHeaders('["x"]', t)).toMatchObject({ ok: false, error: t.headersNotObject })
    expect(checkHeaders('{"x-n": 1}', t)).toMatchObject({ ok: false, error: t.headersNotString('x-n') })
    expect(checkHeaders('{"bad name": "v"}', t)).toMatchObject({ ok: false, error: t.headersBadName('bad name') })
    expect(checkHeaders('{"x": "a\\r\\nInjected: 1"}', t)).toMatchObject({ ok: false, error: t.headersNewline('x') })
  })
})

describe('checkHeaders in Japanese', () => {
  it("does not show the browser's English JSON.parse message", () => {
    const check = checkHeaders('{"a": ', MESSAGES.ja)
    expect(check).toMatchObject({ ok: false, error: expect.stringMatching(/^JSON として正しくありません/) })
    expect(check.ok ? '' : check.error).not.toMatch(/Unexpected|position|input/i)
  })
})

describe('checkEndpoint', () => {
  it('wants an absolute http(s) URL, and one only when enabled', () => {
    expect(checkEndpoint('https://collector.example.com:4318/v1/logs', true, t)).toBeNull()
    expect(checkEndpoint('', false, t)).toBeNull()
    expect(checkEndpoint('', true, t)).toBe(t.endpointRequired)
    expect(checkEndpoint('collector:4317', true, t)).toBe(t.endpointInvalid)
    expect(checkEndpoint('ftp://x', true, t)).toBe(t.endpointInvalid)
  })
})
