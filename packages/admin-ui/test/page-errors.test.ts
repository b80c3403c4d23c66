// The built page (dist/) in Debian's Chromium against a real host app: the admin routes mounted behind the host's own
// login, over a real SQLite store. Checks that an API answer the page cannot use is shown as an error, never as an
// empty log, empty settings or a download that "started".
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuditAdmin, createAuditLogger, serveNodeRequest, type AuditLogger } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { launchChromium } from '../../../test/e2e/chromium.js'
import { indexHtmlPath } from '../index.js'

const BASE = '/admin/audit'
const SESSION = 'host_session'

let dir: string
let logger: AuditLogger
let server: Server
let origin: string
let browser: Browser
/** What the host answers a request without a session: its login redirect (`redirect`), or nothing of its own (`api`: the admin's authorize answers 401). */
let hostMode: 'redirect' | 'api' = 'redirect'

beforeAll(async () => {
  if (!existsSync(indexHtmlPath)) throw new Error('Build the page first: pnpm --filter @auditkit/admin-ui build')
  dir = mkdtempSync(join(tmpdir(), 'auditkit-admin-ui-errors-'))
  const store = createSqliteStore({ path: join(dir, 'audit.db') })
  await store.init()
  logger = createAuditLogger({ store })
  for (let i = 0; i < 5; i++) {
    await logger.record(
      {
        tenantId: 'acme',
        actor: { type: 'user', id: 'u_ayaka', name: 'Ayaka Sato' },
        action: 'project_created',
        resource: { type: 'project', id: `prj_${i}`, name: `Project ${i}` },
        outcome: i === 0 ? 'failure' : 'success',
      },
      { delivery: 'await' },
    )
  }
  const admin = createAuditAdmin({
    store,
    logger,
    basePath: BASE,
    authorize: (request) =>
      (request.headers.get('cookie') ?? '').includes(`${SESSION}=ok`) ? { tenantId: 'acme', actor: { type: 'user', id: 'u_admin', name: 'Admin' } } : null,
  })
  server = createServer((req, res) => {
    const signedIn = (req.headers.cookie ?? '').includes(`${SESSION}=ok`)
    // A common host setup: the admin area sits behind the app's login, which redirects to its sign-in page.
    if (hostMode === 'redirect' && !signedIn && req.url?.startsWith(`${BASE}/`)) {
      res.writeHead(302, { location: '/login' }).end()
      return
    }
    if (req.url === '/login') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Sign in</title><form>Sign in</form>')
      return
    }
    void serveNodeRequest(admin, req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  server?.closeAllConnections()
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  await logger?.close()
  await logger?.store.close()
  rmSync(dir, { recursive: true, force: true })
})

async function signedInPage(hash = ''): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale: 'en-US', timezoneId: 'Asia/Tokyo', acceptDownloads: true })
  await context.addCookies([{ name: SESSION, value: 'ok', url: origin }])
  const page = await context.newPage()
  await page.goto(`${origin}${BASE}/${hash}`)
  return { context, page }
}

const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 100 })

describe('admin page: answers it cannot use', () => {
  it("says the session ended when the host's login redirect answers the API calls, instead of showing an empty log", async () => {
    hostMode = 'redirect'
    const { context, page } = await signedInPage()
    try {
      await poll(() => page.locator('tr.log-row').count()).toBe(5)
      // The host's session ends: every API call is now redirected to its sign-in page (200, HTML).
      await context.clearCookies()
      await page.selectOption('#filter-outcome', 'success')
      const alert = page.getByRole('alert').filter({ hasText: 'session' })
      await alert.first().waitFor({ timeout: 15_000 })
      expect(await page.getByTestId('empty-state').count()).toBe(0)
    } finally {
      await context.close()
    }
  })

  it('does not show empty SIEM settings when the settings call lands on the login page', async () => {
    hostMode = 'redirect'
    const { context, page } = await signedInPage()
    try {
      await poll(() => page.locator('tr.log-row').count()).toBe(5)
      await context.clearCookies()
      // The SIEM tab loads its settings when it opens: the answer is now the host's sign-in page.
      await page.getByRole('tab', { name: 'SIEM integration' }).click()
      await page.getByRole('alert').filter({ hasText: 'session' }).first().waitFor({ timeout: 15_000 })
      // No form that looks like "nothing configured" (and could be saved over the real settings).
      expect(await page.locator('#siem-endpoint').count()).toBe(0)
    } finally {
      await context.close()
    }
  })

  it('shows why a CSV download is refused (session expired) instead of saying it started', async () => {
    hostMode = 'api'
    const { context, page } = await signedInPage()
    try {
      await poll(() => page.locator('tr.log-row').count()).toBe(5)
      await context.clearCookies()
      await page.getByRole('button', { name: 'Download CSV' }).click()
      const dialog = page.getByTestId('export-dialog')
      const downloads: string[] = []
      page.on('download', (download) => downloads.push(download.suggestedFilename()))
      await dialog.getByRole('button', { name: 'Download', exact: true }).click()
      await dialog.getByRole('alert').getByText('You are not signed in, or your session expired.').waitFor({ timeout: 15_000 })
      expect(await dialog.getByText('The download has started.').count()).toBe(0)
      expect(downloads).toEqual([])

      // Signed in again: the same dialog downloads the file.
      await context.addCookies([{ name: SESSION, value: 'ok', url: origin }])
      const [download] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('button', { name: 'Download', exact: true }).click()])
      expect(download.suggestedFilename()).toMatch(/^audit-log_.*\.csv$/)
      expect(await download.failure()).toBeNull()
      await dialog.getByText('The download has started.').waitFor()
    } finally {
      await context.close()
    }
  })
})
