// The admin page in a real browser (Debian's Chromium through playwright-core) against the demo as `pnpm demo`
// starts it (startDemo: Express, Hono or NestJS; its authorize, SIEM export, signed checkpoints and verify) over
// seeded temp SQLite files, with real OTLP receivers; plus the bare core handler under another mount path.
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parse } from 'csv-parse/sync'
import Database from 'libsql'
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuditAdmin, createAuditLogger, createSealer, serveNodeRequest, uuidv7, type AuditStore, type UnsealedEvent } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { startOtlpReceiver, type OtlpReceiver } from '@auditkit/test-utils'
import { startAdminUiDemo, type AdminUiDemo } from './e2e/admin-ui-backend.js'
import { seedAdminUiLog, type SeededLog } from './e2e/admin-ui-seed.js'
import { axeViolations } from './e2e/axe.js'
import { launchChromium } from './e2e/chromium.js'

/** Local days are computed in this zone (UTC+9, no daylight saving), so the test knows the UTC bounds exactly. */
const TIME_ZONE = 'Asia/Tokyo'
const ZONE_OFFSET_MS = 9 * 3_600_000
const DAY_MS = 86_400_000
const TOKEN = 'e2e-secret-token-4242'

/**
 * The one instant every day in the checks is counted from: the fixture is seeded relative to it and the page whose
 * own "today" is checked has its clock set to it, so a run across Tokyo's midnight (15:00 UTC) cannot put the seed,
 * the browser and a check on different days. AUDITKIT_E2E_NOW (a past ISO instant, e.g. a second before a Tokyo
 * midnight) replays such a run.
 */
const NOW = referenceNow()

function referenceNow(): number {
  const pinned = process.env.AUDITKIT_E2E_NOW
  if (pinned === undefined || pinned === '') return Date.now()
  const at = Date.parse(pinned)
  // Not in the future: events the tests cause are stamped by the server's real clock, after the seed.
  if (Number.isNaN(at) || at > Date.now()) throw new Error(`AUDITKIT_E2E_NOW must be a past ISO instant, got "${pinned}"`)
  return at
}

/** An intranet-like host name the browser resolves to 127.0.0.1: plain HTTP there is not a secure context. */
const INTRANET_HOST = 'audit.test'

let backend: AdminUiDemo
let seed: SeededLog
let receiver: OtlpReceiver
let browser: Browser

beforeAll(async () => {
  ;[backend, receiver, browser] = await Promise.all([
    startAdminUiDemo({ seed: 'fixture', now: NOW }),
    startOtlpReceiver({ protocol: 'http/protobuf', bearerToken: TOKEN }),
    launchChromium([`--host-resolver-rules=MAP ${INTRANET_HOST} 127.0.0.1`]),
  ])
  seed = backend.seed as SeededLog
})

afterAll(async () => {
  await browser?.close()
  await receiver?.close()
  await backend?.close()
})

/** `YYYY-MM-DD` of `daysAgo` days before NOW's day, in TIME_ZONE. */
function tokyoDay(daysAgo: number): string {
  return new Date(NOW + ZONE_OFFSET_MS - daysAgo * DAY_MS).toISOString().slice(0, 10)
}

/** The UTC instant of a TIME_ZONE local midnight. */
function tokyoMidnight(day: string): number {
  return Date.parse(`${day}T00:00:00.000Z`) - ZONE_OFFSET_MS
}

interface Session {
  context: BrowserContext
  page: Page
  /** Console errors and uncaught exceptions (a CSP violation shows up here). */
  problems: string[]
}

async function open(options: BrowserContextOptions & { hash?: string } = {}): Promise<Session> {
  const { hash = '', ...contextOptions } = options
  const context = await browser.newContext({ locale: 'en-US', timezoneId: TIME_ZONE, viewport: { width: 1280, height: 860 }, acceptDownloads: true, ...contextOptions })
  // Signed in as the demo's owner of acme (the demo's authorize reads this cookie).
  await context.addCookies([backend.cookie])
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text())
  })
  page.on('pageerror', (error) => problems.push(error.message))
  // Offline-ready: the page loads nothing from another origin (no CDN, no web fonts, no analytics).
  page.on('request', (request) => {
    if (!request.url().startsWith(backend.origin) && !request.url().startsWith('data:')) problems.push(`foreign request: ${request.url()}`)
  })
  await page.goto(backend.adminUrl + hash)
  return { context, page, problems }
}

async function done(session: Session): Promise<void> {
  expect(session.problems).toEqual([])
  await session.context.close()
}

const rows = (page: Page) => page.locator('tr.log-row')

/** The admin page of `store` for one tenant, on its own server (for tests that need their own events). */
async function serveAdminPage(store: AuditStore, tenantId: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const admin = createAuditAdmin({ store, basePath: '/audit', authorize: () => ({ tenantId, actor: { type: 'user', id: 'u_ops' } }) })
  const server = createServer((req, res) => void serveNodeRequest(admin, req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/audit/`,
    stop: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** `expect.poll` with room for a loaded machine (the default gives up after 1 s). */
const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 100 })

describe('admin page: logs', () => {
  it('filters by resource, actor and date range, and scrolling loads the next page', async () => {
    const session = await open()
    const { page } = session
    const seeded = seed.events
    await poll(() => rows(page).count()).toBe(50)
    await expect(page.getByTestId('load-more').isVisible()).resolves.toBe(true)

    // Resource filter from the facets: 63 seeded project events, more than one page.
    const projects = seeded.filter((event) => event.resource.type === 'project')
    expect(projects.length).toBeGreaterThan(50)
    await page.locator('#filter-resource option[value="project"]').waitFor({ state: 'attached' })
    await page.selectOption('#filter-resource', 'project')
    await poll(() => page.locator('tr.log-row td[data-column="resourceType"]').allInnerTexts()).toEqual(Array(50).fill('project'))

    // Scroll (no click): the sentinel under the table fetches the next page through the cursor.
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight))
    await poll(() => rows(page).count()).toBe(projects.length)
    await page.getByText('End of the log for the last 365 days (the default period). Choose a start date to see older events.').waitFor()
    const ids = await rows(page).evaluateAll((elements) => elements.map((element) => element.getAttribute('data-event-id')))
    expect(ids).toEqual(projects.map((event) => event.id))

    // Actor filter: only Ben's events, newest first. An actor of the menu is a type and an id (a user and an API key
    // may share an id), so the filter and the link carry both.
    const ben = '\u001factor:user\u001fu_ben'
    await page.locator(`#filter-actor option[value="${ben}"]`).waitFor({ state: 'attached' })
    await page.selectOption('#filter-actor', ben)
    const bensProjects = projects.filter((event) => event.actor.id === 'u_ben')
    await poll(() => rows(page).evaluateAll((elements) => elements.map((element) => element.getAttribute('data-event-id')))).toEqual(
      bensProjects.map((event) => event.id),
    )
    // The filters are in the URL: a reload (or a shared link) shows the same events.
    expect(new URL(page.url()).search).toBe('?actor=u_ben&actorType=user&resource=project')
    await page.reload()
    await poll(() => rows(page).evaluateAll((elements) => elements.map((element) => element.getAttribute('data-event-id')))).toEqual(
      bensProjects.map((event) => event.id),
    )
    expect(await page.locator('#filter-actor').inputValue()).toBe(ben)

    // Date range (local days in the browser's zone): from 10 days ago until today.
    await page.selectOption('#filter-actor', '')
    const fromDay = tokyoDay(10)
    await page.fill('#filter-from', fromDay)
    const expected = projects.filter((event) => Date.parse(event.occurredAt) >= tokyoMidnight(fromDay))
    expect(expected.length).toBeLessThan(projects.length)
    await poll(() => rows(page).evaluateAll((elements) => elements.map((element) => element.getAttribute('data-event-id')))).toEqual(
      expected.map((event) => event.id),
    )
    // Local time in the cell, UTC on hover.
    const firstTime = page.locator('tr.log-row').first().locator('time')
    const iso = (await firstTime.getAttribute('datetime')) as string
    expect(await firstTime.getAttribute('title')).toBe(`${iso.replace('T', ' ').replace('Z', '')} UTC`)
    expect(await firstTime.innerText()).toBe(new Date(Date.parse(iso) + ZONE_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' '))

    // Empty state.
    await page.fill('#filter-q', 'no-such-thing-anywhere')
    await page.getByTestId('empty-state').waitFor()

    // Error state: the session ends (cookie gone); the next request is refused and the page says so.
    await session.context.clearCookies()
    await page.fill('#filter-q', '')
    const alert = page.getByRole('alert')
    await alert.getByText('You are not signed in, or your session expired.').waitFor()
    expect(await alert.innerText()).toContain('UNAUTHENTICATED')
    // The browser logs the refused fetch (401) as a console error: expected here.
    session.problems.splice(0, session.problems.length, ...session.problems.filter((problem) => !problem.includes('401')))
    await done(session)
  })

  it("filters by actor type and by one resource, as the manual's actor and resource filters do", async () => {
    const session = await open()
    const { page } = session
    const seeded = seed.events
    const listed = () => rows(page).evaluateAll((elements) => elements.map((element) => element.getAttribute('data-event-id')))
    await poll(() => rows(page).count()).toBe(50)

    // 実行者: a type (every API key), from the same menu as the individual actors.
    const menu = page.locator('#filter-actor')
    expect(await menu.locator('optgroup').evaluateAll((groups) => groups.map((group) => group.getAttribute('label')))).toEqual(['Actor type', 'Actors'])
    await page.selectOption('#filter-actor', { label: 'API key' })
    const byKeys = seeded.filter((event) => event.actor.type === 'api_key')
    expect(byKeys.length).toBeGreaterThan(0)
    expect(new Set(byKeys.map((event) => event.actor.id)).size).toBe(1)
    await poll(listed).toEqual(byKeys.map((event) => event.id))
    expect(new URL(page.url()).search).toBe('?actorType=api_key')
    await page.reload()
    await poll(listed).toEqual(byKeys.map((event) => event.id))
    expect(await menu.evaluate((select: HTMLSelectElement) => select.selectedOptions[0]?.textContent)).toBe('API key')

    // リソース: one resource by its id, whatever was done to it.
    await page.selectOption('#filter-actor', '')
    const oneProject = seeded.filter((event) => event.resource.id === 'prj_101')
    expect(new Set(oneProject.map((event) => event.action)).size).toBeGreaterThan(1)
    await page.fill('#filter-resource-id', 'prj_101')
    await page.press('#filter-resource-id', 'Enter')
    await poll(listed).toEqual(oneProject.map((event) => event.id))
    expect(new URL(page.url()).search).toBe('?resourceId=prj_101')
    // No start day: the API's default window, which the end of the list names (the manual: 365 days by default).
    await page.getByText('End of the log for the last 365 days (the default period). Choose a start date to see older events.').waitFor()
    await page.fill('#filter-from', tokyoDay(400))
    await poll(listed).toEqual(oneProject.map((event) => event.id))
    await page.getByText('End of the log for this period.').waitFor()
    await page.getByRole('button', { name: 'Clear' }).click()
    await poll(() => rows(page).count()).toBe(50)
    expect(await page.locator('#filter-resource-id').inputValue()).toBe('')
    await done(session)
  })

  it('keeps a column turned off after a reload', async () => {
    const session = await open()
    const { page } = session
    await poll(() => page.locator('th[data-column="ip"]').count()).toBe(1)
    await page.getByRole('button', { name: 'Edit displayed columns' }).click()
    const dialog = page.getByTestId('columns-dialog')
    await dialog.locator('input[name="column"][value="ip"]').uncheck()
    await dialog.locator('input[name="column"][value="requestId"]').check()
    await dialog.getByRole('button', { name: 'Done' }).click()
    await poll(() => page.locator('th[data-column="ip"]').count()).toBe(0)
    await poll(() => page.locator('th[data-column="requestId"]').count()).toBe(1)

    await page.reload()
    await poll(() => page.locator('th[data-column="actor"]').count()).toBe(1)
    expect(await page.locator('th[data-column="ip"]').count()).toBe(0)
    expect(await page.locator('th[data-column="requestId"]').count()).toBe(1)
    expect(await page.locator('td[data-column="ip"]').count()).toBe(0)
    await done(session)
  })

  it("opens a row's full event with a field-level before/after diff, by keyboard", async () => {
    const session = await open()
    const { page } = session
    const { diffEvent } = seed
    const row = page.locator(`tr[data-event-id="${diffEvent.id}"]`)
    const focusedRow = () => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset['eventId'])
    // The table is one tab stop: Tab from the last toolbar button lands on the first row; arrows move between rows.
    await page.getByRole('button', { name: 'Download CSV' }).focus()
    await page.keyboard.press('Tab')
    await page.keyboard.press('Tab')
    expect(await focusedRow()).toBe(diffEvent.id)
    await page.keyboard.press('ArrowDown')
    expect(await focusedRow()).toBe(seed.events[1]?.id)
    await page.keyboard.press('ArrowUp')
    expect(await focusedRow()).toBe(diffEvent.id)
    expect(await row.getAttribute('tabindex')).toBe('0')
    await page.keyboard.press('Enter')
    const detail = page.getByTestId('event-detail')
    await detail.waitFor()
    const diff = detail.getByTestId('diff')
    await diff.waitFor()

    const cells = async (path: string) => diff.locator(`tr[data-path="${path}"]`).evaluate((tr) => [tr.getAttribute('data-kind'), ...[...tr.querySelectorAll('td')].map((td) => td.textContent)])
    expect(await cells('role')).toEqual(['changed', 'viewer', 'admin'])
    expect(await cells('legacyAccess')).toEqual(['removed', 'read-only', ''])
    expect(await cells('approvedBy')).toEqual(['added', '', 'Ayaka Sato'])
    expect(await cells('teams[1]')).toEqual(['added', '', 'security'])
    expect(await diff.locator('tr[data-kind="unchanged"]').count()).toBe(0)
    await diff.getByRole('button', { name: 'Show 3 unchanged fields' }).click()
    expect(await cells('email')).toEqual(['unchanged', 'dana@acme.example', 'dana@acme.example'])
    await detail.getByText('/members/:id', { exact: true }).waitFor()
    await detail.getByText(diffEvent.id, { exact: true }).waitFor()

    // Focus stays in the dialog; Esc closes it and gives focus back to the row.
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab')
      expect(await page.evaluate(() => document.querySelector('dialog[open]')?.contains(document.activeElement) ?? false)).toBe(true)
    }
    expect(new URL(page.url()).searchParams.get('event')).toBe(diffEvent.id)
    await page.keyboard.press('Escape')
    await detail.waitFor({ state: 'detached' })
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset['eventId'])).toBe(diffEvent.id)
    await poll(() => new URL(page.url()).searchParams.has('event')).toBe(false)

    // A link to the event (`?event=<id>`) opens its detail directly.
    await page.goto(`${backend.adminUrl}?event=${diffEvent.id}`)
    await page.getByTestId('event-detail').getByTestId('diff').locator('tr[data-path="role"][data-kind="changed"]').waitFor()
    await done(session)
  })

  it('downloads a CSV of the chosen period with the displayed columns', async () => {
    const session = await open()
    const { page } = session
    await page.getByRole('button', { name: 'Edit displayed columns' }).click()
    const columnsDialog = page.getByTestId('columns-dialog')
    await columnsDialog.locator('input[value="targets"]').uncheck()
    await columnsDialog.locator('input[value="actorEmail"]').check()
    await columnsDialog.getByRole('button', { name: 'Done' }).click()

    await page.getByRole('button', { name: 'Download CSV' }).click()
    const dialog = page.getByTestId('export-dialog')
    const fromDay = tokyoDay(12)
    const toDay = tokyoDay(6)
    await dialog.locator('#export-from').fill(fromDay)
    await dialog.locator('#export-to').fill(tokyoDay(13))
    await dialog.getByText('The end date is before the start date.').waitFor()
    expect(await dialog.getByRole('button', { name: 'Download', exact: true }).isDisabled()).toBe(true)
    await dialog.locator('#export-to').fill(toDay)
    expect(await dialog.getByTestId('export-columns').locator('li').allInnerTexts()).toEqual([
      'Date and time (UTC)',
      'IP address',
      'User',
      'Email address',
      'Operation',
      'Target type',
      'Target name',
      'Outcome',
    ])
    const [download] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('button', { name: 'Download', exact: true }).click()])
    const text = await readFile((await download.path()) as string, 'utf8')
    const [header, ...records] = parse(text.replace(/^\uFEFF/, ''), { relaxColumnCount: false }) as string[][]
    expect(header).toEqual(['Date and time (UTC)', 'IP address', 'User', 'Email address', 'Operation', 'Target type', 'Target name', 'Outcome'])

    // Inclusive local days: [from 00:00, to + 1 day 00:00) in the browser's zone.
    const start = tokyoMidnight(fromDay)
    const end = tokyoMidnight(toDay) + DAY_MS
    const expected = seed.events.filter((event) => Date.parse(event.occurredAt) >= start && Date.parse(event.occurredAt) < end)
    expect(expected.length).toBeGreaterThan(10)
    expect(records.map((record) => record[0]).sort()).toEqual(expected.map((event) => event.occurredAt).sort())
    const byTime = new Map(records.map((record) => [record[0], record]))
    for (const event of expected) {
      const record = byTime.get(event.occurredAt) as string[]
      expect(record.slice(1)).toEqual([
        event.context?.ip ?? '',
        event.actor.name ?? event.actor.email ?? event.actor.id,
        event.actor.email ?? '',
        event.action,
        event.resource.type,
        event.resource.name ?? '',
        event.outcome,
      ])
    }
    await done(session)
  })

  it('opens the CSV dialog on the period of an end-only date filter, not on a reversed range', async () => {
    const session = await open({ hash: `?to=${tokyoDay(40)}` })
    const { page } = session
    // Nothing seeded that long ago: the table is empty for the 365 days before that day.
    await page.getByTestId('empty-state').waitFor()
    await page.getByRole('button', { name: 'Download CSV' }).click()
    const dialog = page.getByTestId('export-dialog')
    await dialog.waitFor()
    // The table ends on that day; the file's period ends there too, and starts before it.
    expect(await dialog.locator('#export-to').inputValue()).toBe(tokyoDay(40))
    expect(await dialog.locator('#export-from').inputValue()).toBe(tokyoDay(70))
    expect(await dialog.getByRole('alert').count()).toBe(0)
    expect(await dialog.getByRole('button', { name: 'Download', exact: true }).isDisabled()).toBe(false)
    await done(session)
  })

  it('drops the previous period\'s rows and count when the date range is made reversed', async () => {
    const session = await open({ hash: `?from=${tokyoDay(3)}&to=${tokyoDay(2)}` })
    const { page } = session
    const inRange = seed.events.filter((event) => Date.parse(event.occurredAt) >= tokyoMidnight(tokyoDay(3)) && Date.parse(event.occurredAt) < tokyoMidnight(tokyoDay(1)))
    expect(inRange.length).toBeGreaterThan(1)
    await poll(() => rows(page).count()).toBe(inRange.length)
    await page.fill('#filter-to', tokyoDay(10))
    await page.getByRole('alert').getByText('The end date is before the start date.').waitFor()
    // No rows that read as this (impossible) period's, and no count of them.
    await poll(() => rows(page).count()).toBe(0)
    expect(await page.getByTestId('event-count').innerText()).toBe('')
    expect(await page.getByTestId('empty-state').count()).toBe(0)
    // Fixed again: the period's rows come back.
    await page.fill('#filter-to', tokyoDay(2))
    await poll(() => rows(page).count()).toBe(inRange.length)
    await done(session)
  })

  it('counts one event in the singular', async () => {
    const session = await open({ hash: `?q=${encodeURIComponent(seed.diffEvent.resource.name as string)}` })
    const { page } = session
    await poll(() => rows(page).count()).toBe(1)
    expect(await page.getByTestId('event-count').innerText()).toBe('1 event shown')
    await done(session)
  })
})

describe('admin page: copy link', () => {
  const ControlOrMeta = 'ControlOrMeta'

  /** The admin page under a host name other than localhost, over plain HTTP (an intranet deployment). */
  function intranetAdminUrl(): string {
    const url = new URL(backend.adminUrl)
    url.hostname = INTRANET_HOST
    return url.href
  }

  /**
   * The diff event's panel, opened from the list at `adminUrl`, with another text put on the clipboard first
   * (copied the native way) so that a Copy link that copies nothing shows.
   */
  async function openEvent(adminUrl: string, prepare?: (context: BrowserContext) => Promise<unknown>) {
    const context = await browser.newContext({ locale: 'en-US', timezoneId: TIME_ZONE, viewport: { width: 1280, height: 860 } })
    const origin = new URL(adminUrl).origin
    await context.addCookies([{ ...backend.cookie, url: origin }])
    await prepare?.(context)
    const page = await context.newPage()
    const problems: string[] = []
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text())
    })
    page.on('pageerror', (error) => problems.push(error.message))
    await page.goto(adminUrl)
    await poll(() => rows(page).count()).toBe(50)
    await page.fill('#filter-q', 'on the clipboard before the click')
    await page.press('#filter-q', `${ControlOrMeta}+A`)
    await page.press('#filter-q', `${ControlOrMeta}+C`)
    await page.fill('#filter-q', '')
    await poll(() => new URL(page.url()).searchParams.has('q')).toBe(false)
    await page.locator(`tr[data-event-id="${seed.diffEvent.id}"]`).click()
    const detail = page.getByTestId('event-detail')
    await detail.getByTestId('diff').waitFor()
    const link = page.url()
    expect(link).toBe(`${adminUrl}?event=${seed.diffEvent.id}`)
    return { session: { context, page, problems } satisfies Session, detail, link }
  }

  /** What Ctrl+V pastes into the search box, once the panel is closed. */
  async function paste(page: Page): Promise<string> {
    await page.keyboard.press('Escape')
    await page.getByTestId('event-detail').waitFor({ state: 'detached' })
    await page.fill('#filter-q', '')
    await page.press('#filter-q', `${ControlOrMeta}+V`)
    return page.locator('#filter-q').inputValue()
  }

  const focusedText = (page: Page) => page.evaluate(() => document.activeElement?.textContent)

  it('copies the link on a plain-HTTP intranet host, where the browser has no Clipboard API', async () => {
    const { session, detail, link } = await openEvent(intranetAdminUrl())
    const { page } = session
    expect(await page.evaluate(() => [window.isSecureContext, navigator.clipboard === undefined])).toEqual([false, true])
    await detail.getByRole('button', { name: 'Copy link' }).click()
    await detail.getByRole('button', { name: 'Copied' }).waitFor({ timeout: 15_000 })
    // The copy went through a temporary field: it is gone, and focus is back on the button.
    expect(await detail.locator('textarea').count()).toBe(0)
    expect(await focusedText(page)).toBe('Copied')
    expect(await paste(page)).toBe(link)
    await done(session)
  })

  it('shows the link selected in a read-only field when the browser refuses to copy, and does not claim it copied', async () => {
    const { session, detail, link } = await openEvent(intranetAdminUrl(), (context) =>
      // A browser (or a policy) that refuses scripted copying: no Clipboard API here, and the copy command fails.
      context.addInitScript(() => {
        Document.prototype.execCommand = () => false
      }),
    )
    const { page } = session
    await detail.getByRole('button', { name: 'Copy link' }).click()
    const field = detail.getByRole('textbox', { name: 'Text to copy' })
    await field.waitFor({ timeout: 15_000 })
    expect(await field.inputValue()).toBe(link)
    expect(await field.evaluate((input) => (input as HTMLInputElement).readOnly)).toBe(true)
    // Focused and all selected: Ctrl+C is all the user has to do, and the hint says so.
    expect(
      await field.evaluate((input) => {
        const { selectionStart, selectionEnd, value } = input as HTMLInputElement
        return document.activeElement === input && selectionStart === 0 && selectionEnd === value.length
      }),
    ).toBe(true)
    await detail.getByText('press Ctrl+C').waitFor()
    expect(await detail.getByRole('button', { name: 'Copied' }).count()).toBe(0)
    expect(await detail.getByRole('button', { name: 'Copy link' }).count()).toBe(1)
    expect(await axeViolations(page)).toEqual([])
    await page.keyboard.press(`${ControlOrMeta}+C`)
    expect(await paste(page)).toBe(link)
    await done(session)
  })

  it('copies the link with the Clipboard API on localhost, and through the fallback when the API refuses', async () => {
    const secure = await openEvent(backend.adminUrl, (context) => context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: backend.origin }))
    await secure.detail.getByRole('button', { name: 'Copy link' }).click()
    await secure.detail.getByRole('button', { name: 'Copied' }).waitFor({ timeout: 15_000 })
    expect(await secure.session.page.evaluate(() => navigator.clipboard.readText())).toBe(secure.link)
    await done(secure.session)

    // The site's clipboard permission denied (as a user or a policy can): writeText rejects.
    const denied = await openEvent(backend.adminUrl)
    const cdp = await denied.session.context.newCDPSession(denied.session.page)
    const { targetInfo } = await cdp.send('Target.getTargetInfo')
    await cdp.send('Browser.setPermission', {
      permission: { name: 'clipboard-write' },
      setting: 'denied',
      origin: backend.origin,
      ...(targetInfo.browserContextId === undefined ? {} : { browserContextId: targetInfo.browserContextId }),
    })
    expect(await denied.session.page.evaluate(() => navigator.clipboard.writeText('x').then(() => 'written', (error: unknown) => (error as DOMException).name))).toBe('NotAllowedError')
    await denied.detail.getByRole('button', { name: 'Copy link' }).click()
    await denied.detail.getByRole('button', { name: 'Copied' }).waitFor({ timeout: 15_000 })
    expect(await paste(denied.session.page)).toBe(denied.link)
    await done(denied.session)
  })
})

describe('admin page: browser history', () => {
  const ids = (page: Page) => rows(page).evaluateAll((elements) => elements.map((element) => element.getAttribute('data-event-id')))
  const search = (page: Page) => new URL(page.url()).search

  it('Back undoes the last filter change, Forward re-applies it; Back closes an opened event and Forward reopens it', async () => {
    const session = await open()
    const { page } = session
    const projects = seed.events.filter((event) => event.resource.type === 'project')
    const failedProjects = projects.filter((event) => event.outcome === 'failure')
    expect(failedProjects.length).toBeGreaterThan(0)
    // The unfiltered list as shown (earlier tests' downloads are in the log too).
    await poll(() => rows(page).count()).toBe(50)
    const everything = await ids(page)

    await page.locator('#filter-resource option[value="project"]').waitFor({ state: 'attached' })
    await page.selectOption('#filter-resource', 'project')
    await poll(() => ids(page)).toEqual(projects.slice(0, 50).map((event) => event.id))
    await page.selectOption('#filter-outcome', 'failure')
    await poll(() => ids(page)).toEqual(failedProjects.map((event) => event.id))
    expect(search(page)).toBe('?resource=project&outcome=failure')

    // Back: the previous list, and the menus say so; the page stays.
    await page.goBack()
    await poll(() => search(page)).toBe('?resource=project')
    await poll(() => ids(page)).toEqual(projects.slice(0, 50).map((event) => event.id))
    expect(await page.locator('#filter-outcome').inputValue()).toBe('')
    expect(await page.locator('#filter-resource').inputValue()).toBe('project')
    await page.goBack()
    await poll(() => ids(page)).toEqual(everything)
    expect(search(page)).toBe('')
    expect(new URL(page.url()).pathname).toBe(new URL(backend.adminUrl).pathname)
    // Forward: the filter again.
    await page.goForward()
    await poll(() => ids(page)).toEqual(projects.slice(0, 50).map((event) => event.id))
    expect(await page.locator('#filter-resource').inputValue()).toBe('project')
    await page.goForward()
    await poll(() => ids(page)).toEqual(failedProjects.map((event) => event.id))
    expect(await page.locator('#filter-outcome').inputValue()).toBe('failure')

    // An opened event: Back closes it (focus back on its row), Forward reopens it.
    const target = failedProjects[0] as (typeof seed.events)[number]
    await page.locator(`tr[data-event-id="${target.id}"]`).click()
    const detail = page.getByTestId('event-detail')
    await detail.getByText(target.id, { exact: true }).waitFor()
    expect(new URL(page.url()).searchParams.get('event')).toBe(target.id)
    await page.goBack()
    await detail.waitFor({ state: 'detached' })
    await poll(() => search(page)).toBe('?resource=project&outcome=failure')
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset['eventId'])).toBe(target.id)
    expect(await ids(page)).toEqual(failedProjects.map((event) => event.id))
    await page.goForward()
    await detail.getByText(target.id, { exact: true }).waitFor()
    expect(await page.evaluate(() => document.querySelector('dialog[open]')?.getAttribute('data-testid'))).toBe('event-detail')
    // Closed with Esc, it is a step of its own too: Back reopens it.
    await page.keyboard.press('Escape')
    await detail.waitFor({ state: 'detached' })
    await poll(() => new URL(page.url()).searchParams.has('event')).toBe(false)
    await page.goBack()
    await detail.getByText(target.id, { exact: true }).waitFor()
    await page.goBack()
    await detail.waitFor({ state: 'detached' })
    await done(session)
  })

  it('makes one step of a search typed with pauses, and keeps tab switches as steps', async () => {
    const session = await open()
    const { page } = session
    await poll(() => rows(page).count()).toBe(50)
    const before = await page.evaluate(() => history.length)
    // Two pauses in typing (each waits for the URL): both end up in one history entry.
    await page.fill('#filter-q', 'Apo')
    await poll(() => new URL(page.url()).searchParams.get('q')).toBe('Apo')
    await page.fill('#filter-q', 'Apollo')
    await poll(() => new URL(page.url()).searchParams.get('q')).toBe('Apollo')
    await poll(() => page.locator('tr.log-row td[data-column="resourceName"]').allInnerTexts()).toEqual(expect.arrayContaining(['Apollo']))
    expect(await page.evaluate(() => history.length)).toBe(before + 1)

    // A tab switch is a step: Back returns to the log with its search, Forward to the tab.
    await page.getByRole('tab', { name: 'Integrity' }).click()
    await page.getByTestId('run-verify').waitFor()
    await page.goBack()
    await poll(() => page.locator('#filter-q').inputValue()).toBe('Apollo')
    expect(await page.getByRole('tab', { name: 'Logs' }).getAttribute('aria-selected')).toBe('true')
    await page.goForward()
    await page.getByTestId('run-verify').waitFor()
    expect(new URL(page.url()).hash).toBe('#integrity')
    await page.goBack()
    // Back past the search: the whole log again, still on the admin page.
    await page.goBack()
    await poll(() => page.locator('#filter-q').inputValue()).toBe('')
    await poll(() => rows(page).count()).toBe(50)
    expect(new URL(page.url()).search).toBe('')
    await done(session)
  })
})

describe('admin page: SIEM integration', () => {
  it('tests the connection against a real OTLP receiver: success, then the 401 hint with a wrong token; saves with the secret masked', async () => {
    const session = await open({ hash: '#siem' })
    const { page } = session
    await page.locator('#siem-endpoint').fill(receiver.endpoint)
    await page.getByRole('radio', { name: 'HTTP/Protobuf' }).check()
    await page.getByText('Full path, default port 4318').waitFor()

    // Headers are validated as typed.
    await page.locator('#siem-headers').fill('{"Authorization": ')
    await page.getByTestId('headers-error').waitFor()
    expect(await page.locator('#siem-headers').getAttribute('aria-invalid')).toBe('true')
    expect(await page.getByTestId('test-connection').isDisabled()).toBe(true)
    await page.locator('#siem-headers').fill(`{"Authorization": "Bearer ${TOKEN}"}`)
    await page.getByTestId('headers-error').waitFor({ state: 'detached' })

    const before = receiver.records.length
    await page.getByTestId('test-connection').click()
    const result = page.getByTestId('test-result')
    await result.and(page.locator('[data-result="ok"]')).waitFor()
    expect(await result.innerText()).toContain('Connection succeeded')
    const received = await receiver.waitForRecords(before + 1, 5000)
    expect(received.at(-1)?.attributes['audit.action']).toBe('test_connection')

    await page.locator('#siem-headers').fill('{"Authorization": "Bearer wrong-token"}')
    await page.getByTestId('test-connection').click()
    await result.and(page.locator('[data-result="unauthorized"]')).waitFor()
    const hint = await page.getByTestId('test-hint').innerText()
    expect(hint).toContain('401')
    expect(hint).toContain('Authorization')
    expect(receiver.requests.at(-1)?.answeredStatus).toBe(401)

    // Save with the right token; the secret comes back masked and the status card shows delivery.
    await page.locator('#siem-headers').fill(`{"Authorization": "Bearer ${TOKEN}"}`)
    await page.locator('#siem-enabled').check()
    await page.getByTestId('save-siem').click()
    await page.getByText('Settings saved.').waitFor()
    await page.reload()
    await poll(() => page.locator('#siem-headers').inputValue()).toContain('****')
    const headersText = await page.locator('#siem-headers').inputValue()
    expect(headersText).not.toContain(TOKEN)
    expect(await page.locator('#siem-enabled').isChecked()).toBe(true)
    expect(await page.locator('#siem-endpoint').inputValue()).toBe(receiver.endpoint)
    await page.getByTestId('siem-status').getByText('Events behind').waitFor()
    // The masked value means "keep the saved secret": Test Connection still authenticates.
    await page.getByTestId('test-connection').click()
    await result.and(page.locator('[data-result="ok"]')).waitFor()

    // gRPC: base URL only; the same form reaches a gRPC receiver.
    const grpc = await startOtlpReceiver({ protocol: 'grpc', bearerToken: TOKEN })
    try {
      await page.getByRole('radio', { name: 'gRPC' }).check()
      await page.getByText('Base URL only, default port 4317').waitFor()
      await page.locator('#siem-endpoint').fill(grpc.endpoint)
      await page.locator('#siem-headers').fill(`{"Authorization": "Bearer ${TOKEN}"}`)
      await page.getByTestId('test-connection').click()
      await result.and(page.locator('[data-result="ok"]')).waitFor()
      expect((await grpc.waitForRecords(1, 5000))[0]?.attributes['audit.action']).toBe('test_connection')
    } finally {
      await grpc.close()
    }
    await done(session)
  })
})

describe('admin page: integrity, language, narrow screens', () => {
  it('verifies the chain for a period, then names the first broken link after a row is edited in the database', async () => {
    const session = await open({ hash: '#integrity' })
    const { page } = session
    await page.fill('#verify-from', tokyoDay(30))
    await page.fill('#verify-to', tokyoDay(0))
    await page.getByTestId('run-verify').click()
    const result = page.getByTestId('verify-result')
    await result.waitFor()
    expect(await result.getAttribute('data-ok')).toBe('true')
    expect(await result.innerText()).toMatch(/The chain is intact[\s\S]*\d+ events checked/)

    // Someone with database access rewrites the outcome of one event.
    const tampered = seed.events[seed.events.length - 40] as (typeof seed.events)[number]
    const db = new Database(backend.dbPath)
    const changed = db.prepare("UPDATE events SET event = json_set(event, '$.outcome', 'failure') WHERE id = ?").run(tampered.id)
    db.close()
    expect(changed.changes).toBe(1)
    const seq = (await (await page.request.get(`${backend.adminUrl}api/events/${tampered.id}`)).json()) as { seq: number }

    await page.getByTestId('run-verify').click()
    await result.and(page.locator('[data-ok="false"]')).waitFor()
    expect(await result.innerText()).toContain('The chain is broken')
    expect(await page.getByTestId('verify-reason').getAttribute('data-reason')).toBe('modified')
    expect(await result.innerText()).toContain(`Sequence\n${seq.seq}`)
    const apiMessage = await page.getByTestId('verify-message').innerText()
    expect(apiMessage).toContain(`seq ${seq.seq}`)

    // The Japanese page titles the verdict in Japanese and keeps the API's English sentence, marked as English.
    await page.getByRole('button', { name: '日本語' }).click()
    await page.getByRole('heading', { name: '整合性の検証' }).waitFor()
    await page.getByTestId('run-verify').click()
    await result.and(page.locator('[data-ok="false"]')).waitFor()
    expect(await page.getByTestId('verify-title').innerText()).toBe('イベントの内容が記録後に変更されています（ハッシュが一致しません）')
    expect(await page.getByTestId('verify-message').locator('[lang="en"]').innerText()).toBe(apiMessage)
    // The demo's warnings are ones the page knows: none is left in English.
    const warnings = page.getByTestId('verify-warnings').locator('li')
    expect(await warnings.count()).toBeGreaterThan(0)
    expect(await warnings.evaluateAll((items) => items.filter((item) => item.closest('[lang="en"]') !== null).map((item) => item.textContent))).toEqual([])
    expect((await warnings.allInnerTexts()).every((text) => /[\u3040-\u30ff\u4e00-\u9fff]/.test(text))).toBe(true)
    expect(await axeViolations(page)).toEqual([])
    await done(session)
  })

  it('follows a Japanese browser, shows Japanese labels, and keeps a switch to English', async () => {
    const session = await open({ locale: 'ja-JP' })
    const { page } = session
    await page.getByRole('heading', { name: '監査ログ' }).waitFor()
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('ja')
    expect(await page.getByRole('tab').allInnerTexts()).toEqual(['ログ', 'SIEM 連携', '整合性'])
    await page.getByRole('button', { name: '表示項目の編集' }).waitFor()
    await page.getByRole('button', { name: 'ダウンロード' }).waitFor()
    await poll(() => page.locator('th[data-column="actor"]').innerText()).toBe('ユーザー')
    expect(await page.locator('th[data-column="action"]').innerText()).toBe('操作内容')
    expect(await page.locator('label[for="filter-actor"]').innerText()).toBe('実行者')
    // The CSV dialog defaults to the page's language: Japanese headers.
    await page.getByRole('button', { name: 'ダウンロード' }).click()
    const dialog = page.getByTestId('export-dialog')
    expect(await dialog.locator('#export-locale').inputValue()).toBe('ja')
    const [download] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('button', { name: 'ダウンロード', exact: true }).click()])
    const csv = await readFile((await download.path()) as string, 'utf8')
    expect(csv.startsWith('\uFEFF')).toBe(true)
    expect(csv.split('\r\n')[0]?.replace(/^\uFEFF/, '').split(',').slice(0, 3)).toEqual(['日時 (UTC)', 'IPアドレス', 'ユーザー'])
    await dialog.getByRole('button', { name: '閉じる' }).first().click()

    await page.getByRole('tab', { name: 'SIEM 連携' }).click()
    await page.getByText('OTLP エンドポイント URL').waitFor()
    await page.getByRole('button', { name: '接続テスト' }).waitFor()

    await page.getByRole('button', { name: 'English' }).click()
    await page.getByRole('heading', { name: 'Audit logs' }).waitFor()
    await page.reload()
    await page.getByRole('heading', { name: 'Audit logs' }).waitFor()
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en')
    await done(session)
  })

  it('is readable at 390 px: no sideways scrolling, rows become cards, details still open', async () => {
    const session = await open({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })
    const { page } = session
    await poll(() => rows(page).count()).toBe(50)
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    // The header row is only for screen readers; each row is laid out as a card.
    expect(await page.locator('thead').evaluate((thead) => thead.getBoundingClientRect().width)).toBeLessThanOrEqual(1)
    expect(await rows(page).first().evaluate((tr) => getComputedStyle(tr).display)).toBe('grid')
    // Each cell carries its column's label in a card.
    expect(await page.locator('tr.log-row').first().locator('td[data-column="actor"]').getAttribute('data-label')).toBe('User')
    await rows(page).first().click()
    await page.getByTestId('event-detail').waitFor()
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    await done(session)
  })
})

describe('admin page: focus after actions, recovery after a network failure', () => {
  const focusedId = (page: Page) => page.evaluate(() => document.activeElement?.id || (document.activeElement as HTMLElement | null)?.dataset['testid'] || document.activeElement?.tagName)

  it('keeps keyboard focus in place when an action disables its own button (Clear, Test connection, Save, Verify)', async () => {
    const session = await open()
    const { page } = session
    await poll(() => rows(page).count()).toBe(50)
    await page.selectOption('#filter-outcome', 'failure')
    await poll(() => page.locator('tr.log-row td[data-column="outcome"]').allInnerTexts()).toEqual(expect.arrayContaining(['Failure']))
    const clear = page.getByRole('button', { name: 'Clear', exact: true })
    await clear.focus()
    await page.keyboard.press('Enter')
    await poll(() => page.locator('#filter-outcome').inputValue()).toBe('')
    // The Clear button is disabled once nothing is filtered: focus moves to the search box, not to the page's start.
    expect(await focusedId(page)).toBe('filter-q')

    await page.getByRole('tab', { name: 'SIEM integration' }).click()
    await page.getByRole('radio', { name: 'HTTP/Protobuf' }).check()
    await page.locator('#siem-endpoint').fill(receiver.endpoint)
    await page.locator('#siem-headers').fill(`{"Authorization": "Bearer ${TOKEN}"}`)
    await page.getByTestId('test-connection').focus()
    await page.keyboard.press('Enter')
    await page.locator('[data-testid="test-result"][data-result="ok"]').waitFor()
    expect(await focusedId(page)).toBe('test-connection')
    await page.locator('#siem-enabled').check()
    await page.getByTestId('save-siem').focus()
    await page.keyboard.press('Enter')
    await page.getByText('Settings saved.').waitFor()
    expect(await focusedId(page)).toBe('save-siem')

    await page.getByRole('tab', { name: 'Integrity' }).click()
    await page.getByTestId('run-verify').focus()
    await page.keyboard.press('Enter')
    await page.getByTestId('verify-result').waitFor()
    expect(await focusedId(page)).toBe('run-verify')
    await done(session)
  })

  it('fills the filter menus again when Retry recovers from a network failure', async () => {
    const session = await open()
    const { page, context } = session
    await poll(() => rows(page).count()).toBe(50)
    expect(await page.locator('#filter-actor option').count()).toBeGreaterThan(1)
    let facetFailures = 0
    page.on('requestfailed', (request) => {
      if (request.url().includes('/api/facets')) facetFailures++
    })
    await context.setOffline(true)
    await page.fill('#filter-from', tokyoDay(10))
    await page.getByRole('alert').getByText('The server could not be reached.').waitFor()
    // The menus give up after their own retries (three attempts in all).
    await poll(() => facetFailures).toBe(3)
    await context.setOffline(false)
    await page.getByRole('button', { name: 'Retry' }).click()
    await poll(() => rows(page).count()).toBeGreaterThan(0)
    await poll(() => page.locator('#filter-actor option').count()).toBeGreaterThan(1)
    // The failed requests are logged by the browser as console errors: expected here.
    session.problems.splice(0, session.problems.length, ...session.problems.filter((problem) => !problem.includes('ERR_INTERNET_DISCONNECTED') && !problem.includes('Failed to fetch')))
    await done(session)
  })

  it('keeps focus on Load more while the next page loads, and on the first new row when the log ends', async () => {
    const session = await open()
    const { page } = session
    // No scrolling pages in by itself: only the button, as for a keyboard user where scrolling can't.
    await page.addInitScript(() => Reflect.deleteProperty(window, 'IntersectionObserver'))
    await page.reload()
    await poll(() => rows(page).count()).toBe(50)
    const loadMore = page.getByTestId('load-more')
    await loadMore.focus()
    await page.keyboard.press('Enter')
    await poll(() => rows(page).count()).toBe(100)
    expect(await focusedId(page)).toBe('load-more')
    await page.keyboard.press('Enter')
    await page.getByText('End of the log for the last 365 days (the default period). Choose a start date to see older events.').waitFor()
    // The button is gone: focus is on the first row the last page brought, not at the page's start.
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset['eventId'])).toBe(await rows(page).nth(100).getAttribute('data-event-id'))
    await done(session)
  })

  it('moves focus to the rows when Retry recovers, and back to Retry when it fails again', async () => {
    const session = await open()
    const { page, context } = session
    await poll(() => rows(page).count()).toBe(50)
    await context.setOffline(true)
    await page.selectOption('#filter-outcome', 'failure')
    const retry = page.getByRole('button', { name: 'Retry' })
    await retry.waitFor()
    await retry.focus()
    await page.keyboard.press('Enter')
    await retry.waitFor()
    await poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Retry')
    await context.setOffline(false)
    await page.keyboard.press('Enter')
    await poll(() => rows(page).count()).toBeGreaterThan(0)
    await poll(() => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset['eventId'])).toBe(await rows(page).first().getAttribute('data-event-id'))
    session.problems.splice(0, session.problems.length, ...session.problems.filter((problem) => !problem.includes('ERR_INTERNET_DISCONNECTED') && !problem.includes('Failed to fetch')))
    await done(session)
  })

  it('returns focus to the event\'s row when a panel opened from a link closes', async () => {
    const session = await open({ hash: `?event=${seed.diffEvent.id}` })
    const { page } = session
    await page.getByTestId('diff').waitFor()
    await poll(() => rows(page).count()).toBe(50)
    await page.keyboard.press('Escape')
    await poll(() => page.getByTestId('event-detail').count()).toBe(0)
    const focusedEvent = () => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset['eventId'])
    expect(await focusedEvent()).toBe(seed.diffEvent.id)
    // Arrow keys go on from there.
    const next = await page.locator(`tr.log-row[data-event-id="${seed.diffEvent.id}"] + tr.log-row`).getAttribute('data-event-id')
    await page.keyboard.press('ArrowDown')
    expect(await focusedEvent()).toBe(next)
    await done(session)
  })

  it('keeps focus on the delivery status\'s Refresh button while it refreshes', async () => {
    const session = await open({ hash: '#siem' })
    const { page } = session
    const refresh = page.getByTestId('siem-status').getByRole('button', { name: 'Refresh' })
    await refresh.focus()
    await page.keyboard.press('Enter')
    await page.waitForTimeout(500)
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Refresh')
    await done(session)
  })

  it('shows the collector\'s pending error beside a store failure in the delivery status', async () => {
    const session = await open({ hash: '#siem', locale: 'ja-JP' })
    const { page } = session
    // The server's real answer, with the status a store failure after a refused batch leaves (core's tests make it).
    await page.route('**/api/settings/siem', async (route) => {
      const answer = (await (await route.fetch()).json()) as { status: Record<string, unknown> | null }
      const at = new Date(NOW).toISOString()
      const lastError = {
        result: 'unavailable', message: 'The store failed: SQLITE_BUSY: database is locked', at, attempts: 3, nextAttemptAt: at,
        exportError: { result: 'unauthorized', message: 'HTTP 401 from collector:4318', at },
      }
      await route.fulfill({ json: { ...answer, status: { ...answer.status, state: 'retrying', lastError } } })
    })
    await page.reload()
    const collector = page.getByTestId('siem-collector-error')
    await collector.waitFor()
    const text = await collector.innerText()
    expect(text).toContain('コレクターの直近のエラー')
    expect(text).toContain('HTTP 401 from collector:4318')
    expect(await page.getByTestId('siem-status').innerText()).toContain('The store failed: SQLITE_BUSY')
    await done(session)
  })
})

describe('admin page: accessibility', () => {
  it('has no WCAG 2.1 A/AA violations (axe-core) in each view, light and dark, 1280 and 390 px', async () => {
    const report: Record<string, unknown> = {}
    for (const [name, options] of [
      ['light 1280', {}],
      ['dark ja 390', { colorScheme: 'dark', locale: 'ja-JP', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }],
    ] as const) {
      const session = await open(options)
      const { page } = session
      await poll(() => rows(page).count()).toBe(50)
      report[`${name}: logs`] = await axeViolations(page)
      await page.locator(`tr[data-event-id="${seed.diffEvent.id}"]`).click()
      await page.getByTestId('diff').waitFor()
      report[`${name}: event detail`] = await axeViolations(page)
      await page.keyboard.press('Escape')
      await page.locator('.toolbar .button').first().click()
      await page.getByTestId('columns-dialog').waitFor()
      report[`${name}: columns dialog`] = await axeViolations(page)
      await page.keyboard.press('Escape')
      await page.locator('.toolbar .button--primary').click()
      await page.getByTestId('export-dialog').waitFor()
      report[`${name}: CSV dialog`] = await axeViolations(page)
      await page.keyboard.press('Escape')
      await page.locator('#tab-siem').click()
      await page.locator('#siem-headers').fill('{"Authorization": 1}')
      report[`${name}: SIEM`] = await axeViolations(page)
      await page.locator('#tab-integrity').click()
      await page.getByTestId('run-verify').click()
      await page.getByTestId('verify-result').waitFor()
      report[`${name}: integrity`] = await axeViolations(page)
      await done(session)
    }
    expect(Object.fromEntries(Object.entries(report).filter(([, violations]) => (violations as unknown[]).length > 0))).toEqual({})
  })
})

describe('admin page in a time zone with daylight saving', () => {
  it('does not label the time column with one UTC offset when the rows span a change of offset', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    await store.init()
    // New York leaves daylight saving on 2026-11-01: rows on both sides, UTC-04:00 and UTC-05:00.
    await seedAdminUiLog(store, { tenantId: 'tenant-ny', count: 30, spanDays: 20, now: Date.parse('2026-11-10T12:00:00.000Z') })
    const served = await serveAdminPage(store, 'tenant-ny')
    const context = await browser.newContext({ locale: 'en-US', timezoneId: 'America/New_York' })
    try {
      const page = await context.newPage()
      await page.goto(served.url)
      await poll(() => rows(page).count()).toBe(31)
      // Each row's offset: its local time (cell) minus its UTC instant (datetime).
      const offsets = await page.locator('tr.log-row time').evaluateAll((times) =>
        times.map((time) => {
          const local = Date.parse(`${(time.textContent ?? '').replace(' ', 'T')}Z`)
          const minutes = Math.round((local - Date.parse(time.getAttribute('datetime') ?? '')) / 60_000)
          const sign = minutes < 0 ? '-' : '+'
          return `UTC${sign}${String(Math.floor(Math.abs(minutes) / 60)).padStart(2, '0')}:${String(Math.abs(minutes) % 60).padStart(2, '0')}`
        }),
      )
      expect(new Set(offsets)).toEqual(new Set(['UTC-04:00', 'UTC-05:00']))
      const note = await page.locator('th[data-column="occurredAt"] .th-note').innerText()
      // Whatever the note says, it must not state one offset that half of the rows are not in.
      for (const offset of offsets) if (/UTC[+-]\d\d:\d\d/.test(note)) expect(note).toContain(offset)
      expect(note).toContain('America/New_York')
    } finally {
      await context.close()
      await served.stop()
      await store.close()
    }
  })
})

describe('admin page and names that hide characters (bidi overrides, zero-width spaces)', () => {
  // A name that a right-to-left override would show as "adminexe.png", and a look-alike of a real actor "acme".
  const OVERRIDE_NAME = 'admin\u202Egnp.exe'
  const ZERO_WIDTH_NAME = 'acme\u200B'
  const ACTORS = [
    { type: 'user', id: 'u_evil', name: OVERRIDE_NAME, email: 'evil\u2066@evil.example' },
    { type: 'user', id: 'u_acme\u200B', name: ZERO_WIDTH_NAME },
    { type: 'user', id: 'u_acme', name: 'acme' },
    { type: 'user', id: 'u_sato', name: '佐藤 綾香' },
  ] as const
  let store: ReturnType<typeof createSqliteStore>
  let url: string
  let stop: (() => Promise<void>) | undefined
  let drafts: UnsealedEvent[]

  beforeAll(async () => {
    store = createSqliteStore({ path: ':memory:' })
    await store.init()
    drafts = ACTORS.map((actor, i): UnsealedEvent => ({
      id: uuidv7(NOW - (ACTORS.length - i) * 60_000),
      occurredAt: new Date(NOW - (ACTORS.length - i) * 60_000).toISOString(),
      chainId: 't-bidi',
      tenantId: 't-bidi',
      actor: { ...actor },
      action: 'document_shared',
      resource: { type: 'document', id: `doc_${i}`, name: i === 0 ? 'invoice\u202Efdp.exe' : i === 3 ? 'تقرير الربع' : 'Roadmap' },
      outcome: 'success',
      metadata: i === 0 ? { 'no\u200Bte': 'va\u2067lue', by: '👩‍💻 dev' } : { by: '👩‍💻 dev' },
      ...(i === 0 ? { changes: { before: { title: 'Q3' }, after: { title: 'Q3\u202E' } } } : {}),
      context: { ip: '203.0.113.9', userAgent: `agent\u202E/${i}`, requestId: `req\u200B${i}`, path: '/documents' },
    }))
    await store.append(drafts, createSealer())
    ;({ url, stop } = await serveAdminPage(store, 't-bidi'))
  })

  afterAll(async () => {
    await stop?.()
    await store?.close()
  })

  /** Bidi embeddings, overrides and isolates, zero-width characters: none may reach the screen as they are. */
  const HIDDEN = /[\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]/

  it('shows the hidden characters as marked tokens in the table, the menus and the panel, and filters by the exact stored value', async () => {
    const context = await browser.newContext({ locale: 'en-US', timezoneId: TIME_ZONE, viewport: { width: 1280, height: 860 } })
    try {
      const page = await context.newPage()
      const problems: string[] = []
      page.on('pageerror', (error) => problems.push(error.message))
      await page.goto(url)
      await poll(() => rows(page).count()).toBe(4)
      // Newest first: Sato, acme, acme + ZWSP, the override.
      // (The name, isolated in its <bdi>, after the actor type's icon.)
      const actors = await page.locator('tr.log-row td[data-column="actor"] .stack__main bdi').allInnerTexts()
      expect(actors).toEqual(['佐藤 綾香', 'acme', 'acme⟨U+200B⟩', 'admin⟨U+202E⟩gnp.exe'])
      const resources = await page.locator('tr.log-row td[data-column="resourceName"]').allInnerTexts()
      expect(resources).toEqual(['تقرير الربع', 'Roadmap', 'Roadmap', 'invoice⟨U+202E⟩fdp.exe'])
      expect(await page.locator('[data-testid="log-table"] tbody').innerText()).not.toMatch(HIDDEN)

      // Each token names the character for assistive technology, and each untrusted run is isolated.
      const marker = page.locator('tr.log-row td[data-column="actor"] [aria-label="invisible character U+202E"]')
      expect(await marker.count()).toBe(1)
      expect(await page.locator('tr.log-row td[data-column="resourceName"] bdi').count()).toBe(4)
      // The Arabic name keeps its own direction inside its isolate, without reversing the row.
      expect(await page.locator('tr.log-row td[data-column="resourceName"] bdi').first().evaluate((el) => getComputedStyle(el).direction)).toBe('rtl')

      // The menu shows the look-alike marked, and choosing it filters by the stored id, to exactly that event.
      const menu = page.locator('#filter-actor')
      await menu.locator('option', { hasText: 'acme⟨U+200B⟩' }).waitFor({ state: 'attached' })
      const labels = await menu.locator('option').allTextContents()
      expect(labels.filter((label) => label.includes('acme'))).toHaveLength(2)
      expect(labels.join('\n')).not.toMatch(/[\u200B-\u200F\u202A-\u202E\u2060-\u2065\uFEFF]/)
      await page.selectOption('#filter-actor', '\u001factor:user\u001fu_acme\u200B')
      const ids = () => rows(page).evaluateAll((elements) => elements.map((element) => element.getAttribute('data-event-id')))
      await poll(ids).toEqual([drafts[1]?.id])
      await page.selectOption('#filter-actor', '\u001factor:user\u001fu_acme')
      await poll(ids).toEqual([drafts[2]?.id])
      await page.selectOption('#filter-actor', '\u001factor:user\u001fu_evil')
      await poll(ids).toEqual([drafts[0]?.id])
      expect(await menu.evaluate((select) => (select as HTMLSelectElement).selectedOptions[0]?.textContent ?? '')).toContain('admin⟨U+202E⟩gnp.exe')

      // The panel: actor, resource, request, metadata key and value, the diff and the raw JSON, all marked.
      await rows(page).first().click()
      const panel = page.getByTestId('event-detail')
      await panel.getByTestId('diff').waitFor()
      const text = await panel.innerText()
      for (const shown of ['admin⟨U+202E⟩gnp.exe', 'evil⟨U+2066⟩@evil.example', 'invoice⟨U+202E⟩fdp.exe', 'agent⟨U+202E⟩/0', 'req⟨U+200B⟩0', 'no⟨U+200B⟩te', 'va⟨U+2067⟩lue', 'Q3⟨U+202E⟩']) {
        expect(text).toContain(shown)
      }
      await panel.locator('details.detail__raw summary').click()
      expect(await panel.locator('pre').innerText()).toContain('"name": "admin⟨U+202E⟩gnp.exe"')
      // None applied; the only zero-width joiner left is the one inside the emoji sequence, which stays one emoji.
      expect(text).not.toMatch(/[\u200B\u200C\u200E\u200F\u202A-\u202E\u2060-\u2069\uFEFF]/)
      expect(text.replaceAll('👩‍💻', '')).not.toContain('\u200D')
      expect(text).toContain('👩‍💻 dev')
      expect(await axeViolations(page)).toEqual([])
      expect(problems).toEqual([])
    } finally {
      await context.close()
    }
  })
})

describe('admin page under another mount path', () => {
  it('finds its API from its own URL under any base, and {base} without the slash redirects to {base}/', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    await store.init()
    await seedAdminUiLog(store, { tenantId: 'tenant-x', count: 12 })
    const admin = createAuditAdmin({
      store,
      basePath: '/ops/tools/audit-log',
      authorize: () => ({ tenantId: 'tenant-x', actor: { type: 'user', id: 'u_ops', name: 'Ops' } }),
    })
    const server = createServer((req, res) => void serveNodeRequest(admin, req, res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const context = await browser.newContext({ locale: 'en-US' })
    const page = await context.newPage()
    const apiCalls: string[] = []
    page.on('request', (request) => {
      if (request.url().includes('/api/')) apiCalls.push(new URL(request.url()).pathname)
    })
    try {
      await page.goto(`${origin}/ops/tools/audit-log`)
      expect(new URL(page.url()).pathname).toBe('/ops/tools/audit-log/')
      await poll(() => rows(page).count()).toBe(13)
      expect(apiCalls.length).toBeGreaterThan(0)
      expect(apiCalls.every((path) => path.startsWith('/ops/tools/audit-log/api/'))).toBe(true)
    } finally {
      await context.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await store.close()
    }
  })
})

describe('admin page and a page on another port of the same host', () => {
  it("cannot make the signed-in admin's browser export (SameSite=Strict lets the cookie go: only the port differs); a link from there still opens the page", async () => {
    const store = createSqliteStore({ path: ':memory:' })
    await store.init()
    await seedAdminUiLog(store, { tenantId: 'tenant-x', count: 12 })
    const logger = createAuditLogger({ store, onError: () => {} })
    const admin = createAuditAdmin({
      logger,
      basePath: '/admin/audit',
      authorize: (request) =>
        /(?:^|;\s*)admin_session=ok(?:;|$)/.test(request.headers.get('cookie') ?? '') ? { tenantId: 'tenant-x', actor: { type: 'user', id: 'u_admin' } } : null,
    })
    // What the admin server answered, with the Fetch Metadata Chromium sent.
    const served: [path: string, site: string | undefined, mode: string | undefined, status: number][] = []
    const server = createServer((req, res) => {
      res.on('finish', () => served.push([req.url ?? '', req.headers['sec-fetch-site'] as string | undefined, req.headers['sec-fetch-mode'] as string | undefined, res.statusCode]))
      void serveNodeRequest(admin, req, res)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const attacker = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8')
      res.end(`<!doctype html><title>elsewhere</title><img src="${origin}/admin/audit/api/export.csv?q=csrf-export" alt=""><a id="admin" href="${origin}/admin/audit/">Audit log</a>`)
    })
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve))
    const attackerOrigin = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`
    const context = await browser.newContext({ locale: 'en-US' })
    await context.addCookies([{ name: 'admin_session', value: 'ok', url: origin, sameSite: 'Strict', httpOnly: true }])
    const page = await context.newPage()
    try {
      await page.goto(attackerOrigin)
      await poll(() => served.find(([path]) => path.includes('export.csv'))).toEqual(['/admin/audit/api/export.csv?q=csrf-export', 'same-site', 'no-cors', 403])
      // The link opens the page, whose own calls are same-origin and answered.
      await page.click('#admin')
      await poll(() => rows(page).count()).toBeGreaterThan(0)
      expect(served.find(([path]) => path === '/admin/audit/')).toEqual(['/admin/audit/', 'same-site', 'navigate', 200])
      const calls = served.filter(([path]) => path.startsWith('/admin/audit/api/'))
      expect(calls.length).toBeGreaterThan(1)
      expect(calls.slice(1).every(([, site, , status]) => site === 'same-origin' && status === 200)).toBe(true)
      await logger.flush()
      const window = { tenantId: 'tenant-x', from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z', limit: 10, action: 'audit_log_exported' }
      expect((await store.query(window)).items).toEqual([])
    } finally {
      await context.close()
      for (const each of [server, attacker]) {
        each.closeAllConnections()
        await new Promise<void>((resolve) => each.close(() => resolve()))
      }
      await logger.close()
      await store.close()
    }
  })
})

// The page and its API are one handler in core; each adapter only mounts it. The same page works on all three.
describe.each(['hono', 'nestjs'] as const)('admin page mounted by the %s demo', (framework) => {
  let other: AdminUiDemo

  beforeAll(async () => {
    other = await startAdminUiDemo({ seed: 'fixture', framework })
  })

  afterAll(async () => {
    await other?.close()
  })

  it('lists, opens an event, tests the SIEM connection (a JSON POST body) and verifies', async () => {
    const context = await browser.newContext({ locale: 'en-US', timezoneId: TIME_ZONE, viewport: { width: 1280, height: 860 } })
    await context.addCookies([other.cookie])
    const page = await context.newPage()
    const problems: string[] = []
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text())
    })
    await page.goto(other.adminUrl)
    await poll(() => rows(page).count()).toBe(50)
    const otherSeed = other.seed as SeededLog
    await page.locator(`tr[data-event-id="${otherSeed.diffEvent.id}"]`).click()
    await page.getByTestId('diff').locator('tr[data-path="role"][data-kind="changed"]').waitFor()
    await page.keyboard.press('Escape')

    await page.getByRole('tab', { name: 'SIEM integration' }).click()
    await page.getByRole('radio', { name: 'HTTP/Protobuf' }).check()
    await page.locator('#siem-endpoint').fill(receiver.endpoint)
    await page.locator('#siem-headers').fill(`{"Authorization": "Bearer ${TOKEN}"}`)
    await page.getByTestId('test-connection').click()
    await page.locator('[data-testid="test-result"][data-result="ok"]').waitFor()

    await page.getByRole('tab', { name: 'Integrity' }).click()
    await page.getByTestId('run-verify').click()
    await page.locator('[data-testid="verify-result"][data-ok="true"]').waitFor()
    expect(problems).toEqual([])
    await context.close()
  })
})

// Japanese users: the page as they meet it with the Japanese switch on (long names without spaces, Japanese
// dates, errors that the API words in English) and the CSV they open in Excel.
describe('admin page for Japanese users', () => {
  const LONG_NAME = '株式会社サンプル情報システム開発本部第一開発部プラットフォームグループ所属の山田太郎左衛門'
  const LONG_ACTION = 'コンテンツの公開日時を更新しました_複数コンテンツの作成者を一括で更新_予約設定の更新'
  const TRICKY_NAME = '「新製品発表会のお知らせ, 東京・大阪」"特別版"\n2行目の説明文がここに入ります。'
  let store: ReturnType<typeof createSqliteStore>
  let url: string
  let stop: (() => Promise<void>) | undefined

  beforeAll(async () => {
    store = createSqliteStore({ path: ':memory:' })
    await store.init()
    const drafts: UnsealedEvent[] = [0, 1, 2].map((i) => ({
      id: uuidv7(NOW - (3 - i) * 60_000),
      occurredAt: new Date(NOW - (3 - i) * 60_000).toISOString(),
      chainId: 't-ja',
      tenantId: 't-ja',
      actor: { type: 'user', id: `u_${i}`, name: LONG_NAME, email: 'yamada.taro.zaemon@example-corporation.co.jp' },
      action: LONG_ACTION,
      resource: { type: 'コンテンツ', id: 'content_0123456789abcdef', name: TRICKY_NAME },
      targets: [{ type: 'メンバー', id: 'm1', name: LONG_NAME }],
      outcome: 'success',
      metadata: { メモ: 'カンマ, と "引用符" と\n改行' },
      context: { ip: '203.0.113.5' },
    }))
    await store.append(drafts, createSealer())
    ;({ url, stop } = await serveAdminPage(store, 't-ja'))
  })

  afterAll(async () => {
    await stop?.()
    await store?.close()
  })

  it('shows times as YYYY/MM/DD HH:mm:ss in Japanese, with the zone in the header', async () => {
    const session = await open({ locale: 'ja-JP' })
    const { page } = session
    await poll(() => rows(page).count()).toBe(50)
    const cell = rows(page).first().locator('td[data-column="occurredAt"] time')
    expect(await cell.innerText()).toMatch(/^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}$/)
    expect(await cell.getAttribute('title')).toMatch(/^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}\.\d{3} UTC$/)
    expect(await page.locator('th[data-column="occurredAt"] .th-note').innerText()).toBe('UTC+09:00')
    // English keeps the ISO-like order.
    await page.getByRole('button', { name: 'English' }).click()
    await poll(() => cell.innerText()).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/)
    await done(session)
  })

  it('words the SIEM header check and an API refusal of Save in Japanese, the API sentence marked as English', async () => {
    const session = await open({ locale: 'ja-JP', hash: '#siem' })
    const { page } = session
    await page.locator('#siem-headers').fill('{"Authorization": ')
    const headersError = page.locator('#siem-headers-error')
    // The browser's own JSON.parse message is English ("Unexpected end of JSON input"): not for this page.
    await headersError.waitFor()
    expect(await headersError.innerText()).toMatch(/^JSON として正しくありません/)
    expect(await headersError.innerText()).not.toMatch(/Unexpected|position|token|input/i)
    await page.locator('#siem-headers').fill('')
    await page.getByRole('radio', { name: 'HTTP/Protobuf' }).check()
    await page.locator('#siem-endpoint').fill('http://169.254.169.254/v1/logs')
    await page.getByRole('button', { name: '保存' }).click()
    const alert = page.locator('main [role="alert"]').filter({ hasText: 'ENDPOINT_NOT_ALLOWED' })
    await alert.waitFor()
    const text = await alert.innerText()
    // A Japanese sentence says what happened; the API's English sentence is marked as English for screen readers.
    expect(text.split('\n')[0]).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/)
    expect(await alert.locator('[lang="en"]').innerText()).toContain('169.254.169.254')
    // The refused PUT is the only console error (Chromium logs every 4xx).
    session.problems = session.problems.filter((problem) => !problem.includes('status of 400'))
    await done(session)
  })

  it('names the target the same way in the filter, the table and the detail panel (対象, not リソース)', async () => {
    const context = await browser.newContext({ locale: 'ja-JP', timezoneId: TIME_ZONE, viewport: { width: 1280, height: 860 } })
    try {
      const page = await context.newPage()
      await page.goto(url)
      await poll(() => rows(page).count()).toBe(3)
      // The menu filters the column 対象の種類: one name for one thing.
      expect(await page.locator('label[for="filter-resource"]').innerText()).toBe(await page.locator('th[data-column="resourceType"]').innerText())
      expect(await page.locator('#filter-q').getAttribute('placeholder')).not.toContain('リソース')
      await rows(page).first().click()
      const panel = page.getByTestId('event-detail')
      await panel.getByText('変更内容').first().waitFor()
      expect(await panel.innerText()).not.toContain('リソース')
      expect(await panel.locator('.props dt').allInnerTexts()).toContain('対象')
    } finally {
      await context.close()
    }
  })

  it('does not call the time column UTC in 表示項目の編集 when the table shows it in local time', async () => {
    const context = await browser.newContext({ locale: 'ja-JP', timezoneId: TIME_ZONE, viewport: { width: 1280, height: 860 } })
    try {
      const page = await context.newPage()
      await page.goto(url)
      await poll(() => rows(page).count()).toBe(3)
      await page.getByRole('button', { name: '表示項目の編集' }).click()
      const option = page.getByTestId('columns-dialog').locator('label.check').filter({ has: page.locator('input[value="occurredAt"]') })
      expect(await option.innerText()).toBe('日時')
    } finally {
      await context.close()
    }
  })

  it('keeps long Japanese names and actions readable in the detail panel at 390 px', async () => {
    const context = await browser.newContext({ locale: 'ja-JP', timezoneId: TIME_ZONE, viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })
    try {
      const page = await context.newPage()
      await page.goto(url)
      await poll(() => rows(page).count()).toBe(3)
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
      await rows(page).first().click()
      const panel = page.getByTestId('event-detail')
      await panel.getByText('変更内容').first().waitFor()
      // Nothing is cut off sideways: the panel's content wraps to its width.
      expect(await panel.locator('.dialog__body').evaluate((body) => body.scrollWidth - body.clientWidth)).toBeLessThanOrEqual(0)
      for (const selector of ['.detail__headline .action', '.props .stack__main']) {
        expect(await panel.locator(selector).first().evaluate((el) => el.scrollWidth - el.clientWidth)).toBeLessThanOrEqual(0)
      }
    } finally {
      await context.close()
    }
  })

  it('downloads a ja CSV for Excel: BOM, the manual\'s Japanese headers, Japanese text with commas, quotes and line breaks intact', async () => {
    const context = await browser.newContext({ locale: 'ja-JP', timezoneId: TIME_ZONE, viewport: { width: 1280, height: 860 }, acceptDownloads: true })
    // The dialog offers days counted from the browser's today: the page's clock reads NOW (timers still run).
    await context.clock.setFixedTime(NOW)
    try {
      const page = await context.newPage()
      await page.goto(url)
      await poll(() => rows(page).count()).toBe(3)
      await page.getByRole('button', { name: 'ダウンロード' }).click()
      const dialog = page.getByTestId('export-dialog')
      const [download] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('button', { name: 'ダウンロード', exact: true }).click()])
      // Named after the Tokyo days the dialog offered (30 days ago through today), not their UTC instants.
      expect(download.suggestedFilename()).toBe(`audit-log_${tokyoDay(30)}_${tokyoDay(0)}.csv`)
      const bytes = await readFile((await download.path()) as string)
      expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
      const table = parse(bytes.toString('utf8'), { bom: true }) as string[][]
      expect(table[0]).toEqual(['日時 (UTC)', 'IPアドレス', 'ユーザー', '操作内容', '対象の種類', '対象名', 'その他の対象', '結果'])
      expect(table.length).toBe(4)
      expect(table[1]?.[0]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
      expect(table[1]?.slice(2, 6)).toEqual([LONG_NAME, LONG_ACTION, 'コンテンツ', TRICKY_NAME])
    } finally {
      await context.close()
    }
  })
})
