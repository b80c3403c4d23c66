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
