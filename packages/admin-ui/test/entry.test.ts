import { createRequire } from 'node:module'
import { isAbsolute, join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { assetsDir, indexHtmlPath } from '../index.js'

const packageDir = fileURLToPath(new URL('..', import.meta.url))

describe('package entry', () => {
  it('exports the absolute dist/ path, the same from ESM and CommonJS', () => {
    expect(isAbsolute(assetsDir)).toBe(true)
    expect(assetsDir).toBe(join(packageDir, 'dist') + sep)
    expect(indexHtmlPath).toBe(join(packageDir, 'dist', 'index.html'))
    const required = createRequire(import.meta.url)('../index.cjs') as { assetsDir: string; indexHtmlPath: string }
    expect(required).toEqual({ assetsDir, indexHtmlPath })
  })
})
