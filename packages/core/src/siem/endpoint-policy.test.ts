import { describe, expect, it } from 'vitest'
import { createEndpointGuard } from './endpoint-policy.js'

describe('endpoint policy', () => {
  it('refuses link-local and cloud metadata addresses by default, in every spelling', async () => {
    const guard = createEndpointGuard()
    for (const host of ['169.254.169.254', '[fd00:ec2::254]', '[::ffff:169.254.169.254]', '[fe80::1]']) {
      expect(() => guard.checkHost(host), host).toThrow(expect.objectContaining({ code: 'ENDPOINT_NOT_ALLOWED' }))
    }
    await expect(guard.resolve('169.254.170.2')).rejects.toMatchObject({ code: 'ENDPOINT_NOT_ALLOWED' })
  })

  it('allows loopback and ordinary hosts by default', async () => {
    const guard = createEndpointGuard()
    expect(await guard.resolve('127.0.0.1')).toEqual({ address: '127.0.0.1', family: 4 })
    expect(await guard.resolve('localhost')).toMatchObject({ address: expect.stringMatching(/^(127\.0\.0\.1|::1)$/) })
    expect(() => guard.checkHost('collector.example.com')).not.toThrow()
  })

  it('checks the resolved addresses against the deny list', async () => {
    const guard = createEndpointGuard({ deny: ['127.0.0.0/8', '::1/128'] })
    await expect(guard.resolve('localhost')).rejects.toMatchObject({ code: 'ENDPOINT_NOT_ALLOWED' })
  })

  it('with an allow list, refuses everything else', async () => {
    const byHost = createEndpointGuard({ allow: ['*.siem.example.com', 'collector.example.com'] })
    expect(() => byHost.checkHost('eu.siem.example.com')).not.toThrow()
    expect(() => byHost.checkHost('collector.example.com')).not.toThrow()
    expect(() => byHost.checkHost('other.example.com')).toThrow(/not on the allow list/)
    const byRange = createEndpointGuard({ allow: ['10.0.0.0/8'] })
    expect(() => byRange.checkHost('10.1.2.3')).not.toThrow()
    await expect(byRange.resolve('127.0.0.1')).rejects.toThrow(/not on the allow list/)
    // Denied ranges win over the allow list.
    expect(() => createEndpointGuard({ allow: ['169.254.0.0/16'] }).checkHost('169.254.169.254')).toThrow(/link-local/)
  })

  it('rejects malformed entries as options errors', () => {
    expect(() => createEndpointGuard({ deny: ['10.0.0.0/99'] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    expect(() => createEndpointGuard({ allow: ['https://x'] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
  })
})
