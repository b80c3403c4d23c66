// The peer ranges npm checks at install time must admit only versions that have every module the adapter imports:
// with `hono >=4.0.0`, an app on Hono 4.7 installed cleanly and then failed at startup with
// ERR_PACKAGE_PATH_NOT_EXPORTED ('./route'). The oldest versions below were run against the packed packages.
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/** The first release that has each module the adapter imports (ones not listed fail the test: add them). */
const FIRST_RELEASE: Record<string, string> = {
  hono: '4.0.0',
  'hono/router': '4.0.0',
  'hono/types': '4.0.0',
  'hono/utils/constants': '4.0.0',
  // routePath, matchedRoutes, basePath
  'hono/route': '4.8.0',
  '@hono/node-server': '1.0.0',
  // getConnInfo
  '@hono/node-server/conninfo': '1.12.0',
}

const src = fileURLToPath(new URL('.', import.meta.url))
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { peerDependencies: Record<string, string> }

/** Every runtime or type import of a peer in the adapter's own (non-test) sources. */
function importedPeerModules(): string[] {
  const found = new Set<string>()
  for (const file of readdirSync(src)) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue
    for (const [, specifier] of readFileSync(`${src}/${file}`, 'utf8').matchAll(/\bfrom '((?:hono|@hono\/node-server)(?:\/[^']*)?)'/g)) {
      if (specifier) found.add(specifier)
    }
  }
  return [...found].sort()
}

function packageOf(specifier: string): string {
  return specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? specifier)
}

const parts = (version: string): number[] => version.split('.').map(Number)
function atLeast(version: string, floor: string): boolean {
  const [a, b] = [parts(version), parts(floor)]
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0)
  return true
}

describe('peer dependency ranges', () => {
  it.each(importedPeerModules())('the peer range of %s starts at a release that has it', (specifier) => {
    const first = FIRST_RELEASE[specifier]
    expect(first, `add the first release of ${specifier} to FIRST_RELEASE`).toBeDefined()
    const range = pkg.peerDependencies[packageOf(specifier)]
    const floor = /^>=\s*(\d+\.\d+\.\d+)$/.exec(range ?? '')?.[1]
    expect(floor, `peerDependencies["${packageOf(specifier)}"] is ">=x.y.z"`).toBeDefined()
    expect(atLeast(floor as string, first as string), `${range} admits versions without ${specifier} (first in ${first})`).toBe(true)
  })
})
