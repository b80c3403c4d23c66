// Screenshots of the admin page for the docs: the demo with its own seeded history, SIEM delivering to a local
// OTLP receiver, headless Chromium at 1280 px (and 390 px).
//   pnpm exec tsx --tsconfig apps/demo/tsconfig.json --conditions=source scripts/screenshots.ts            writes docs/screenshots/*.png
//   pnpm exec tsx --tsconfig apps/demo/tsconfig.json --conditions=source scripts/screenshots.ts --serve    keeps the demo running to look around
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Browser, BrowserContextOptions, Page } from 'playwright-core'
import { startOtlpReceiver } from '@auditkit/test-utils'
import { startAdminUiDemo } from '../test/e2e/admin-ui-backend.js'
import { launchChromium } from '../test/e2e/chromium.js'

const OUT = fileURLToPath(new URL('../docs/screenshots/', import.meta.url))
const TOKEN = 'screenshot-collector-token'

const demo = await startAdminUiDemo({ seed: 'demo', port: process.argv.includes('--serve') ? 3000 : 0 })
const receiver = await startOtlpReceiver({ protocol: 'http/protobuf', bearerToken: TOKEN })
const authHeaders = { cookie: `${demo.cookie.name}=${demo.cookie.value}`, 'content-type': 'application/json' }

// SIEM on, delivering to the receiver, so that the status card shows a real delivery.
const saved = await fetch(`${demo.adminUrl}api/settings/siem`, {
  method: 'PUT',
  headers: authHeaders,
  body: JSON.stringify({ enabled: true, endpoint: receiver.endpoint, protocol: 'http/protobuf', headers: { Authorization: `Bearer ${TOKEN}` } }),
})
if (!saved.ok) throw new Error(`saving the SIEM settings failed: ${saved.status} ${await saved.text()}`)
await waitForDelivery()

if (process.argv.includes('--serve')) {
  console.log(`Admin page: ${demo.adminUrl} (cookie ${demo.cookie.name}=${demo.cookie.value}); Ctrl+C to stop`)
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()))
} else {
  mkdirSync(OUT, { recursive: true })
  const browser = await launchChromium()
  try {
    await shoot(browser, 'logs-en.png', { locale: 'en-US' }, async (page) => {
      await page.locator('tr.log-row').nth(20).waitFor()
    })
    await shoot(browser, 'event-detail-en.png', { locale: 'en-US' }, async (page) => {
      await page.locator('#filter-action option[value="member_role_updated"]').waitFor({ state: 'attached' })
      await page.selectOption('#filter-action', 'member_role_updated')
      await page.locator('tr.log-row').first().click()
      await page.getByTestId('diff').waitFor()
    })
    await shoot(browser, 'siem-en.png', { locale: 'en-US' }, async (page) => {
      await page.getByRole('tab', { name: 'SIEM integration' }).click()
      await page.getByTestId('test-connection').click()
      await page.getByTestId('test-result').waitFor()
    })
    await shoot(browser, 'logs-ja.png', { locale: 'ja-JP' }, async (page) => {
      await page.locator('tr.log-row').nth(20).waitFor()
      await page.getByRole('button', { name: '表示項目の編集' }).click()
      await page.getByTestId('columns-dialog').waitFor()
    })
    await shoot(browser, 'siem-ja.png', { locale: 'ja-JP' }, async (page) => {
      await page.getByRole('tab', { name: 'SIEM 連携' }).click()
      await page.locator('#siem-headers').fill('{"Authorization": "Bearer wrong-token"}')
      await page.getByTestId('test-connection').click()
      await page.getByTestId('test-result').waitFor()
    })
    await shoot(browser, 'integrity-en.png', { locale: 'en-US' }, async (page) => {
      await page.getByRole('tab', { name: 'Integrity' }).click()
      await page.getByTestId('run-verify').click()
      await page.getByTestId('verify-result').waitFor()
    })
    await shoot(browser, 'logs-dark-en.png', { locale: 'en-US', colorScheme: 'dark' }, async (page) => {
      await page.locator('tr.log-row').nth(20).waitFor()
    })
    await shoot(browser, 'logs-ja-390.png', { locale: 'ja-JP', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }, async (page) => {
      await page.locator('tr.log-row').nth(5).waitFor()
    })
  } finally {
    await browser.close()
  }
}
await receiver.close()
await demo.close()

async function shoot(browser: Browser, file: string, options: BrowserContextOptions, act: (page: Page) => Promise<void>): Promise<void> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: 'Asia/Tokyo', deviceScaleFactor: 1, ...options })
  await context.addCookies([demo.cookie])
  const page = await context.newPage()
  await page.goto(demo.adminUrl)
  await act(page)
  // Let transitions and the last fetches settle.
  await page.waitForTimeout(300)
  await page.screenshot({ path: `${OUT}${file}` })
  await context.close()
  console.log(`docs/screenshots/${file}`)
}

async function waitForDelivery(): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const answer = (await (await fetch(`${demo.adminUrl}api/settings/siem`, { headers: authHeaders })).json()) as { status?: { state?: string } }
    if (answer.status?.state === 'up_to_date') return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  console.warn('SIEM delivery did not catch up within 20 s; the screenshot shows it as it is')
}
