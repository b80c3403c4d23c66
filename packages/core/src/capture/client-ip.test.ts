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

  it('never returns a forged non-address', () => {
    expect(resolveClientIp({ socketIp, forwardedFor: `${'x'.repeat(200)}, 198.51.100.1`, trustProxy: true })).toBe('198.51.100.1')
  })

  it('rejects invalid trust settings up front', () => {
    expect(() => compileTrustProxy(['not-an-ip'])).toThrow(AuditKitError)
    expect(() => compileTrustProxy(['10.0.0.0/99'])).toThrow(/prefix/)
    expect(() => compileTrustProxy(-1)).toThrow(/hop count/)
  })

  it('is undefined without a socket address', () => {
    expect(resolveClientIp({ socketIp: undefined, forwardedFor })).toBeUndefined()
  })
})
