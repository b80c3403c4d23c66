import { createContext } from 'preact'
import { useContext } from 'preact/hooks'
import { LOCALES, MESSAGES, type Locale, type Messages } from './messages.js'
import { readStored, writeStored } from '../lib/storage.js'

const LOCALE_KEY = 'auditkit.admin.locale'

/** The saved choice, else the browser's language (`ja*` → Japanese), else English. */
export function initialLocale(): Locale {
  const saved = readStored<string>(LOCALE_KEY)
  if (saved !== null && (LOCALES as readonly string[]).includes(saved)) return saved as Locale
  const languages = navigator.languages?.length ? navigator.languages : [navigator.language]
  for (const language of languages) {
    const base = language.toLowerCase().split('-')[0]
    if (base === 'ja') return 'ja'
    if (base === 'en') return 'en'
  }
  return 'en'
}

export function saveLocale(locale: Locale): void {
  writeStored(LOCALE_KEY, locale)
}

export interface I18n {
  locale: Locale
  t: Messages
}

export const I18nContext = createContext<I18n>({ locale: 'en', t: MESSAGES.en })

export function useI18n(): I18n {
  return useContext(I18nContext)
}
