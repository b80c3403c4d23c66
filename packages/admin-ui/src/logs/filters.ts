import type { EventFilters } from '../api/types.js'
import { endOfLocalDay, startOfLocalDay } from '../lib/time.js'

/** The filter bar's values as typed. */
export interface FilterForm {
  /** One actor, by id. */
  actor: string
  /** Every actor of a type: `user`, `api_key` or `system`. */
  actorType: string
  action: string
  resourceType: string
  /** One resource, by id (with or without its type). */
  resourceId: string
  outcome: string
  q: string
  /** Local days, `YYYY-MM-DD`, inclusive; empty = the API's default window (last 365 days). */
  fromDay: string
  toDay: string
}

export const EMPTY_FILTERS: FilterForm = { actor: '', actorType: '', action: '', resourceType: '', resourceId: '', outcome: '', q: '', fromDay: '', toDay: '' }

export const ACTOR_TYPES = ['user', 'api_key', 'system'] as const

/** Local inclusive days become the API's UTC `[from, to)` instants. */
export function toApiFilters(form: FilterForm): EventFilters {
  return {
    actor: form.actor || undefined,
    actorType: form.actorType || undefined,
    action: form.action || undefined,
    resourceType: form.resourceType || undefined,
    resourceId: form.resourceId.trim() || undefined,
    outcome: form.outcome || undefined,
    q: form.q.trim() || undefined,
    from: form.fromDay ? startOfLocalDay(form.fromDay) : undefined,
    to: form.toDay ? endOfLocalDay(form.toDay) : undefined,
  }
}

const URL_KEYS: Record<keyof FilterForm, string> = {
  actor: 'actor',
  actorType: 'actorType',
  action: 'action',
  resourceType: 'resource',
  resourceId: 'resourceId',
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
    if (field === 'actorType' && value !== '' && !(ACTOR_TYPES as readonly string[]).includes(value)) continue
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

/**
 * The actor menu holds both individual actors (value: the actor id) and actor types. A type's value starts with a
 * control character, which no actor id the API filters by can contain, so no id is ever read as a type.
 */
const TYPE_PREFIX = '\u001ftype:'

/** The actor menu's value for these filters. */
export function actorMenuValue(form: FilterForm): string {
  if (form.actor !== '') return form.actor
  return form.actorType === '' ? '' : `${TYPE_PREFIX}${form.actorType}`
}

/** The value for an actor type in the actor menu. */
export function actorTypeMenuValue(type: string): string {
  return `${TYPE_PREFIX}${type}`
}

/** What a choice in the actor menu filters by: one actor or one actor type (never both). */
export function fromActorMenu(value: string): Pick<FilterForm, 'actor' | 'actorType'> {
  if (value.startsWith(TYPE_PREFIX)) return { actor: '', actorType: value.slice(TYPE_PREFIX.length) }
  return { actor: value, actorType: '' }
}
