import { useState } from 'preact/hooks'
import { verifyIntegrity } from '../api/client.js'
import type { VerifyResult } from '../api/types.js'
import { useI18n } from '../i18n/i18n.js'
import { VERIFY_REASON_NAMES } from '../i18n/messages.js'
import { endOfLocalDay, startOfLocalDay } from '../lib/time.js'
import { ErrorNotice } from '../ui/ErrorNotice.js'
import { Spinner } from '../ui/Spinner.js'
import { Untrusted } from '../ui/Untrusted.js'
import { localizeWarning, reasonTitle } from './verdicts.js'

/** Runs the chain verification over a period and shows ok or the first broken link. */
export function IntegrityTab() {
  const { t, locale } = useI18n()
  const [fromDay, setFromDay] = useState('')
  const [toDay, setToDay] = useState('')
  const [running, setRunning] = useState(false)
  const [result, setResult] = useState<VerifyResult | null>(null)
  const [error, setError] = useState<unknown>(null)
  const reversed = fromDay !== '' && toDay !== '' && toDay < fromDay

  function run(event: Event) {
    event.preventDefault()
    if (reversed || running) return
    setRunning(true)
    setResult(null)
    setError(null)
    verifyIntegrity({ from: fromDay ? startOfLocalDay(fromDay) : undefined, to: toDay ? endOfLocalDay(toDay) : undefined })
      .then(setResult)
      .catch(setError)
      .finally(() => setRunning(false))
  }

  return (
    <section class="tab-panel">
      <form class="card form integrity" onSubmit={run} aria-labelledby="integrity-title">
        <h2 id="integrity-title">{t.integrityTitle}</h2>
        <p class="muted">{t.integrityIntro}</p>
        <div class="row row--wrap row--end">
          <div class="field">
            <label for="verify-from">{t.filterFrom}</label>
            <input id="verify-from" type="date" value={fromDay} onChange={(e) => setFromDay(e.currentTarget.value)} />
          </div>
          <div class="field">
            <label for="verify-to">{t.filterTo}</label>
            <input
              id="verify-to"
              type="date"
              value={toDay}
              aria-invalid={reversed}
              aria-describedby={reversed ? 'verify-range-error' : 'verify-range-hint'}
              onChange={(e) => setToDay(e.currentTarget.value)}
            />
          </div>
          {/* Busy is aria-disabled, not disabled: a disabled button drops keyboard focus to the page's start. */}
          <button type="submit" class="button button--primary" disabled={reversed} aria-disabled={running} data-testid="run-verify">
            {running ? t.integrityRunning : t.integrityRun}
          </button>
        </div>
        {reversed ? (
          <p id="verify-range-error" class="field-error" role="alert">
            {t.rangeReversed}
          </p>
        ) : (
          <p id="verify-range-hint" class="hint">
            {t.integrityAllTime}
          </p>
        )}
        <div aria-live="polite">
          {running && <Spinner label={t.integrityRunning} />}
          {error !== null && <ErrorNotice error={error} />}
          {result !== null && <VerifyReport result={result} />}
          {result !== null && <VerifyWarnings warnings={result.warnings} />}
        </div>
      </form>
    </section>
  )
}

function VerifyReport({ result }: { result: VerifyResult }) {
  const { t, locale } = useI18n()
  const broken = result.firstBroken
  // The API explains the break in English: a translated page titles it by reason and keeps that sentence under it.
  const title = result.ok ? t.integrityOk : ((broken !== null ? reasonTitle(broken.reason, locale) : null) ?? t.integrityBroken)
  return (
    <div class={`notice ${result.ok ? 'notice--success' : 'notice--error'}`} role="status" data-testid="verify-result" data-ok={String(result.ok)}>
      <p class="notice__title" data-testid="verify-title">
        {title}
      </p>
      {result.ok && <p>{t.integrityOkDetail(result.checked)}</p>}
      {broken !== null && (
        <>
          {broken.message !== null &&
            (locale === 'en' ? (
              <p data-testid="verify-message">
                <Untrusted text={broken.message} />
              </p>
            ) : (
              <p data-testid="verify-message">
                <span class="muted">{t.integrityApiDetail}: </span>
                <span lang="en">
                  <Untrusted text={broken.message} />
                </span>
              </p>
            ))}
          <dl class="props">
            <div class="props__row">
              <dt>{t.integrityReason}</dt>
              <dd data-testid="verify-reason" data-reason={broken.reason}>
                {VERIFY_REASON_NAMES[locale][broken.reason] ?? broken.reason}
              </dd>
            </div>
            {broken.seq !== null && (
              <div class="props__row">
                <dt>{t.fieldSeq}</dt>
                <dd class="mono">{broken.seq}</dd>
              </div>
            )}
            {broken.id !== null && (
              <div class="props__row">
                <dt>{t.fieldId}</dt>
                {/* The id of the row as found in the store: a tampered row's id can hold anything. */}
                <dd class="mono">
                  <Untrusted text={broken.id} />
                </dd>
              </div>
            )}
          </dl>
        </>
      )}
      <dl class="props props--compact">
        {result.range !== null && result.range.to !== null && (
          <div class="props__row">
            <dt>{t.integrityRange}</dt>
            <dd class="mono">
              {result.range.from} – {result.range.to}
            </dd>
          </div>
        )}
        {result.checkpoints !== null && (
          <div class="props__row">
            <dt>{t.integrityCheckpoints}</dt>
            <dd>{t.integrityCheckpointsDetail(result.checkpoints.count, result.checkpoints.signatures === 'verified')}</dd>
          </div>
        )}
      </dl>
    </div>
  )
}

/** What this run could not detect (no public key, no checkpoints, ...): the known ones translated, others as the API words them. */
function VerifyWarnings({ warnings }: { warnings: string[] }) {
  const { t, locale } = useI18n()
  if (warnings.length === 0) return null
  return (
    <div class="notice notice--warn" data-testid="verify-warnings">
      <p class="notice__title">{t.integrityLimits}</p>
      <ul class="warnings">
        {warnings.map((warning) => {
          const { text, lang } = localizeWarning(warning, locale)
          return (
            <li key={warning} lang={lang === locale ? undefined : lang}>
              {text}
            </li>
          )
        })}
      </ul>
    </div>
  )
}
