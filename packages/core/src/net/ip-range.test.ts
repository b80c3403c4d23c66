import { describe, expect, it } from 'vitest'
import { parseIpRange } from './ip-range.js'

describe('parseIpRange', () => {
  it('reads an address as a range of one, and a CIDR range with its prefix', () => {
    expect(parseIpRange('203.0.113.7')).toEqual({ address: '203.0.113.7', type: 'ipv4', prefix: 32 })
    expect(parseIpRange('10.0.0.0/8')).toEqual({ address: '10.0.0.0', type: 'ipv4', prefix: 8 })
    expect(parseIpRange('2001:db8::/32')).toEqual({ address: '2001:db8::', type: 'ipv6', prefix: 32 })
    expect(parseIpRange('0.0.0.0/0')).toEqual({ address: '0.0.0.0', type: 'ipv4', prefix: 0 })
    expect(parseIpRange('::/128')).toEqual({ address: '::', type: 'ipv6', prefix: 128 })
  })

  it('answers undefined when the part before "/" is no IP address (a host name, a typo)', () => {
    for (const entry of ['collector.example.com', '*.example.com', '', '/8', '10.0.0/8', 'loopback']) expect(parseIpRange(entry), entry).toBeUndefined()
  })

  it('refuses every prefix but decimal digits within the family, never reading it as /0', () => {
    for (const entry of ['10.0.0.1/', '10.0.0.1/ ', '10.0.0.1/ 8', '10.0.0.1/0x8', '10.0.0.1/1e1', '10.0.0.1/+8', '10.0.0.1/-1', '10.0.0.1/8.0', '10.0.0.1/33', '10.0.0.0/8/16', '::1/129', '::1/'])
      expect(parseIpRange(entry), entry).toBe('invalid_prefix')
  })
})
