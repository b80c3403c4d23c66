import { describe, expect, it } from 'vitest'
import { deriveOperation, pastTense, singularize } from './derive-action.js'

describe('deriveOperation', () => {
  const cases: [string, string, Record<string, string>, string, object][] = [
    ['POST', '/projects', {}, 'project_created', { type: 'project' }],
    ['PATCH', '/projects/:projectId', { projectId: 'p1' }, 'project_updated', { type: 'project', id: 'p1' }],
    ['DELETE', '/api/v1/projects/:id', { id: 'p2' }, 'project_deleted', { type: 'project', id: 'p2' }],
    ['POST', '/api-keys/:keyId/rotate', { keyId: 'k1' }, 'api_key_rotated', { type: 'api_key', id: 'k1' }],
    ['PATCH', '/members/:memberId/role', { memberId: 'm1' }, 'member_role_updated', { type: 'member', id: 'm1' }],
    ['POST', '/members/invite', {}, 'member_invited', { type: 'member' }],
    ['POST', '/workspaces/:ws/projects', { ws: 'w1' }, 'project_created', { type: 'project' }],
    ['GET', '/projects', {}, 'project_viewed', { type: 'project' }],
  ]
  it.each(cases)('%s %s → %s', (method, route, params, action, resource) => {
    const op = deriveOperation({ method, path: route, route, params })
    expect(op.action).toBe(action)
    expect(op.resource).toEqual(resource)
  })

  it('skips wildcards, bare or named (Express 5 `*path`)', () => {
    expect(deriveOperation({ method: 'POST', path: '/files/a/b.txt', route: '/files/*path', params: {} })).toMatchObject({ action: 'file_created', resource: { type: 'file' } })
    expect(deriveOperation({ method: 'DELETE', path: '/files/a', route: '/files/*', params: {} })).toMatchObject({ action: 'file_deleted' })
  })

  it('reads the id of a parameter that shares its segment (`:invoiceId.pdf`, `:itemId-:variant`), also where the router names it after the whole segment', () => {
    const invoice = { action: 'invoice_deleted', resource: { type: 'invoice', id: 'i1' } }
    expect(deriveOperation({ method: 'DELETE', path: '/invoices/i1.pdf', route: '/invoices/:invoiceId.pdf', params: { invoiceId: 'i1' } })).toMatchObject(invoice)
    expect(deriveOperation({ method: 'DELETE', path: '/invoices/i1.pdf', route: '/invoices/:invoiceId.pdf', params: { 'invoiceId.pdf': 'i1' } })).toMatchObject(invoice)
    const item = deriveOperation({ method: 'PATCH', path: '/items/i1-red', route: '/items/:itemId-:variant', params: { itemId: 'i1', variant: 'red' } })
    expect(item).toMatchObject({ action: 'item_updated', resource: { type: 'item', id: 'i1' } })
  })

  it('keeps parent resources as targets', () => {
    const op = deriveOperation({ method: 'DELETE', path: '/x', route: '/projects/:p/members/:m', params: { p: 'p1', m: 'm1' } })
    expect(op).toEqual({ action: 'member_deleted', resource: { type: 'member', id: 'm1' }, targets: [{ type: 'project', id: 'p1' }] })
  })

  it('treats id-like path segments as ids when no route matched', () => {
    const op = deriveOperation({ method: 'DELETE', path: '/projects/0193b3a4-1111-7000-8000-000000000000' })
    expect(op.resource).toEqual({ type: 'project', id: '0193b3a4-1111-7000-8000-000000000000' })
  })

  it('treats a short segment with a digit after a collection as an id when no route matched, not as part of the action', () => {
    expect(deriveOperation({ method: 'PATCH', path: '/projects/p1' })).toEqual({ action: 'project_updated', resource: { type: 'project', id: 'p1' }, targets: [] })
    // A slug between two collections names an item of the first (a request refused before routing, e.g. a 401).
    expect(deriveOperation({ method: 'POST', path: '/workspaces/acme/projects' })).toEqual({
      action: 'project_created',
      resource: { type: 'project' },
      targets: [{ type: 'workspace', id: 'acme' }],
    })
    expect(deriveOperation({ method: 'DELETE', path: '/workspaces/acme/members/m_7' })).toMatchObject({ action: 'member_deleted', targets: [{ type: 'workspace', id: 'acme' }] })
    // A verb or an attribute at the end stays one.
    expect(deriveOperation({ method: 'POST', path: '/projects/import' })).toMatchObject({ action: 'project_imported', resource: { type: 'project' } })
    expect(deriveOperation({ method: 'POST', path: '/workspaces/ws1/api-keys/k7/rotate' })).toEqual({
      action: 'api_key_rotated',
      resource: { type: 'api_key', id: 'k7' },
      targets: [{ type: 'workspace', id: 'ws1' }],
    })
    // Verbs and attributes have no digit; a digit elsewhere (not after a collection) stays a name.
    expect(deriveOperation({ method: 'POST', path: '/projects/import' }).action).toBe('project_imported')
    expect(deriveOperation({ method: 'POST', path: '/oauth2/token' }).resource.id).toBeUndefined()
    // Not valid percent-encoding: kept as written rather than failing the request's event.
    expect(deriveOperation({ method: 'PATCH', path: '/projects/%E0%A4' }).resource).toEqual({ type: 'project', id: '%E0%A4' })
  })
})

describe('methods outside the usual ones', () => {
  it('gives a valid snake_case action for any token Node accepts as a method (M-SEARCH, PROPFIND)', () => {
    expect(deriveOperation({ method: 'M-SEARCH', path: '/resources' }).action).toBe('resource_m_search_requested')
    expect(deriveOperation({ method: 'PROPFIND', path: '/files/f1' }).action).toBe('file_propfind_requested')
  })
})

describe('inflection', () => {
  it.each([
    ['api-keys', 'api_key'],
    ['categories', 'category'],
    ['statuses', 'status'],
    ['boxes', 'box'],
    ['media', 'media'],
  ])('singularize(%s) = %s', (plural, singular) => expect(singularize(plural)).toBe(singular))
  it.each([
    ['rotate', 'rotated'],
    ['revoke', 'revoked'],
    ['copy', 'copied'],
    ['stop', 'stopped'],
    ['publish', 'published'],
    ['skip', 'skipped'],
    ['ship', 'shipped'],
    ['open', 'opened'],
    ['override', 'overridden'],
    ['invite', 'invited'],
    ['archive', 'archived'],
    ['lock', 'locked'],
    ['commit', 'committed'],
    ['transfer', 'transferred'],
    ['unpin', 'unpinned'],
    ['cleanup', 'cleaned_up'],
    ['rollback', 'rolled_back'],
    ['signup', 'signed_up'],
    ['checkout', 'checked_out'],
    ['sync', 'synced'],
    // Irregular verbs that route segments use, and prefixed verbs that keep their base's doubling.
    ['go', 'gone'],
    ['do', 'done'],
    ['win', 'won'],
    ['cut', 'cut'],
    ['quit', 'quit'],
    ['bind', 'bound'],
    ['unbind', 'unbound'],
    ['show', 'shown'],
    ['throw', 'thrown'],
    ['unstar', 'unstarred'],
    ['unban', 'unbanned'],
    ['resubmit', 'resubmitted'],
    ['render', 'rendered'],
    ['unlock', 'unlocked'],
  ])('pastTense(%s) = %s', (verb, past) => expect(pastTense(verb)).toBe(past))
})
