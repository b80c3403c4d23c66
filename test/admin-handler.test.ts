import { createAuditAdmin } from '@auditkit/core'
import { describe, expect, it } from 'vitest'
import { BASE, describeAdminApi } from './fixtures/admin-http-suite.js'
import { authorizeByToken } from './fixtures/admin-fixture.js'

// The handler itself, through its Fetch interface (what every adapter mounts).
describeAdminApi('admin handler (fetch)', async (options) => {
  const admin = createAuditAdmin({ ...options, basePath: BASE })
  return {
    clientIp: '192.0.2.7',
    request: (path, init) => admin.fetch(new Request(`http://admin.test${BASE}${path}`, init), { ip: '192.0.2.7' }),
    close: async () => {},
  }
})

describe('createAuditAdmin options', () => {
  it('refuses to start without authorize or without a store', () => {
    expect(() => createAuditAdmin({} as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    expect(() => createAuditAdmin({ authorize: authorizeByToken })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
  })
})
