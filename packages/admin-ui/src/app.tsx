import { useEffect, useMemo, useState } from 'preact/hooks'
import { I18nContext, initialLocale, saveLocale } from './i18n/i18n.js'
import { LOCALES, MESSAGES, type Locale } from './i18n/messages.js'
import { IntegrityTab } from './integrity/IntegrityTab.js'
import { LogsTab } from './logs/LogsTab.js'
import { SiemTab } from './siem/SiemTab.js'

const TABS = ['logs', 'siem', 'integrity'] as const
type Tab = (typeof TABS)[number]

function tabFromHash(): Tab {
  const hash = window.location.hash.replace(/^#/, '')
  return (TABS as readonly string[]).includes(hash) ? (hash as Tab) : 'logs'
}

export function App() {
  const [locale, setLocale] = useState<Locale>(initialLocale)
  const [tab, setTab] = useState<Tab>(tabFromHash)
  const i18n = useMemo(() => ({ locale, t: MESSAGES[locale] }), [locale])
  const { t } = i18n

  useEffect(() => {
    document.documentElement.lang = locale
    document.title = t.appTitle
  }, [locale, t])

  useEffect(() => {
    // Back and Forward (popstate) and a hash edited by hand (hashchange) both bring the tab of that entry.
    const onHistory = () => setTab(tabFromHash())
    window.addEventListener('hashchange', onHistory)
    window.addEventListener('popstate', onHistory)
    return () => {
      window.removeEventListener('hashchange', onHistory)
      window.removeEventListener('popstate', onHistory)
    }
  }, [])

  function select(next: Tab, focus = false) {
    // The tab lives in the hash, one history entry per switch, so that reload, Back and Forward keep it.
    if (next !== tab) history.pushState(null, '', `${window.location.pathname}${window.location.search}#${next}`)
    setTab(next)
    if (focus) document.getElementById(`tab-${next}`)?.focus()
  }

  function onTabKey(event: KeyboardEvent) {
    const index = TABS.indexOf(tab)
    let next: number | null = null
    if (event.key === 'ArrowRight') next = (index + 1) % TABS.length
    else if (event.key === 'ArrowLeft') next = (index - 1 + TABS.length) % TABS.length
    else if (event.key === 'Home') next = 0
    else if (event.key === 'End') next = TABS.length - 1
    if (next === null) return
    event.preventDefault()
    select(TABS[next] as Tab, true)
  }

  const labels: Record<Tab, string> = { logs: t.tabLogs, siem: t.tabSiem, integrity: t.tabIntegrity }

  return (
    <I18nContext.Provider value={i18n}>
      <a class="skip-link" href="#main" onClick={(event) => {
        // The hash is the tab; move focus instead of navigating.
        event.preventDefault()
        document.getElementById('main')?.focus()
      }}>
        {t.skipToContent}
      </a>
      <header class="app-header">
        <div class="app-header__inner">
          <div class="brand">
            <svg class="brand__mark" viewBox="0 0 24 24" width="28" height="28" aria-hidden="true">
              <path d="M12 2l8 3.5v6c0 5-3.4 9.1-8 10.5-4.6-1.4-8-5.5-8-10.5v-6L12 2z" fill="currentColor" opacity=".14" />
              <path d="M12 2l8 3.5v6c0 5-3.4 9.1-8 10.5-4.6-1.4-8-5.5-8-10.5v-6L12 2z" fill="none" stroke="currentColor" stroke-width="1.6" />
              <path d="M8.5 12.2l2.4 2.4 4.8-5" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" />
            </svg>
            <div>
              <h1 class="brand__title">{t.appTitle}</h1>
              <p class="brand__subtitle">{t.appSubtitle}</p>
            </div>
          </div>
          <div class="lang-switch" role="group" aria-label={t.language}>
            {LOCALES.map((code) => (
              <button
                key={code}
                type="button"
                lang={code}
                class={`lang-switch__option${code === locale ? ' is-active' : ''}`}
                aria-pressed={code === locale}
                onClick={() => {
                  setLocale(code)
                  saveLocale(code)
                }}
              >
                {code === 'en' ? 'English' : '日本語'}
              </button>
            ))}
          </div>
        </div>
        <nav class="tabs" role="tablist" aria-label={t.appTitle} onKeyDown={onTabKey}>
          {TABS.map((name) => (
            <button
              key={name}
              id={`tab-${name}`}
              type="button"
              role="tab"
              class="tabs__tab"
              aria-selected={tab === name}
              aria-controls="main"
              tabIndex={tab === name ? 0 : -1}
              onClick={() => select(name)}
            >
              {labels[name]}
            </button>
          ))}
        </nav>
      </header>
      <main id="main" class="app-main" role="tabpanel" aria-labelledby={`tab-${tab}`} tabIndex={-1}>
        {tab === 'logs' && <LogsTab />}
        {tab === 'siem' && <SiemTab />}
        {tab === 'integrity' && <IntegrityTab />}
      </main>
    </I18nContext.Provider>
  )
}
