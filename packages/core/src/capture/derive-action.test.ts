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
    ['PUT', '/projects/:projectId', { projectId: 'p1' }, 'project_updated', { type: 'project', id: 'p1' }],
    ['HEAD', '/projects', {}, 'project_viewed', { type: 'project' }],
    ['OPTIONS', '/projects', {}, 'project_viewed', { type: 'project' }],
    ['POST', '/projects/:projectId', { projectId: 'p1' }, 'project_updated', { type: 'project', id: 'p1' }],
    ['PATCH', '/projects/{projectId}', { projectId: 'p1' }, 'project_updated', { type: 'project', id: 'p1' }],
    ['PATCH', '/projects/:projectId(\\d+)', { projectId: '7' }, 'project_updated', { type: 'project', id: '7' }],
    ['PUT', '/account/password', {}, 'account_password_updated', { type: 'account' }],
    ['GET', '/health', {}, 'health_viewed', { type: 'health' }],
    ['POST', '/users/:userId/reset', { userId: 'u1' }, 'user_reset', { type: 'user', id: 'u1' }],
    ['GET', '/users/:userId/sessions', { userId: 'u1' }, 'session_viewed', { type: 'session' }],
    ['GET', '/keys/ed25519', {}, 'key_ed25519_viewed', { type: 'key' }],
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

  it('drops an api or version prefix only at the start, and never keeps it as a target', () => {
    expect(deriveOperation({ method: 'DELETE', path: '/x', route: '/api/v1/projects/:id', params: { id: 'p2' } }).targets).toEqual([])
    expect(deriveOperation({ method: 'GET', path: '/x', route: '/v10/projects', params: {} })).toEqual({ action: 'project_viewed', resource: { type: 'project' }, targets: [] })
    expect(deriveOperation({ method: 'GET', path: '/x', route: '/vx/projects', params: {} }).targets).toEqual([{ type: 'vx' }])
    expect(deriveOperation({ method: 'GET', path: '/x', route: '/openapi', params: {} }).action).toBe('openapi_viewed')
    expect(deriveOperation({ method: 'PATCH', path: '/x', route: '/integrations/:id/api', params: { id: 'i1' } }).action).toBe('integration_api_updated')
  })

  it('skips a route parameter that does not follow a collection (a tenant prefix)', () => {
    const op = deriveOperation({ method: 'GET', path: '/acme/projects', route: '/:tenantId/projects', params: { tenantId: 'acme' } })
    expect(op).toEqual({ action: 'project_viewed', resource: { type: 'project' }, targets: [] })
  })

  it('names a singular segment in the middle of a route as a resource, not as an attribute', () => {
    const op = deriveOperation({ method: 'GET', path: '/x', route: '/projects/:projectId/board/columns', params: { projectId: 'p1' } })
    expect(op).toEqual({ action: 'column_viewed', resource: { type: 'column' }, targets: [{ type: 'project', id: 'p1' }, { type: 'board' }] })
  })

  it('leaves out the id key of a resource without one, and falls back to "resource" for a path without a usable name', () => {
    expect(deriveOperation({ method: 'POST', path: '/projects', route: '/projects', params: {} })).toStrictEqual({ action: 'project_created', resource: { type: 'project' }, targets: [] })
    expect(deriveOperation({ method: 'GET', path: '/' })).toStrictEqual({ action: 'resource_viewed', resource: { type: 'resource' }, targets: [] })
    expect(deriveOperation({ method: 'GET', path: '/日本' })).toStrictEqual({ action: 'resource_viewed', resource: { type: 'resource' }, targets: [] })
    // A verb the route names stays, `create` too; only the method's own `created` becomes `updated` on an item.
    expect(deriveOperation({ method: 'POST', path: '/projects/p1/create', route: '/projects/:id/create', params: { id: 'p1' } }).action).toBe('project_created')
    expect(deriveOperation({ method: 'POST', path: '/projects/p1', route: '/projects/:id', params: { id: 'p1' } }).action).toBe('project_updated')
    // A parameter that matched nothing (Hono's `:path{.*}` on `/files/`) names no item, as a missing one.
    expect(deriveOperation({ method: 'POST', path: '/files/', route: '/files/:path{.*}', params: { path: '' } })).toStrictEqual({ action: 'file_created', resource: { type: 'file' }, targets: [] })
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
    // Without a route, numbers and long tokens are ids after a singular segment too; a short word or a word that merely
    // starts or ends with digits is a name.
    expect(deriveOperation({ method: 'PATCH', path: '/team/12345' })).toEqual({ action: 'team_updated', resource: { type: 'team', id: '12345' }, targets: [] })
    expect(deriveOperation({ method: 'PATCH', path: '/team/b' })).toEqual({ action: 'team_b_updated', resource: { type: 'team' }, targets: [] })
    expect(deriveOperation({ method: 'PATCH', path: '/team/p1' })).toEqual({ action: 'team_p1_updated', resource: { type: 'team' }, targets: [] })
    expect(deriveOperation({ method: 'GET', path: '/3d-models' }).resource).toEqual({ type: '3d_model' })
    expect(deriveOperation({ method: 'POST', path: '/oauth2/token' }).resource).toEqual({ type: 'oauth2' })
    // A colon is only a parameter in a route pattern; in a request path it is part of the name.
    expect(deriveOperation({ method: 'GET', path: '/notes/:draft' })).toEqual({ action: 'note_draft_viewed', resource: { type: 'note' }, targets: [] })
    // Two collections in a row: the second is not an item of the first.
    expect(deriveOperation({ method: 'GET', path: '/users/roles/permissions' })).toEqual({
      action: 'permission_viewed',
      resource: { type: 'permission' },
      targets: [{ type: 'user' }, { type: 'role' }],
    })
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
    ['status', 'status'],
    ['address', 'address'],
    ['analysis', 'analysis'],
    ['chests', 'chest'],
    ['diesel-engines', 'diesel_engine'],
    ['apiKeys', 'api_key'],
    ['api--keys', 'api_key'],
    ['-api-keys-', 'api_key'],
    // Words ending in e before -s, and plurals the rules alone would cut wrong.
    ['warehouses', 'warehouse'],
    ['houses', 'house'],
    ['clauses', 'clause'],
    ['sizes', 'size'],
    ['prizes', 'prize'],
    ['buses', 'bus'],
    ['buzzes', 'buzz'],
    ['focuses', 'focus'],
    ['aliases', 'alias'],
    ['analyses', 'analysis'],
    ['caches', 'cache'],
    ['product-caches', 'product_cache'],
    ['matches', 'match'],
    ['quizzes', 'quiz'],
    ['uses', 'use'],
    ['menus', 'menu'],
    ['people', 'person'],
    ['licenses', 'license'],
    ['databases', 'database'],
    ['addresses', 'address'],
    ['indices', 'index'],
    ['search-indices', 'search_index'],
    ['vertices', 'vertex'],
    ['criteria', 'criterion'],
    ['diagnoses', 'diagnosis'],
    ['movies', 'movie'],
    ['cookies', 'cookie'],
    ['series', 'series'],
    ['time-series', 'time_series'],
    ['species', 'species'],
    ['news', 'news'],
    ['heroes', 'hero'],
    ['knives', 'knife'],
    ['shelves', 'shelf'],
    ['lenses', 'lens'],
    ['gases', 'gas'],
    // Rules, not exceptions: these end like the irregular ones.
    ['stories', 'story'],
    ['shoes', 'shoe'],
    ['leaves', 'leave'],
    ['archives', 'archive'],
    ['drives', 'drive'],
    ['purchases', 'purchase'],
    ['doses', 'dose'],
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
    ['edit', 'edited'],
    ['archived', 'archived'],
  ])('pastTense(%s) = %s', (verb, past) => expect(pastTense(verb)).toBe(past))
})
