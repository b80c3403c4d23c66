// Context of a Hono fragment.
import { Hono } from 'hono'
import { auditAdminApp, auditMiddleware } from '@auditkit/hono'
declare const app: import('hono').Hono
declare const old: DocsProject
declare const updated: DocsProject
declare function authentication(c: import('hono').Context, next: () => Promise<void>): Promise<void>
declare function preview(): unknown
declare function report(): string
