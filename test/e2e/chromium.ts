import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

/** Debian's Chromium (no browser download is possible on these machines); `AUDITKIT_CHROMIUM` overrides the path. */
export const CHROMIUM_PATH = process.env.AUDITKIT_CHROMIUM ?? '/usr/bin/chromium'

/**
 * Headless Chromium, quiet and offline: no sandbox (root in containers), no GPU, no background traffic.
 * `extraArgs`: more command-line flags (e.g. `--host-resolver-rules` to reach a local server under another host name).
 */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install it with "apt-get install -y chromium" or set AUDITKIT_CHROMIUM`)
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', ...extraArgs],
  })
}
