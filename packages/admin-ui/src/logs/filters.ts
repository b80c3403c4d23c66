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
 * The actor menu holds both actor types and individual actors. An individual actor is a type and an id together (a
 * user and an API key may share an id), so its value filters by both. Both kinds of value start with a control
 * character, which no actor id the API filters by can contain, so no id is ever read as either; a plain id (a link made
 * before actors carried their type, or typed by hand) filters by the id alone.
 */
const TYPE_PREFIX = '\u001ftype:'
const ACTOR_PREFIX = '\u001factor:'
const SEPARATOR = '\u001f'

/** The actor menu's value for these filters. */
export function actorMenuValue(form: FilterForm): string {
  if (form.actor !== '') return form.actorType === '' ? form.actor : actorOptionValue(form.actorType, form.actor)
  return form.actorType === '' ? '' : actorTypeMenuValue(form.actorType)
}

/** The value for an actor type in the actor menu. */
export function actorTypeMenuValue(type: string): string {
  return `${TYPE_PREFIX}${type}`
}

/** The value for one actor (of the facets) in the actor menu. */
export function actorOptionValue(type: string, id: string): string {
  return `${ACTOR_PREFIX}${type}${SEPARATOR}${id}`
}

/** What a choice in the actor menu filters by: one actor (its type and id), every actor of a type, or an id alone. */
export function fromActorMenu(value: string): Pick<FilterForm, 'actor' | 'actorType'> {
  if (value.startsWith(TYPE_PREFIX)) return { actor: '', actorType: value.slice(TYPE_PREFIX.length) }
  if (value.startsWith(ACTOR_PREFIX)) {
    const typeAndId = value.slice(ACTOR_PREFIX.length)
    const end = typeAndId.indexOf(SEPARATOR)
    return { actor: typeAndId.slice(end + 1), actorType: typeAndId.slice(0, end) }
  }
  return { actor: value, actorType: '' }
}
