import { readFile } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { AuditKitError } from '../errors.js'
import { PAGE_CSP, withSecurityHeaders } from './http-response.js'

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
}
/** One path segment of a built file: no traversal, no hidden files, no encoded separators. */
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/

export interface StaticUi {
  /** Answers a page file for a path relative to the base (`/`, `/assets/x.js`), or null if it is not one. */
  serve(relativePath: string): Promise<Response | null>
}

/** The built page of `@auditkit/admin-ui`, loaded on first use so that an API-only setup never needs it. */
export async function defaultUiDir(): Promise<string | null> {
  try {
    const ui = (await import('@auditkit/admin-ui')) as { assetsDir?: unknown }
    return typeof ui.assetsDir === 'string' ? ui.assetsDir : null
  } catch {
    return null
  }
}

/**
 * Serves the built admin page from `dir` (files are read once and kept: the bundle is small and immutable).
 * `dir` may be a promise (the default page's location is resolved lazily); null serves no page.
 */
export function createStaticUi(dir: string | Promise<string | null>): StaticUi {
  const cache = new Map<string, Promise<Buffer | null>>()
  const load = (file: string): Promise<Buffer | null> => {
    let entry = cache.get(file)
    if (!entry) {
      entry = Promise.resolve(dir)
        .then((root) => (root === null ? null : readFile(join(root, file))))
        .catch(() => {
          cache.delete(file)
          return null
        })
      cache.set(file, entry)
    }
    return entry
  }

  return {
    async serve(relativePath) {
      const segments = relativePath === '/' ? ['index.html'] : relativePath.slice(1).split('/')
      const ok =
        (segments.length === 1 || (segments.length === 2 && segments[0] === 'assets')) && segments.every((s) => SAFE_NAME.test(s))
      const file = segments.join('/')
      const contentType = CONTENT_TYPES[extname(file)]
      if (!ok || contentType === undefined) return null
      const body = await load(file)
      if (body === null) {
        if (file === 'index.html')
          throw new AuditKitError('NOT_FOUND', 'The admin page is not available: install @auditkit/admin-ui (in this repo: `pnpm --filter @auditkit/admin-ui build`).')
        return null
      }
      const headers = withSecurityHeaders({ 'content-type': contentType }, PAGE_CSP)
      return new Response(new Uint8Array(body), { status: 200, headers })
    },
  }
}
