import { describe, expect, it } from 'vitest'
import { BREAK_REASONS, verifyChain } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { seedAdminUiLog } from '../../../../test/e2e/admin-ui-seed.js'
import { localizeWarning, reasonTitle } from './verdicts.js'

describe('Japanese wording of the verify results', () => {
  it('titles every break reason core can report in Japanese, and leaves the English page and unknown reasons alone', () => {
    for (const reason of BREAK_REASONS) expect(reasonTitle(reason, 'ja'), reason).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/)
    expect(reasonTitle('modified', 'en')).toBeNull()
    expect(reasonTitle('some_future_reason', 'ja')).toBeNull()
    expect(reasonTitle('toString', 'ja')).toBeNull()
  })

  it("translates every warning core's verify actually writes, keeping the numbers; an unknown one stays in English", async () => {
    const store = createSqliteStore({ path: ':memory:' })
    await store.init()
    try {
      await seedAdminUiLog(store, { tenantId: 'acme', count: 12 })
      // No key and no checkpoint: the public-key, no-checkpoint and events-after-the-last-checkpoint warnings.
      const seeded = await verifyChain({ source: store, chainId: 'acme' })
      // A chain with nothing in it: the nothing-verified warning.
      const empty = await verifyChain({ source: store, chainId: 'no-such-tenant' })
      const warnings = [...seeded.warnings, ...empty.warnings]
      expect(warnings).toHaveLength(4)
      const translated = warnings.map((warning) => localizeWarning(warning, 'ja'))
      for (const [index, result] of translated.entries()) {
        expect(result.lang, warnings[index]).toBe('ja')
        expect(result.text).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/)
      }
      const head = seeded.head?.seq as number
      expect(translated.some((result) => result.text.startsWith(`連番 1〜${head} のイベント`))).toBe(true)
      // The English page shows the API's text unchanged.
      for (const warning of warnings) expect(localizeWarning(warning, 'en')).toEqual({ text: warning, lang: 'en' })
    } finally {
      await store.close()
    }
    expect(localizeWarning('A warning this page has never seen', 'ja')).toEqual({ text: 'A warning this page has never seen', lang: 'en' })
  })
})
