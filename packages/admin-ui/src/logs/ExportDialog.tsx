import { useState } from 'preact/hooks'
import { exportCsvUrl, fetchEvents } from '../api/client.js'
import type { ColumnDef } from '../api/types.js'
import { useI18n } from '../i18n/i18n.js'
import { LOCALES, type Locale } from '../i18n/messages.js'
import { localDay, shiftDay } from '../lib/time.js'
import { Dialog } from '../ui/Dialog.js'
import { ErrorNotice } from '../ui/ErrorNotice.js'
import { EMPTY_FILTERS, type FilterForm, toApiFilters } from './filters.js'

export interface ExportDialogProps {
  columns: ColumnDef[]
  visible: string[]
  form: FilterForm
  onClose: () => void
}

/** CSV download for a period with the displayed columns; the browser streams the file straight from the API. */
export function ExportDialog({ columns, visible, form, onClose }: ExportDialogProps) {
  const { t, locale } = useI18n()
  // 30 days up to the filter's end day (or today): counted from today, an end-only filter would open reversed.
  const [fromDay, setFromDay] = useState(form.fromDay || (form.toDay ? shiftDay(form.toDay, -30) : localDay(30)))
  const [toDay, setToDay] = useState(form.toDay || localDay(0))
  const [headerLocale, setHeaderLocale] = useState<Locale>(locale)
  const [applyFilters, setApplyFilters] = useState(true)
  const [started, setStarted] = useState(false)
  const [checking, setChecking] = useState(false)
  const [refused, setRefused] = useState<unknown>(null)
  const error = fromDay === '' || toDay === '' ? t.rangeMissing : toDay < fromDay ? t.rangeReversed : null
  const labels = new Map(columns.map((column) => [column.key, column.label]))
  const hasOtherFilters = form.actor !== '' || form.actorType !== '' || form.action !== '' || form.resourceType !== '' || form.resourceId.trim() !== '' || form.outcome !== '' || form.q.trim() !== ''

  function download(event: Event) {
    event.preventDefault()
    if (error !== null || checking) return
    const range = toApiFilters({ ...(applyFilters ? form : EMPTY_FILTERS), fromDay, toDay })
    setStarted(false)
    setRefused(null)
    setChecking(true)
    // The browser streams the file itself and tells the page nothing if the API refuses it (an expired session,
    // a filter it rejects, the store down): ask for one row with the same filters and period first, and show
    // the API's error here instead of a download that "started".
    fetchEvents(range, null, 1)
      .then(() => {
        const link = document.createElement('a')
        link.href = exportCsvUrl({ ...range, columns: visible, locale: headerLocale })
        link.download = ''
        link.rel = 'noopener'
        document.body.append(link)
        link.click()
        link.remove()
        setStarted(true)
      })
      .catch(setRefused)
      .finally(() => setChecking(false))
  }

  return (
    <Dialog
      title={t.csvTitle}
      onClose={onClose}
      testId="export-dialog"
      footer={
        <>
          {started && refused === null && (
            <p class="muted" role="status">
              {t.csvStarted}
            </p>
          )}
          <span class="spacer" />
          <button type="button" class="button" onClick={onClose}>
            {started ? t.close : t.cancel}
          </button>
          {/* Busy is aria-disabled, not disabled: a disabled button drops keyboard focus out of the dialog. */}
          <button type="submit" form="export-form" class="button button--primary" disabled={error !== null} aria-disabled={checking}>
            {t.csvSubmit}
          </button>
        </>
      }
    >
      <form id="export-form" class="form" onSubmit={download}>
        <p class="muted">{t.csvHelp}</p>
        <fieldset class="form__group">
          <legend>{t.csvPeriod}</legend>
          <div class="row row--wrap">
            <div class="field">
              <label for="export-from">{t.csvFrom}</label>
              <input id="export-from" name="from" type="date" required value={fromDay} data-autofocus onChange={(e) => setFromDay(e.currentTarget.value)} />
            </div>
            <div class="field">
              <label for="export-to">{t.csvTo}</label>
              <input
                id="export-to"
                name="to"
                type="date"
                required
                value={toDay}
                aria-invalid={error !== null}
                aria-describedby={error !== null ? 'export-range-error' : undefined}
                onChange={(e) => setToDay(e.currentTarget.value)}
              />
            </div>
          </div>
          {error !== null && (
            <p id="export-range-error" class="field-error" role="alert">
              {error}
            </p>
          )}
        </fieldset>
        <div class="field">
          <label for="export-locale">{t.csvHeaderLanguage}</label>
          <select id="export-locale" value={headerLocale} onChange={(e) => setHeaderLocale(e.currentTarget.value as Locale)}>
            {LOCALES.map((code) => (
              <option key={code} value={code}>
                {code === 'en' ? 'English' : '日本語'}
              </option>
            ))}
          </select>
        </div>
        {hasOtherFilters && (
          <label class="check">
            <input type="checkbox" checked={applyFilters} onChange={(e) => setApplyFilters(e.currentTarget.checked)} />
            <span>{t.csvApplyFilters}</span>
          </label>
        )}
        <div class="form__group">
          <p class="label">{t.csvColumns}</p>
          <ul class="chips" data-testid="export-columns">
            {visible.map((key) => (
              <li key={key} class="chip" data-column={key}>
                {labels.get(key)?.[headerLocale] ?? key}
              </li>
            ))}
          </ul>
        </div>
        {refused !== null && <ErrorNotice error={refused} />}
      </form>
    </Dialog>
  )
}
