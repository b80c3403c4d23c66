import type { EventFilters } from '../api/types.js'
import { endOfLocalDay, startOfLocalDay } from '../lib/time.js'

/** The filter bar's values as typed. */
export interface FilterForm {
  actor: string
  action: string
  resourceType: string
  outcome: string
  q: string
  /** Local days, `YYYY-MM-DD`, inclusive; empty = the API's default window (last 365 days). */
  fromDay: string
  toDay: string
}

export const EMPTY_FILTERS: FilterForm = { actor: '', action: '', resourceType: '', outcome: '', q: '', fromDay: '', toDay: '' }

/** Local inclusive days become the API's UTC `[from, to)` instants. */
export function toApiFilters(form: FilterForm): EventFilters {
  return {
    actor: form.actor || undefined,
    action: form.action || undefined,
    resourceType: form.resourceType || undefined,
    outcome: form.outcome || undefined,
    q: form.q.trim() || undefined,
    from: form.fromDay ? startOfLocalDay(form.fromDay) : undefined,
    to: form.toDay ? endOfLocalDay(form.toDay) : undefined,
  }
}

const URL_KEYS: Record<keyof FilterForm, string> = {
  actor: 'actor',
  action: 'action',
  resourceType: 'resource',
  outcome: 'outcome',
  q: 'q',
  fromDay: 'from',
  toDay: 'to',
}
const DAY = /^\d{4}-\d{2}-\d{2}$/

/** Filters from the page's query string, so that a reload or a shared link shows the same events. */
export function filtersFromUrl(search: string): FilterForm {
  const params = new URLSearchParams(search)
  const form = { ...EMPTY_FILTERS }
  for (const [field, key] of Object.entries(URL_KEYS) as [keyof FilterForm, string][]) {
    const value = params.get(key) ?? ''
    if ((field === 'fromDay' || field === 'toDay') && value !== '' && !DAY.test(value)) continue
    form[field] = value.slice(0, 200)
  }
  return form
}

/** The query string for these filters (empty values left out). */
export function filtersToSearch(form: FilterForm): string {
  const params = new URLSearchParams()
  for (const [field, key] of Object.entries(URL_KEYS) as [keyof FilterForm, string][]) if (form[field] !== '') params.set(key, form[field])
  const search = params.toString()
  return search === '' ? '' : `?${search}`
}
