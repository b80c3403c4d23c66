// The `auditkit` command as installing the workspace links it (node_modules/.bin), running the built package.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const command = join(root, 'node_modules', '.bin', 'auditkit')
const dir = mkdtempSync(join(tmpdir(), 'auditkit-cli-installed-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it('is linked by the install and runs the built CLI: keygen writes a key pair, a bad command exits 2', () => {
  expect(existsSync(command)).toBe(true)
  const privateKey = join(dir, 'signing.pem')
  const publicKey = join(dir, 'signing.pub.pem')
  const keygen = spawnSync(command, ['keygen', '--private-key', privateKey, '--public-key', publicKey], { encoding: 'utf8' })
  expect(keygen.status, keygen.stderr).toBe(0)
  expect(readFileSync(privateKey, 'utf8')).toContain('BEGIN PRIVATE KEY')
  expect(readFileSync(publicKey, 'utf8')).toContain('BEGIN PUBLIC KEY')

  const wrong = spawnSync(command, ['verfiy'], { encoding: 'utf8' })
  expect(wrong.status).toBe(2)
  expect(wrong.stderr).toMatch(/Usage|unknown/i)
})

it('prints the version of the installed package', () => {
  const { version } = JSON.parse(readFileSync(join(root, 'packages', 'core', 'package.json'), 'utf8')) as { version: string }
  const printed = spawnSync(command, ['--version'], { encoding: 'utf8' })
  expect(printed.status, printed.stderr).toBe(0)
  expect(printed.stdout).toBe(`auditkit ${version}\n`)
})
