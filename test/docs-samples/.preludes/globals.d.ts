// The host app's own names that the docs' samples use without defining them, as any app would have them.
// Only the app's side is declared here: everything AuditKit provides must come from the samples' imports
// (or a prelude's), so that a sample whose import or option is wrong fails.

// A type alias, not an interface: `before()`/`after()` take a `JsonValue`, which an interface's values are not
// assignable to (see the report on core's JsonValue).
type DocsProject = {
  id: string
  name: string
  description?: string
}

interface DocsUser {
  id: string
  name: string
  email: string
  isAdmin: boolean
  workspaceId: string
}

/** The app's own project repository. */
declare const projects: {
  get(id: string): DocsProject
  create(input: unknown): DocsProject
  update(id: string, input: unknown): DocsProject
  archive(id: string): DocsProject
}

/** The app's own session lookup. */
declare function userFromToken(authorization: string | null): Promise<DocsUser | null>

/** An audit logger made by `createAuditLogger` (samples that show its creation make their own). */
declare const logger: import('@auditkit/core').AuditLogger
/** The app's admin check, as README.md and docs/admin-api.md show it. */
declare const authorize: import('@auditkit/core').AuthorizeAdmin

// What the app's authentication middleware attaches (Passport's `req.user`; an API-key middleware's `req.apiKey`).
declare namespace Express {
  interface Request {
    user?: { id: string; sub: string; name: string; email: string; workspaceId: string; isAdmin: boolean }
    apiKey?: { id: string; label: string }
  }
}
