import type { Actor, AuditRequestContext, JsonValue } from '@auditkit/core'

/**
 * The fixture app every adapter harness serves for `runAdapterContract`. It is described here once, framework-free;
 * a harness only wires it into its framework:
 *
 * 1. parse JSON request bodies;
 * 2. mount the adapter's audit middleware / interceptor FIRST (so that requests refused by authentication are
 *    recorded too), with
 *    - actor: the principal below (Express/Nest: put it on `req.user` and keep the default resolver; Hono: resolve
 *      it from the context), `null` when anonymous,
 *    - tenant: `fixtureTenant(<x-tenant-id header>, principal)`,
 *    - `delivery` and `recordReads` as given, and the framework's trust-proxy setting from `trustProxy`
 *      (`true` = trust every hop of `X-Forwarded-For`; `false` = use the socket address);
 * 3. authenticate: `authenticateFixture(<authorization header>)`; `'invalid'` answers 401 `{ error }` at once;
 * 4. register every route of `createFixtureRoutes()` with its method and path (`:param` syntax), calling `handle`
 *    with the params, the parsed body, the principal and the request's audit context, and answering (once its
 *    promise settles, when it returns one) `status` with `body` as JSON (no body when `body` is undefined). `handle` throws for `POST /boom`: let the
 *    error reach the framework's own error handling (which answers 500);
 * 5. leave unknown routes to the framework's 404.
 *
 * Routes (`FIXTURE_ROUTES`):
 * - `GET /projects` 200 — a read (not recorded unless `recordReads`);
 * - `GET /projects/:projectId/export` 200 — a sensitive read: the handler forces it into the audit log;
 * - `GET /projects/:projectId/download` 200 — a read the handler forces only after it has answered
 *   (`LATE_FORCE_DELAY_MS` later, e.g. once a download was confirmed): it must be recorded all the same;
 * - `POST /projects` 201 — creates a project from `{ name }`; sets the resource id and name on the audit record;
 * - `PATCH /projects/:projectId` 200 — renames from `{ name, password }`; records before/after (the `password`
 *   field must come out redacted);
 * - `DELETE /projects/:projectId` 204;
 * - `POST /projects/:projectId/override` 200 — overrides action, resource, targets and metadata;
 * - `POST /projects/:projectId/skip` 200 — the handler skips the audit record;
 * - `POST /forbidden` 403 — an authenticated caller is refused;
 * - `POST /needs-auth` 401 without an Authorization header, else 200;
 * - `POST /boom` — throws (the framework answers 500);
 * - `POST /validate` 400 unless the body has a string `name` (a validation error), else 200;
 * - `POST /jobs/run` 202 — a background job run, recorded as the system actor `FIXTURE_SYSTEM_ACTOR`;
 * - `POST /projects/:projectId/publish` 200 — a slow handler: answers `SLOW_HANDLER_MS` later (a client may leave
 *   before).
 */

/** An authenticated caller: an Actor plus the tenant it belongs to. */
export interface FixturePrincipal extends Actor {
  tenantId: string
}

export const FIXTURE_TENANT_HEADER = 'x-tenant-id'
export const FIXTURE_DEFAULT_TENANT = 'acme'

/** Bearer tokens the fixture app accepts. */
export const FIXTURE_TOKENS = {
  user: 'fixture-user-token',
  apiKey: 'fixture-api-key-token',
} as const

export const FIXTURE_PRINCIPALS: Readonly<Record<string, FixturePrincipal>> = {
  [FIXTURE_TOKENS.user]: { type: 'user', id: 'user_ada', name: 'Ada Admin', email: 'ada@example.com', tenantId: FIXTURE_DEFAULT_TENANT },
  [FIXTURE_TOKENS.apiKey]: { type: 'api_key', id: 'key_ci', name: 'CI deploy key', tenantId: FIXTURE_DEFAULT_TENANT },
}

/** How long after answering `GET /projects/:projectId/download` its handler forces the read into the audit log. */
export const LATE_FORCE_DELAY_MS = 50

/** How long `POST /projects/:projectId/publish` takes to answer. */
export const SLOW_HANDLER_MS = 400

const slowHandlerWaiters: (() => void)[] = []

/** Resolves when the slow handler next starts: a client can then leave while it runs (not before it was reached). */
export function slowHandlerStarts(): Promise<void> {
  return new Promise((resolve) => slowHandlerWaiters.push(resolve))
}

export const FIXTURE_SYSTEM_ACTOR: Actor = { type: 'system', id: 'scheduler', name: 'Nightly jobs' }

/** `null` without credentials, `'invalid'` for an unknown or malformed token (answer 401), else the principal. */
export function authenticateFixture(authorization: string | null | undefined): FixturePrincipal | null | 'invalid' {
  if (!authorization) return null
  const token = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1]
  return (token !== undefined ? FIXTURE_PRINCIPALS[token] : undefined) ?? 'invalid'
}

/** The tenant of a request: the `x-tenant-id` header (so each contract case gets its own chain), else the principal's. */
export function fixtureTenant(header: string | null | undefined, principal: FixturePrincipal | null | undefined): string {
  return header || principal?.tenantId || FIXTURE_DEFAULT_TENANT
}

/** The principal as an Actor (without `tenantId`), or null when anonymous. */
export function fixtureActor(principal: FixturePrincipal | null | undefined): Actor | null {
  if (!principal) return null
  const { tenantId: _tenant, ...actor } = principal
  return actor
}

export interface FixtureRequest {
  params: Record<string, string | undefined>
  body: unknown
  principal: FixturePrincipal | null
  audit: AuditRequestContext
}

export interface FixtureResponse {
  status: number
  body?: JsonValue
}

export type FixtureMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE'

export interface FixtureRoute {
  method: FixtureMethod
  path: string
  handle(request: FixtureRequest): FixtureResponse | Promise<FixtureResponse>
}

interface Project {
  id: string
  name: string
  password: string
}

const nameOf = (body: unknown): string | undefined => {
  const name = body !== null && typeof body === 'object' ? (body as { name?: unknown }).name : undefined
  return typeof name === 'string' ? name : undefined
}

/** The routes of the fixture app, each call with its own in-memory projects. */
export function createFixtureRoutes(): FixtureRoute[] {
  const projects = new Map<string, Project>()
  let nextId = 1
  const projectOf = (id: string): Project => {
    let project = projects.get(id)
    if (!project) {
      project = { id, name: `Project ${id}`, password: 'stored-secret' }
      projects.set(id, project)
    }
    return project
  }
  return [
    {
      method: 'GET',
      path: '/projects',
      handle: () => ({ status: 200, body: [...projects.values()].map(({ id, name }) => ({ id, name })) }),
    },
    {
      method: 'GET',
      path: '/projects/:projectId/export',
      handle: ({ params, audit }) => {
        audit.force()
        const project = projectOf(params.projectId ?? '')
        return { status: 200, body: { id: project.id, name: project.name } }
      },
    },
    {
      method: 'GET',
      path: '/projects/:projectId/download',
      handle: ({ params, audit }) => {
        setTimeout(() => audit.force(), LATE_FORCE_DELAY_MS)
        return { status: 200, body: { id: params.projectId ?? '' } }
      },
    },
    {
      method: 'POST',
      path: '/projects',
      handle: ({ body, audit }) => {
        const project = { id: `p_${nextId++}`, name: nameOf(body) ?? 'Untitled', password: 'initial-secret' }
        projects.set(project.id, project)
        audit.set({ resource: { id: project.id, name: project.name } })
        return { status: 201, body: { id: project.id, name: project.name } }
      },
    },
    {
      method: 'PATCH',
      path: '/projects/:projectId',
      handle: ({ params, body, audit }) => {
        const project = projectOf(params.projectId ?? '')
        const before = { ...project }
        const password = body !== null && typeof body === 'object' ? (body as { password?: unknown }).password : undefined
        Object.assign(project, { name: nameOf(body) ?? project.name }, typeof password === 'string' ? { password } : {})
        audit.before(before).after({ ...project })
        return { status: 200, body: { id: project.id, name: project.name } }
      },
    },
    {
      method: 'DELETE',
      path: '/projects/:projectId',
      handle: ({ params }) => {
        projects.delete(params.projectId ?? '')
        return { status: 204 }
      },
    },
    {
      method: 'POST',
      path: '/projects/:projectId/override',
      handle: ({ params, audit }) => {
        audit.set({
          action: 'project_archived',
          resource: { type: 'project', id: params.projectId ?? '', name: 'Archived by override' },
          targets: [{ type: 'user', id: 'user_bob', name: 'Bob' }],
          metadata: { reason: 'contract' },
        })
        return { status: 200, body: { archived: true } }
      },
    },
    {
      method: 'POST',
      path: '/projects/:projectId/skip',
      handle: ({ audit }) => {
        audit.skip()
        return { status: 200, body: { skipped: true } }
      },
    },
    { method: 'POST', path: '/forbidden', handle: () => ({ status: 403, body: { error: { code: 'FORBIDDEN', message: 'Not allowed' } } }) },
    {
      method: 'POST',
      path: '/needs-auth',
      handle: ({ principal }): FixtureResponse =>
        principal ? { status: 200, body: { ok: true } } : { status: 401, body: { error: { code: 'UNAUTHENTICATED', message: 'Sign in' } } },
    },
    {
      method: 'POST',
      path: '/boom',
      handle: () => {
        throw new Error('fixture handler failure')
      },
    },
    {
      method: 'POST',
      path: '/validate',
      handle: ({ body }): FixtureResponse =>
        nameOf(body) === undefined
          ? { status: 400, body: { error: { code: 'INVALID_BODY', message: 'name must be a string' } } }
          : { status: 200, body: { ok: true } },
    },
    // A secret in the URL (an invitation link): its value must stay out of the event.
    { method: 'POST', path: '/invitations/:token/accept', handle: () => ({ status: 200, body: { accepted: true } }) },
    {
      method: 'POST',
      path: '/jobs/run',
      handle: ({ audit }) => {
        audit.set({ actor: FIXTURE_SYSTEM_ACTOR, action: 'job_run_started', resource: { type: 'job', id: 'nightly_cleanup' } })
        return { status: 202, body: { started: true } }
      },
    },
    {
      method: 'POST',
      path: '/projects/:projectId/publish',
      handle: async ({ params }) => {
        for (const started of slowHandlerWaiters.splice(0)) started()
        await new Promise((resolve) => setTimeout(resolve, SLOW_HANDLER_MS))
        return { status: 200, body: { published: params.projectId ?? '' } }
      },
    },
  ]
}
