import type { Locale } from '../i18n/messages.js'

/**
 * Japanese wording of what the verify API answers in English (packages/core/src/integrity/verify.ts): a title per
 * `firstBreak.reason` and the known `warnings`. Only what maps reliably is translated: a reason or warning this page
 * does not know (a newer server, a custom integrity service) stays in the API's English.
 */

/** The verdict's title per break reason, in Japanese (the English page keeps its generic title and the API's sentence). */
export const VERIFY_REASON_TITLES_JA: Record<string, string> = {
  modified: 'イベントの内容が記録後に変更されています（ハッシュが一致しません）',
  deleted: 'イベントが削除されています（連番に欠落があります）',
  reordered: 'イベントの順序が入れ替えられています',
  tail_truncated: 'チェーンの末尾のイベントが失われています（署名付きチェックポイントまたはエクスポートが示す範囲に届きません）',
  forged_checkpoint: 'チェックポイントの署名を公開鍵で検証できません（偽造されたか、別の鍵で署名されています）',
  missing_checkpoint: '署名付きチェックポイントが欠けています（削除・差し替えられたか、最後のチェックポイント以降のイベントが多すぎます）',
}

/** The notice title for a broken chain in this locale, or null to keep the generic one. */
export function reasonTitle(reason: string, locale: Locale): string | null {
  if (locale !== 'ja') return null
  return Object.hasOwn(VERIFY_REASON_TITLES_JA, reason) ? (VERIFY_REASON_TITLES_JA[reason] as string) : null
}

/** The API's known warnings: matched on the start of the sentence, which carries no variable part (but the last one). */
const WARNINGS_JA: readonly { match: RegExp; ja: (match: RegExpExecArray) => string }[] = [
  {
    match: /^No events and no checkpoints of this chain in this source: nothing was verified/,
    ja: () => 'この期間にはこのチェーンのイベントもチェックポイントもありません。何も検証されていません。',
  },
  {
    match: /^No public key: checkpoint signatures were not checked/,
    ja: () => '公開鍵が設定されていないため、チェックポイントの署名は検証されていません。チェーンを書き換えてチェックポイントも作り直されると、この検証では検出できません。',
  },
  {
    match: /^The chain has no checkpoints and no HMAC key was used/,
    ja: () => 'チェーンにチェックポイントがなく、HMAC キーも使われていません。書き込み権限があれば、誰でもチェーン全体を計算し直せます。',
  },
  {
    match: /^Events (\d+)\.\.(\d+) follow the last checkpoint: deleting them would not be detected/,
    ja: (match) => `連番 ${match[1]}〜${match[2]} のイベントは最後のチェックポイントより後にあります。これらが削除されても、この検証では検出できません。`,
  },
]

/** A warning in this locale, with the language it is written in (an unknown one stays in English). */
export function localizeWarning(warning: string, locale: Locale): { text: string; lang: Locale } {
  if (locale === 'ja') {
    for (const { match, ja } of WARNINGS_JA) {
      const found = match.exec(warning)
      if (found !== null) return { text: ja(found), lang: 'ja' }
    }
  }
  return { text: warning, lang: 'en' }
}
