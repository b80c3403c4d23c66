import { describe, expect, it } from 'vitest'
import { AuditKitError } from '../errors.js'
import { compileTrustProxy, resolveClientIp } from './client-ip.js'

describe('resolveClientIp', () => {
  const socketIp = '10.0.0.2'
  const forwardedFor = '203.0.113.7, 198.51.100.1'

  it('ignores X-Forwarded-For unless a proxy is trusted', () => {
    expect(resolveClientIp({ socketIp, forwardedFor })).toBe('10.0.0.2')
    expect(resolveClientIp({ socketIp, forwardedFor, trustProxy: false })).toBe('10.0.0.2')
  })

  it('takes the left-most address when every hop is trusted', () => {
    expect(resolveClientIp({ socketIp, forwardedFor, trustProxy: true })).toBe('203.0.113.7')
  })

  it('counts hops', () => {
    expect(resolveClientIp({ socketIp, forwardedFor, trustProxy: 1 })).toBe('198.51.100.1')
    expect(resolveClientIp({ socketIp, forwardedFor, trustProxy: 2 })).toBe('203.0.113.7')
    expect(resolveClientIp({ socketIp, forwardedFor, trustProxy: 5 })).toBe('203.0.113.7')
    expect(resolveClientIp({ socketIp, forwardedFor, trustProxy: 0 })).toBe('10.0.0.2')
  })

  it('trusts only listed addresses, CIDRs and presets', () => {
    expect(resolveClientIp({ socketIp, forwardedFor, trustProxy: ['10.0.0.0/8'] })).toBe('198.51.100.1')
    expect(resolveClientIp({ socketIp, forwardedFor, trustProxy: ['10.0.0.0/8', '198.51.100.1'] })).toBe('203.0.113.7')
    expect(resolveClientIp({ socketIp, forwardedFor, trustProxy: 'uniquelocal' })).toBe('198.51.100.1')
    expect(resolveClientIp({ socketIp: '192.0.2.1', forwardedFor, trustProxy: 'loopback' })).toBe('192.0.2.1')
    expect(resolveClientIp({ socketIp: '::1', forwardedFor: '2001:db8::5', trustProxy: 'loopback' })).toBe('2001:db8::5')
  })

  it('asks a function per hop', () => {
    const seen: [string, number][] = []
    const ip = resolveClientIp({
      socketIp,
      forwardedFor,
      trustProxy: (address, hop) => {
        seen.push([address, hop])
        return address.startsWith('10.')
      },
    })
    expect(ip).toBe('198.51.100.1')
    expect(seen).toEqual([
      ['10.0.0.2', 0],
      ['198.51.100.1', 1],
    ])
  })

  it('unwraps IPv4-mapped IPv6 addresses and joins repeated headers', () => {
    expect(resolveClientIp({ socketIp: '::ffff:127.0.0.1' })).toBe('127.0.0.1')
    expect(resolveClientIp({ socketIp: '::ffff:127.0.0.1', forwardedFor: ['203.0.113.9', '127.0.0.1'], trustProxy: 'loopback' })).toBe('203.0.113.9')
  })

  it('asks the function about every hop but the left-most address, which is the client whatever the answer', () => {
    const seen: string[] = []
    const trustEveryHop = (address: string): boolean => {
      seen.push(address)
      return true
    }
    const ip = resolveClientIp({ socketIp, forwardedFor, trustProxy: trustEveryHop })
    expect(ip).toBe('203.0.113.7')
    expect(seen).toEqual(['10.0.0.2', '198.51.100.1'])
  })

  it('never returns a forged non-address', () => {
    expect(resolveClientIp({ socketIp, forwardedFor: `${'x'.repeat(200)}, 198.51.100.1`, trustProxy: true })).toBe('198.51.100.1')
  })

  it('rejects invalid trust settings up front', () => {
    expect(() => compileTrustProxy(['not-an-ip'])).toThrow(AuditKitError)
    expect(() => compileTrustProxy(['10.0.0.0/99'])).toThrow(/prefix/)
    expect(() => compileTrustProxy(-1)).toThrow(/hop count/)
  })

  it('rejects each kind of bad trust setting with INVALID_OPTIONS', () => {
    const invalidOptions = expect.objectContaining({ code: 'INVALID_OPTIONS' })
    expect(() => compileTrustProxy(['not-an-ip'])).toThrowError(invalidOptions)
    expect(() => compileTrustProxy(-1)).toThrowError(invalidOptions)
    expect(() => compileTrustProxy(1.5)).toThrowError(invalidOptions)
    for (const prefix of ['33', '-1', '8.5', 'x']) expect(() => compileTrustProxy([`10.0.0.0/${prefix}`])).toThrowError(invalidOptions)
    expect(() => compileTrustProxy(['2001:db8::/129'])).toThrowError(invalidOptions)
  })

  it('rejects a CIDR with an empty or non-decimal prefix instead of reading it as /0 and trusting every address', () => {
    const invalidOptions = expect.objectContaining({ code: 'INVALID_OPTIONS' })
    for (const entry of ['10.0.0.1/', '10.0.0.1/ ', '10.0.0.0/0x8', '10.0.0.0/1e1', '10.0.0.0/+8'])
      expect(() => compileTrustProxy([entry])).toThrowError(invalidOptions)
  })

  it('accepts the whole prefix range of each family, /0 included', () => {
    expect(compileTrustProxy(['0.0.0.0/0'])('203.0.113.7', 0)).toBe(true)
    expect(compileTrustProxy(['10.0.0.0/32'])('10.0.0.0', 0)).toBe(true)
    expect(compileTrustProxy(['10.0.0.0/32'])('10.0.0.1', 0)).toBe(false)
    expect(compileTrustProxy(['2001:db8::/64'])('2001:db8::5', 0)).toBe(true)
    expect(compileTrustProxy(['2001:db8::/128'])('2001:db8::5', 0)).toBe(false)
  })

  it('reads a comma-separated string with spaces and empty entries', () => {
    const isTrusted = compileTrustProxy(' loopback , linklocal,, 192.0.2.1 ,')
    expect(isTrusted('127.0.0.1', 0)).toBe(true)
    expect(isTrusted('169.254.1.1', 0)).toBe(true)
    expect(isTrusted('fe80::1', 0)).toBe(true)
    expect(isTrusted('192.0.2.1', 0)).toBe(true)
    expect(isTrusted('192.0.2.2', 0)).toBe(false)
    expect(compileTrustProxy(['10.0.0.0/8', ''])('10.1.2.3', 0)).toBe(true)
  })

  it('does not trust, and does not throw on, a socket address that is not an IP address', () => {
    expect(compileTrustProxy('loopback')('not-an-ip', 0)).toBe(false)
    expect(compileTrustProxy('loopback')('', 0)).toBe(false)
    expect(resolveClientIp({ socketIp: 'not-an-ip', forwardedFor, trustProxy: 'loopback' })).toBe('not-an-ip')
  })

  it('skips empty entries in X-Forwarded-For', () => {
    expect(resolveClientIp({ socketIp, forwardedFor: '203.0.113.7, ,198.51.100.1,', trustProxy: 2 })).toBe('203.0.113.7')
    expect(resolveClientIp({ socketIp, forwardedFor: ' , ', trustProxy: true })).toBe('10.0.0.2')
  })

  it('is undefined without a socket address', () => {
    expect(resolveClientIp({ socketIp: undefined, forwardedFor })).toBeUndefined()
    expect(resolveClientIp({ socketIp: '', forwardedFor, trustProxy: true })).toBeUndefined()
  })
})
