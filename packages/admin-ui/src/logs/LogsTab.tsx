import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks'
import { ApiError, fetchColumns, fetchEvents, fetchFacets } from '../api/client.js'
import type { AuditEvent, ColumnDef, Facets } from '../api/types.js'
import { useI18n } from '../i18n/i18n.js'
import { isolated } from '../lib/reveal.js'
import { localZoneLabel, localZoneNote } from '../lib/time.js'
import { ErrorNotice } from '../ui/ErrorNotice.js'
import { Spinner } from '../ui/Spinner.js'
import { Cell, actorTypeLabel, loadVisible, saveVisible, tableLabel } from './columns.js'
import { ColumnsDialog } from './ColumnsDialog.js'
import { EventDetail } from './EventDetail.js'
import { ExportDialog } from './ExportDialog.js'
import { ACTOR_TYPES, EMPTY_FILTERS, type FilterForm, actorMenuValue, actorOptionValue, actorTypeMenuValue, filtersFromUrl, filtersToSearch, fromActorMenu, toApiFilters } from './filters.js'

const PAGE_SIZE = 50

type Dialog = { kind: 'columns' } | { kind: 'export' } | { kind: 'event'; id: string; summary: AuditEvent | null } | null

/** The event a query string names (`?event=<id>`), or null. */
function eventIdFromSearch(search: string): string | null {
  const id = new URLSearchParams(search).get('event')
  return id !== null && /^[A-Za-z0-9_-]{1,128}$/.test(id) ? id : null
}

/** An event named in the link opens at once. */
function dialogFromUrl(): Dialog {
  const id = eventIdFromSearch(window.location.search)
  return id === null ? null : { kind: 'event', id, summary: null }
}

/** The query string for these filters and this open event. */
function pageSearch(form: FilterForm, eventId: string | null): string {
  const params = new URLSearchParams(filtersToSearch(form))
  if (eventId !== null) params.set('event', eventId)
  return params.toString() === '' ? '' : `?${params.toString()}`
}

function sameExceptSearchText(a: FilterForm, b: FilterForm): boolean {
  return (Object.keys(a) as (keyof FilterForm)[]).every((key) => key === 'q' || a[key] === b[key])
}

export function LogsTab() {
  const { t, locale } = useI18n()
  const [columns, setColumns] = useState<ColumnDef[] | null>(null)
  const [visible, setVisible] = useState<string[]>([])
  const [columnsError, setColumnsError] = useState<unknown>(null)
  const [form, setForm] = useState<FilterForm>(() => filtersFromUrl(window.location.search))
  const [query, setQuery] = useState(form.q)
  /** The resource id as typed: it filters once committed (Enter, or leaving the field). */
  const [resourceIdDraft, setResourceIdDraft] = useState(form.resourceId)
  useEffect(() => setResourceIdDraft(form.resourceId), [form.resourceId])
  const [facets, setFacets] = useState<Facets | null>(null)
  /** Bumped by Retry: menus that gave up during an outage load again when the table recovers. */
  const [facetsRetry, setFacetsRetry] = useState(0)
  const [items, setItems] = useState<AuditEvent[]>([])
  const [nextCursor, setNextCursor] = useState<string | null>(null)
  const [loading, setLoading] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const [dialog, setDialog] = useState<Dialog>(dialogFromUrl)
  // Narrow screens fold the filter menus behind a toggle; wide ones always show them.
  const [filtersOpen, setFiltersOpen] = useState(false)
  /** The row that holds the table's single tab stop. */
  const [activeRow, setActiveRow] = useState<string | null>(null)
  const generation = useRef(0)
  /**
   * Set by Load more and Retry, whose buttons leave the page while (or after) they load: the index of the first row
   * the load brings, to move keyboard focus to when the load is done, instead of letting it fall to the page's start.
   */
  const focusAfterLoad = useRef<number | null>(null)
  const sentinel = useRef<HTMLDivElement>(null)
  /** The current history entry was added by the search box: more typing updates it rather than adding one per pause. */
  const searchEntry = useRef(false)
  /** Counts Back/Forward steps: a render older than the last one shows state the URL has already left. */
  const historySteps = useRef(0)
  const renderedAtStep = historySteps.current
  /** The rows as listed, for an event that Forward reopens. */
  const itemsRef = useRef<AuditEvent[]>([])
  itemsRef.current = items

  const rangeReversed = form.fromDay !== '' && form.toDay !== '' && form.toDay < form.fromDay
  const filters = useMemo(() => toApiFilters({ ...form, q: query }), [form.actor, form.actorType, form.action, form.resourceType, form.resourceId, form.outcome, form.fromDay, form.toDay, query])

  const loadColumns = useCallback(() => {
    setColumnsError(null)
    fetchColumns()
      .then((list) => {
        setColumns(list)
        setVisible(loadVisible(list))
      })
      .catch(setColumnsError)
  }, [])
  useEffect(loadColumns, [loadColumns])

  // The filters and the open event live in the query string: reload and shared links keep them (the hash keeps the tab).
  // Each change the user makes is a history entry, so that Back undoes it and Forward redoes it.
  const openEventId = dialog?.kind === 'event' ? dialog.id : null
  useEffect(() => {
    // Rendered before a Back or Forward whose state is on its way: writing it would undo that step.
    if (renderedAtStep !== historySteps.current) return
    const shown = { ...form, q: query }
    const next = pageSearch(shown, openEventId)
    const current = window.location.search
    const inUrl = filtersFromUrl(current)
    const inUrlEvent = eventIdFromSearch(current)
    const url = `${window.location.pathname}${next}${window.location.hash}`
    if (next === pageSearch(inUrl, inUrlEvent)) {
      // What the URL already says (first render, Back or Forward, a hand-written link): only tidy its spelling.
      if (next !== current) history.replaceState(history.state, '', url)
      return
    }
    const onlySearchText = inUrlEvent === openEventId && sameExceptSearchText(inUrl, shown)
    if (onlySearchText && searchEntry.current) history.replaceState(history.state, '', url)
    else history.pushState(null, '', url)
    searchEntry.current = onlySearchText
  }, [filters, openEventId])

  // Back and Forward: show what that entry's URL says, including the open event (or none). A layout effect: listening
  // from the commit that mounts the tab, so that a Back right after a Back that brought the tab back is not missed.
  useLayoutEffect(() => {
    const onPopState = () => {
      historySteps.current++
      const restored = filtersFromUrl(window.location.search)
      const id = eventIdFromSearch(window.location.search)
      searchEntry.current = false
      setForm(restored)
      setQuery(restored.q)
      setDialog((current) =>
        id === null ? null : current?.kind === 'event' && current.id === id ? current : { kind: 'event', id, summary: itemsRef.current.find((event) => event.id === id) ?? null },
      )
    }
    window.addEventListener('popstate', onPopState)
    return () => window.removeEventListener('popstate', onPopState)
  }, [])

  // The search box waits for a pause in typing.
  useEffect(() => {
    const timer = window.setTimeout(() => setQuery(form.q), 300)
    return () => window.clearTimeout(timer)
  }, [form.q])

  // The menus are a convenience: on failure they try twice more, then stay empty (the table shows its own errors).
  useEffect(() => {
    if (rangeReversed) return
    let live = true
    let timer = 0
    const attempt = (left: number): void => {
      fetchFacets(filters)
        .then((next) => live && setFacets(next))
        .catch(() => {
          if (!live) return
          setFacets(null)
          if (left > 0) timer = window.setTimeout(() => attempt(left - 1), 1000)
        })
    }
    attempt(2)
    return () => {
      live = false
      window.clearTimeout(timer)
    }
  }, [filters.from, filters.to, rangeReversed, facetsRetry])

  const loadPage = useCallback(
    (cursor: string | null) => {
      const current = ++generation.current
      setLoading(true)
      setError(null)
      fetchEvents(filters, cursor, PAGE_SIZE)
        .then((page) => {
          if (current !== generation.current) return
          setItems((previous) => (cursor === null ? page.items : [...previous, ...page.items]))
          setNextCursor(page.nextCursor)
        })
        .catch((failure: unknown) => {
          if (current !== generation.current) return
          // A cursor the server no longer accepts (its key changed, or it was edited): start again from the top.
          if (cursor !== null && failure instanceof ApiError && failure.code === 'INVALID_CURSOR') {
            window.setTimeout(() => loadPage(null), 0)
            return
          }
          setError(failure)
        })
        .finally(() => {
          if (current === generation.current) setLoading(false)
        })
    },
    [filters],
  )

  useEffect(() => {
    setItems([])
    setNextCursor(null)
    if (rangeReversed) {
      // No period to list: drop the previous period's rows (they would read as this one's) and any load in flight.
      generation.current++
      setLoading(false)
      setError(null)
      return
    }
    loadPage(null)
  }, [loadPage, rangeReversed])

  // After Load more or Retry: keep focus on Load more while there is more, else on the first new row, or on Retry
  // again when the load failed.
  useEffect(() => {
    const index = focusAfterLoad.current
    if (index === null || loading) return
    focusAfterLoad.current = null
    const section = sentinel.current?.parentElement
    const active = document.activeElement
    if (active !== null && active !== document.body && section?.contains(active) === true && active.isConnected) return
    const target =
      error !== null
        ? section?.querySelector<HTMLElement>('.notice--error button')
        : (document.querySelectorAll<HTMLElement>('tr.log-row')[index] ?? document.querySelector<HTMLElement>('[data-testid="load-more"]') ?? document.querySelector<HTMLElement>('.table-wrap'))
    target?.focus()
  }, [loading, error, items])

  // Infinite scroll: when the sentinel under the table comes into view, fetch the next page.
  const canLoadMore = nextCursor !== null && !loading && error === null
  useEffect(() => {
    const element = sentinel.current
    if (element === null || !canLoadMore || typeof IntersectionObserver === 'undefined') return
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) loadPage(nextCursor)
      },
      { rootMargin: '400px 0px' },
    )
    observer.observe(element)
    return () => observer.disconnect()
  }, [canLoadMore, nextCursor, loadPage])

  function onRowKey(keyboard: KeyboardEvent, event: AuditEvent) {
    const row = keyboard.currentTarget as HTMLTableRowElement
    const body = row.parentElement
    let target: Element | null | undefined = null
    if (keyboard.key === 'Enter' || keyboard.key === ' ') {
      keyboard.preventDefault()
      setDialog({ kind: 'event', id: event.id, summary: event })
      return
    }
    if (keyboard.key === 'ArrowDown') target = row.nextElementSibling
    else if (keyboard.key === 'ArrowUp') target = row.previousElementSibling
    else if (keyboard.key === 'Home') target = body?.firstElementChild
    else if (keyboard.key === 'End') target = body?.lastElementChild
    else return
    keyboard.preventDefault()
    if (target instanceof HTMLElement) target.focus()
  }

  function update<K extends keyof FilterForm>(key: K, value: FilterForm[K]) {
    setForm((previous) => ({ ...previous, [key]: value }))
  }

  const columnByKey = new Map((columns ?? []).map((column) => [column.key, column]))
  const shown = visible.filter((key) => columnByKey.has(key))
  const tabStop = activeRow !== null && items.some((event) => event.id === activeRow) ? activeRow : items[0]?.id
  const filtersActive = Object.entries(form).some(([, value]) => value !== '')
  const activeCount = [form.actor || form.actorType, form.action, form.resourceType, form.resourceId, form.outcome, form.fromDay, form.toDay].filter((value) => value !== '').length

  return (
    <section class="tab-panel">
      <form
        class="filters"
        role="search"
        aria-label={t.filters}
        data-open={filtersOpen}
        onSubmit={(event) => {
          event.preventDefault()
          // Enter in the search box searches at once, without waiting for the pause.
          setQuery(form.q)
          if (resourceIdDraft.trim() !== form.resourceId) update('resourceId', resourceIdDraft.trim())
        }}
      >
        <button type="button" class="button filters__toggle" aria-expanded={filtersOpen} aria-controls="filter-fields" onClick={() => setFiltersOpen(!filtersOpen)}>
          {t.filters}
          {activeCount > 0 && <span class="count-badge">{activeCount}</span>}
        </button>
        <div id="filter-fields" class="filters__fields">
        <FacetSelect
          id="filter-actor"
          label={t.filterActor}
          allLabel={t.filterAll}
          value={actorMenuValue(form)}
          // Every actor of a type (the API's actorType), then the individual actors of the period.
          groups={[
            { label: t.filterActorTypes, options: ACTOR_TYPES.map((type) => ({ value: actorTypeMenuValue(type), label: actorTypeLabel(type, t), count: null })) },
            { label: t.filterActors, options: facets?.actors.map((actor) => ({ value: actorOptionValue(actor.type, actor.id), label: `${isolated(actor.name ?? actor.id)} · ${actorTypeLabel(actor.type, t)}`, count: actor.count })) },
          ]}
          describe={(value) => {
            const choice = fromActorMenu(value)
            return choice.actorType === '' ? isolated(choice.actor) : `${isolated(choice.actor)} · ${actorTypeLabel(choice.actorType, t)}`
          }}
          onChange={(value) => setForm((previous) => ({ ...previous, ...fromActorMenu(value) }))}
        />
        <FacetSelect
          id="filter-action"
          label={t.filterAction}
          allLabel={t.filterAll}
          value={form.action}
          options={facets?.actions.map((facet) => ({ value: facet.value, label: isolated(facet.value), count: facet.count }))}
          onChange={(value) => update('action', value)}
        />
        <FacetSelect
          id="filter-resource"
          label={t.filterResource}
          allLabel={t.filterAll}
          value={form.resourceType}
          options={facets?.resourceTypes.map((facet) => ({ value: facet.value, label: isolated(facet.value), count: facet.count }))}
          onChange={(value) => update('resourceType', value)}
        />
        <div class="field">
          <label for="filter-resource-id">{t.filterResourceId}</label>
          <input
            id="filter-resource-id"
            type="text"
            value={resourceIdDraft}
            placeholder={t.filterResourceIdPlaceholder}
            autocomplete="off"
            spellcheck={false}
            onInput={(event) => setResourceIdDraft(event.currentTarget.value)}
            onChange={(event) => update('resourceId', event.currentTarget.value.trim())}
          />
        </div>
        <div class="field field--narrow">
          <label for="filter-outcome">{t.filterOutcome}</label>
          <select id="filter-outcome" value={form.outcome} onChange={(event) => update('outcome', event.currentTarget.value)}>
            <option value="">{t.filterAll}</option>
            <option value="success">{t.outcomeSuccess}</option>
            <option value="failure">{t.outcomeFailure}</option>
          </select>
        </div>
        <div class="field field--date">
          <label for="filter-from">{t.filterFrom}</label>
          <input id="filter-from" type="date" value={form.fromDay} max={form.toDay || undefined} onChange={(event) => update('fromDay', event.currentTarget.value)} />
        </div>
        <div class="field field--date">
          <label for="filter-to">{t.filterTo}</label>
          <input
            id="filter-to"
            type="date"
            value={form.toDay}
            min={form.fromDay || undefined}
            aria-invalid={rangeReversed}
            aria-describedby={rangeReversed ? 'filter-range-error' : undefined}
            onChange={(event) => update('toDay', event.currentTarget.value)}
          />
        </div>
        </div>
        <div class="field field--grow">
          <label for="filter-q">{t.filterSearch}</label>
          <input id="filter-q" type="search" value={form.q} placeholder={t.filterSearchPlaceholder} onInput={(event) => update('q', event.currentTarget.value)} />
        </div>
        <div class="field field--actions">
          <button
            type="button"
            class="button button--ghost"
            disabled={!filtersActive}
            onClick={() => {
              setForm(EMPTY_FILTERS)
              setResourceIdDraft('')
              // The button disables itself once nothing is filtered: keep focus in the filter bar, not at the page's start.
              document.getElementById('filter-q')?.focus()
            }}
          >
            {t.clearFilters}
          </button>
        </div>
        {rangeReversed && (
          <p id="filter-range-error" class="field-error filters__error" role="alert">
            {t.rangeReversed}
          </p>
        )}
      </form>

      <div class="toolbar">
        <p class="toolbar__count" aria-live="polite" data-testid="event-count">
          {items.length > 0 && (nextCursor !== null ? t.shownCountMore(items.length) : t.shownCount(items.length))}
        </p>
        <div class="toolbar__actions">
          <button type="button" class="button" disabled={columns === null} onClick={() => setDialog({ kind: 'columns' })}>
            <svg viewBox="0 0 20 20" width="16" height="16" aria-hidden="true">
              <path d="M3 4h14M3 10h14M3 16h14M7 2v4M13 8v4M9 14v4" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" fill="none" />
            </svg>
            {t.editColumns}
          </button>
          <button type="button" class="button button--primary" disabled={columns === null} onClick={() => setDialog({ kind: 'export' })}>
            <svg viewBox="0 0 20 20" width="16" height="16" aria-hidden="true">
              <path d="M10 3v10M5.5 8.5L10 13l4.5-4.5M4 17h12" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" fill="none" />
            </svg>
            {t.download}
          </button>
        </div>
      </div>

      {columnsError !== null && <ErrorNotice error={columnsError} title={t.errorTitle} onRetry={loadColumns} />}

      {columns !== null && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label={t.tabLogs}>
          <table class="log-table" data-testid="log-table">
            <thead>
              <tr>
                {shown.map((key) => {
                  const column = columnByKey.get(key) as ColumnDef
                  return (
                    <th key={key} scope="col" data-column={key}>
                      {tableLabel(column, locale)}
                      {key === 'occurredAt' && <span class="th-note" title={localZoneLabel()}>{localZoneNote()}</span>}
                    </th>
                  )
                })}
              </tr>
            </thead>
            <tbody>
              {items.map((event) => (
                <tr
                  key={event.id}
                  class="log-row"
                  // One tab stop for the whole table (roving tabindex); arrow keys move between rows.
                  tabIndex={event.id === tabStop ? 0 : -1}
                  data-event-id={event.id}
                  aria-haspopup="dialog"
                  title={t.openEvent}
                  onFocus={() => setActiveRow(event.id)}
                  onClick={() => setDialog({ kind: 'event', id: event.id, summary: event })}
                  onKeyDown={(keyboard) => onRowKey(keyboard, event)}
                >
                  {shown.map((key) => (
                    <td key={key} data-column={key} data-label={tableLabel(columnByKey.get(key) as ColumnDef, locale)}>
                      <Cell event={event} column={key} t={t} shown={shown} />
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {!loading && error === null && items.length === 0 && columns !== null && !rangeReversed && (
        <div class="empty" data-testid="empty-state">
          <p class="empty__title">{t.empty}</p>
          <p class="empty__hint">{t.emptyHint}</p>
        </div>
      )}
      {error !== null && (
        <ErrorNotice
          error={error}
          title={t.errorTitle}
          onRetry={() => {
            if (facets === null) setFacetsRetry((count) => count + 1)
            focusAfterLoad.current = items.length
            loadPage(items.length === 0 ? null : nextCursor)
          }}
        />
      )}

      <div ref={sentinel} class="table-footer">
        {loading && <Spinner label={t.loading} />}
        {/* Stays while the next page loads (aria-disabled, not removed): a keyboard user pressing it keeps focus. */}
        {error === null && nextCursor !== null && (
          <button
            type="button"
            class="button"
            data-testid="load-more"
            aria-disabled={loading}
            hidden={loading && focusAfterLoad.current === null}
            onClick={() => {
              if (loading) return
              focusAfterLoad.current = items.length
              loadPage(nextCursor)
            }}
          >
            {t.loadMore}
          </button>
        )}
        {/* Without a start day the API searches its default window: say so, or older events would seem not to exist. */}
        {!loading && error === null && nextCursor === null && items.length > 0 && <p class="muted">{form.fromDay === '' ? t.noMoreDefaultWindow : t.noMore}</p>}
      </div>

      {dialog?.kind === 'columns' && columns !== null && (
        <ColumnsDialog
          columns={columns}
          visible={shown}
          onClose={() => setDialog(null)}
          onApply={(keys) => {
            setVisible(keys)
            saveVisible(keys)
            setDialog(null)
          }}
          onReset={() => {
            saveVisible(null)
            setVisible(loadVisible(columns))
            setDialog(null)
          }}
        />
      )}
      {dialog?.kind === 'export' && columns !== null && (
        <ExportDialog columns={columns} visible={shown} form={form} onClose={() => setDialog(null)} />
      )}
      {dialog?.kind === 'event' && (
        <EventDetail
          id={dialog.id}
          summary={dialog.summary}
          onClose={() => setDialog(null)}
          // Opened from a link: focus goes to the event's row when it is listed, else to the table, not the page's start.
          returnFocus={() => rowElement(dialog.id) ?? document.querySelector<HTMLElement>('.table-wrap') ?? document.getElementById('main')}
        />
      )}
    </section>
  )
}

/** The listed row of an event, if it is listed. */
function rowElement(id: string): HTMLElement | null {
  return [...document.querySelectorAll<HTMLElement>('tr.log-row')].find((row) => row.dataset['eventId'] === id) ?? null
}

interface FacetOption {
  /** The stored value, exactly: what the filter sends. */
  value: string
  /** What the menu shows: event text goes through isolated(), so hidden characters are marked, never applied. */
  label: string
  /** null: not a value of the period (an actor type), shown without a count. */
  count: number | null
}

interface FacetGroup {
  label: string
  options: FacetOption[] | undefined
}

function Options({ options }: { options: FacetOption[] }) {
  return (
    <>
      {options.map((option) => (
        <option key={option.value} value={option.value}>
          {option.count === null ? option.label : `${option.label} (${option.count})`}
        </option>
      ))}
    </>
  )
}

/** A filter menu of the values present in the period (from `/api/facets`), each with its count; or of groups of them. */
function FacetSelect(props: {
  id: string
  label: string
  allLabel: string
  value: string
  options?: FacetOption[] | undefined
  groups?: FacetGroup[]
  /** The label of a chosen value that is not among the options (default: the value itself, revealed and isolated). */
  describe?: (value: string) => string
  onChange: (value: string) => void
}) {
  const { id, label, allLabel, value, options = [], groups, describe = isolated, onChange } = props
  const all = groups === undefined ? options : groups.flatMap((group) => group.options ?? [])
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(event) => onChange(event.currentTarget.value)}>
        <option value="">{allLabel}</option>
        {groups === undefined ? (
          <Options options={options} />
        ) : (
          groups.map((group) => (
            <optgroup key={group.label} label={group.label}>
              <Options options={group.options ?? []} />
            </optgroup>
          ))
        )}
        {/* A chosen value the current period no longer has stays selectable, so the menu never lies about the filter. */}
        {value !== '' && !all.some((option) => option.value === value) && <option value={value}>{describe(value)}</option>}
      </select>
    </div>
  )
}
