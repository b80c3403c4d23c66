import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { fetchSiemSettings, saveSiemSettings, testSiemConnection } from '../api/client.js'
import type { SiemProtocol, SiemSettings, SiemSettingsAnswer, SiemStatus, TestConnectionResult } from '../api/types.js'
import { useI18n } from '../i18n/i18n.js'
import { type Locale, type Messages, SIEM_STATE_NAMES, TEST_RESULT_HINTS_JA, TEST_RESULT_NAMES } from '../i18n/messages.js'
import { formatLocal, formatUtc } from '../lib/time.js'
import { ErrorNotice, ProblemList } from '../ui/ErrorNotice.js'
import { Spinner } from '../ui/Spinner.js'
import { checkEndpoint, checkHeaders } from './validate.js'

const STATUS_REFRESH_MS = 10_000

interface SiemForm {
  enabled: boolean
  endpoint: string
  protocol: SiemProtocol
  headersText: string
}

function toForm(settings: SiemSettings): SiemForm {
  return {
    enabled: settings.enabled,
    endpoint: settings.endpoint,
    protocol: settings.protocol,
    headersText: Object.keys(settings.headers).length === 0 ? '' : JSON.stringify(settings.headers, null, 2),
  }
}

function sameForm(a: SiemForm, b: SiemForm): boolean {
  return a.enabled === b.enabled && a.endpoint.trim() === b.endpoint.trim() && a.protocol === b.protocol && a.headersText.trim() === b.headersText.trim()
}

export function SiemTab() {
  const { t, locale } = useI18n()
  const [answer, setAnswer] = useState<SiemSettingsAnswer | null>(null)
  const [loadError, setLoadError] = useState<unknown>(null)
  const [saved, setSaved] = useState<SiemForm | null>(null)
  const [form, setForm] = useState<SiemForm>({ enabled: false, endpoint: '', protocol: 'http/protobuf', headersText: '' })
  const [touched, setTouched] = useState({ endpoint: false })
  const [testing, setTesting] = useState(false)
  const [testResult, setTestResult] = useState<TestConnectionResult | null>(null)
  const [testError, setTestError] = useState<unknown>(null)
  const [saving, setSaving] = useState(false)
  const [saveError, setSaveError] = useState<unknown>(null)
  const [savedNotice, setSavedNotice] = useState(false)
  const [refreshing, setRefreshing] = useState(false)
  const testPanel = useRef<HTMLElement>(null)

  // On narrow screens the answer sits below the form: bring it into view when it arrives.
  useEffect(() => {
    if (testResult !== null || testError !== null) testPanel.current?.scrollIntoView({ block: 'nearest', behavior: 'smooth' })
  }, [testResult, testError])

  const load = useCallback((replaceForm: boolean) => {
    setLoadError(null)
    setRefreshing(true)
    fetchSiemSettings()
      .then((next) => {
        setAnswer(next)
        if (replaceForm) {
          const initial = toForm(next.settings)
          setForm(initial)
          setSaved(initial)
        }
      })
      .catch(setLoadError)
      .finally(() => setRefreshing(false))
  }, [])
  useEffect(() => load(true), [load])

  // The delivery status moves on its own (events behind, retries): refresh it while the page is in view.
  useEffect(() => {
    const timer = window.setInterval(() => {
      if (document.visibilityState === 'visible') load(false)
    }, STATUS_REFRESH_MS)
    return () => window.clearInterval(timer)
  }, [load])

  const headers = checkHeaders(form.headersText, t)
  const endpointError = checkEndpoint(form.endpoint, form.enabled, t)
  const showEndpointError = endpointError !== null && (touched.endpoint || form.endpoint !== '')
  const valid = headers.ok && endpointError === null
  const dirty = saved !== null && !sameForm(form, saved)
  const hasMasked = headers.ok && Object.values(headers.headers).some((value) => /[*•]{3,}/.test(value))

  function settingsOf(): SiemSettings | null {
    if (!headers.ok) return null
    return { enabled: form.enabled, endpoint: form.endpoint.trim(), protocol: form.protocol, headers: headers.headers }
  }

  function update<K extends keyof SiemForm>(key: K, value: SiemForm[K]) {
    setForm((previous) => ({ ...previous, [key]: value }))
    setSavedNotice(false)
  }

  function runTest() {
    if (testing) return
    const settings = settingsOf()
    if (settings === null || checkEndpoint(form.endpoint, true, t) !== null) {
      setTouched({ endpoint: true })
      return
    }
    setTesting(true)
    setTestResult(null)
    setTestError(null)
    testSiemConnection(settings)
      .then(setTestResult)
      .catch(setTestError)
      .finally(() => setTesting(false))
  }

  function save(event: Event) {
    event.preventDefault()
    if (saving || !dirty) return
    const settings = settingsOf()
    setTouched({ endpoint: true })
    if (settings === null || !valid) return
    setSaving(true)
    setSaveError(null)
    saveSiemSettings(settings)
      .then((next) => {
        setAnswer(next)
        const stored = toForm(next.settings)
        setForm(stored)
        setSaved(stored)
        setSavedNotice(true)
      })
      .catch(setSaveError)
      .finally(() => setSaving(false))
  }

  if (answer === null && loadError === null) return <Spinner label={t.loading} />
  // Without the settings (e.g. the server has no SIEM service: 404) the form would only mislead.
  if (answer === null) return <ErrorNotice error={loadError} onRetry={() => load(true)} />

  return (
    <section class="tab-panel siem">
      {loadError !== null && <ErrorNotice error={loadError} onRetry={() => load(answer === null)} />}
      <div class="siem__grid">
        <form class="card form" onSubmit={save} aria-labelledby="siem-title" noValidate>
          <div class="card__header">
            <h2 id="siem-title">{t.siemTitle}</h2>
            {dirty && <span class="badge badge--neutral">{t.siemUnsaved}</span>}
          </div>
          <p class="muted">{t.siemIntro}</p>

          <label class="switch">
            <input type="checkbox" role="switch" id="siem-enabled" checked={form.enabled} onChange={(e) => update('enabled', e.currentTarget.checked)} />
            <span class="switch__track" aria-hidden="true">
              <span class="switch__thumb" />
            </span>
            <span class="switch__label">{t.siemEnable}</span>
          </label>

          <fieldset class="field">
            <legend>{t.siemProtocol}</legend>
            <div class="segmented">
              {(['grpc', 'http/protobuf'] as const).map((protocol) => (
                <label key={protocol} class="segmented__option">
                  <input type="radio" name="siem-protocol" value={protocol} checked={form.protocol === protocol} onChange={() => update('protocol', protocol)} />
                  <span>{protocol === 'grpc' ? t.siemGrpc : t.siemHttp}</span>
                </label>
              ))}
            </div>
            <p id="siem-protocol-hint" class="hint">
              {form.protocol === 'grpc' ? t.siemGrpcHint : t.siemHttpHint}
            </p>
          </fieldset>

          <div class="field">
            <label for="siem-endpoint">{t.siemEndpoint}</label>
            <input
              id="siem-endpoint"
              type="url"
              inputMode="url"
              autoComplete="off"
              spellcheck={false}
              placeholder={form.protocol === 'grpc' ? 'https://collector.example.com:4317' : 'https://collector.example.com:4318/v1/logs'}
              value={form.endpoint}
              aria-invalid={showEndpointError}
              aria-describedby={showEndpointError ? 'siem-endpoint-error siem-protocol-hint' : 'siem-protocol-hint'}
              onInput={(e) => update('endpoint', e.currentTarget.value)}
              onBlur={() => setTouched({ endpoint: true })}
            />
            {showEndpointError && (
              <p id="siem-endpoint-error" class="field-error">
                {endpointError}
              </p>
            )}
          </div>

          <div class="field">
            <label for="siem-headers">{t.siemHeaders}</label>
            <textarea
              id="siem-headers"
              class="mono"
              rows={3}
              spellcheck={false}
              autoComplete="off"
              placeholder='{"Authorization": "Bearer your-token"}'
              value={form.headersText}
              aria-invalid={!headers.ok}
              aria-describedby={headers.ok ? 'siem-headers-hint' : 'siem-headers-error siem-headers-hint'}
              onInput={(e) => update('headersText', e.currentTarget.value)}
            />
            {!headers.ok && (
              <p id="siem-headers-error" class="field-error" data-testid="headers-error">
                {headers.error}
              </p>
            )}
            <p id="siem-headers-hint" class="hint">
              {t.siemHeadersHint}
              {hasMasked && ` ${t.siemHeadersMasked}`}
            </p>
          </div>

          <div class="form__actions">
            {/* Busy or nothing to save is aria-disabled, not disabled: a disabled button drops keyboard focus to the page's start. */}
            <button type="button" class="button" disabled={!headers.ok} aria-disabled={testing} onClick={runTest} data-testid="test-connection">
              {testing ? t.siemTesting : t.siemTest}
            </button>
            <span class="spacer" />
            <button type="submit" class="button button--primary" disabled={!valid} aria-disabled={saving || !dirty} data-testid="save-siem">
              {saving ? t.siemSaving : t.siemSave}
            </button>
          </div>
          <p class="hint">{t.siemTestHelp}</p>
          <div aria-live="polite">
            {savedNotice && (
              <p class="notice notice--success" role="status">
                {t.siemSaved}
              </p>
            )}
          </div>
          {saveError !== null && <ErrorNotice error={saveError} />}
        </form>

        <div class="siem__side">
          {/* Beside the form on wide screens, so the answer is in view without scrolling; below it on narrow ones. */}
          <div aria-live="polite">
            {(testing || testResult !== null || testError !== null) && (
              <section ref={testPanel} class="card" aria-labelledby="siem-test-title" data-testid="test-panel">
                <h2 id="siem-test-title">{t.siemTestTitle}</h2>
                {testing && <Spinner label={t.siemTesting} />}
                {testResult !== null && <TestResultBox result={testResult} t={t} locale={locale} />}
                {testError !== null && <ErrorNotice error={testError} />}
              </section>
            )}
          </div>
          <DeliveryStatus status={answer?.status ?? null} t={t} locale={locale} refreshing={refreshing} onRefresh={() => load(false)} />
        </div>
      </div>
    </section>
  )
}

function TestResultBox({ result, t, locale }: { result: TestConnectionResult; t: Messages; locale: Locale }) {
  const name = TEST_RESULT_NAMES[locale][result.result] ?? result.result
  const hint = (locale === 'ja' ? TEST_RESULT_HINTS_JA[result.result] : undefined) ?? result.hint
  return (
    <div class={`notice ${result.ok ? 'notice--success' : 'notice--error'}`} role="status" data-testid="test-result" data-result={result.result}>
      <p class="notice__title">
        {result.ok ? t.testOk : t.testFailed}
        <span class="notice__meta">
          {' · '}
          {name}
          {result.status !== null && ` · ${t.testHttpStatus(result.status)}`}
          {result.durationMs !== null && ` · ${t.testDuration(result.durationMs)}`}
        </span>
      </p>
      {hint !== null && <p data-testid="test-hint">{hint}</p>}
      <ProblemList problems={result.details} lang={locale === 'en' ? undefined : 'en'} />
      {/* On failure, what exactly happened (e.g. "HTTP 401"); on success the hint says it all. */}
      {!result.ok && result.message !== null && (
        <p class="notice__code" lang={locale === 'en' ? undefined : 'en'}>
          {result.message}
        </p>
      )}
    </div>
  )
}

function DeliveryStatus({ status, t, locale, refreshing, onRefresh }: { status: SiemStatus | null; t: Messages; locale: Locale; refreshing: boolean; onRefresh: () => void }) {
  return (
    <section class="card" aria-labelledby="siem-status-title" data-testid="siem-status">
      <div class="card__header">
        <h2 id="siem-status-title">{t.siemDelivery}</h2>
        {/* Busy is aria-disabled, not disabled: a disabled button drops keyboard focus to the page's start (and the
            status refreshes itself every few seconds, under a keyboard user resting on this button). */}
        <button type="button" class="button button--small button--ghost" onClick={() => refreshing || onRefresh()} aria-disabled={refreshing} data-testid="refresh-status">
          {t.refresh}
        </button>
      </div>
      {status === null ? (
        <p class="muted">{t.siemNoStatus}</p>
      ) : (
        <dl class="props">
          <div class="props__row">
            <dt>{t.siemState}</dt>
            <dd>
              <span class={`state state--${status.state}`}>{SIEM_STATE_NAMES[locale][status.state] ?? status.state}</span>
            </dd>
          </div>
          <div class="props__row">
            <dt>{t.siemBehind}</dt>
            <dd class="mono">{status.eventsBehind === null ? '—' : status.eventsBehind.toLocaleString(locale)}</dd>
          </div>
          <div class="props__row">
            <dt>{t.siemLastSuccess}</dt>
            <dd>
              {status.lastSuccessAt === null ? (
                t.siemNever
              ) : (
                <time dateTime={status.lastSuccessAt} title={formatUtc(status.lastSuccessAt, locale)} class="mono">
                  {formatLocal(status.lastSuccessAt, locale)}
                </time>
              )}
            </dd>
          </div>
          <div class="props__row">
            <dt>{t.siemLastError}</dt>
            <dd>
              {status.lastError === null ? (
                t.siemNone
              ) : (
                <span class="stack">
                  <span class="stack__main error-text">{status.lastError.message}</span>
                  {status.lastError.result !== undefined && (
                    <span class="stack__sub">{TEST_RESULT_NAMES[locale][status.lastError.result] ?? status.lastError.result}</span>
                  )}
                  {status.lastError.at !== undefined && (
                    <time class="stack__sub mono" dateTime={status.lastError.at} title={formatUtc(status.lastError.at, locale)}>
                      {formatLocal(status.lastError.at, locale)}
                    </time>
                  )}
                  {status.lastError.attempts !== undefined && status.lastError.attempts > 0 && (
                    <span class="stack__sub">{t.siemAttempts(status.lastError.attempts)}</span>
                  )}
                  {status.lastError.nextAttemptAt !== undefined && status.state === 'retrying' && (
                    <span class="stack__sub">
                      {t.siemNextAttempt}:{' '}
                      <time class="mono" dateTime={status.lastError.nextAttemptAt} title={formatUtc(status.lastError.nextAttemptAt, locale)}>
                        {formatLocal(status.lastError.nextAttemptAt, locale)}
                      </time>
                    </span>
                  )}
                  {status.lastError.exportError !== undefined && (
                    <span class="stack__sub" data-testid="siem-collector-error">
                      {t.siemCollectorError}: <span class="error-text">{status.lastError.exportError.message}</span>
                      {status.lastError.exportError.result !== undefined && ` (${TEST_RESULT_NAMES[locale][status.lastError.exportError.result] ?? status.lastError.exportError.result})`}
                      {status.lastError.exportError.at !== undefined && (
                        <>
                          {' '}
                          <time class="mono" dateTime={status.lastError.exportError.at} title={formatUtc(status.lastError.exportError.at, locale)}>
                            {formatLocal(status.lastError.exportError.at, locale)}
                          </time>
                        </>
                      )}
                    </span>
                  )}
                </span>
              )}
            </dd>
          </div>
        </dl>
      )}
    </section>
  )
}
