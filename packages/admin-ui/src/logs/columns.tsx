import type { AuditEvent, ColumnDef, JsonValue, ResourceRef } from '../api/types.js'
import { useI18n } from '../i18n/i18n.js'
import type { Messages } from '../i18n/messages.js'
import { readStored, removeStored, writeStored } from '../lib/storage.js'
import { revealText } from '../lib/reveal.js'
import { formatLocal, formatUtc } from '../lib/time.js'
import { Untrusted } from '../ui/Untrusted.js'

const VISIBLE_KEY = 'auditkit.admin.columns'

/**
 * The table's first view: the manual's essentials (time, IP, actor, action, resource, outcome), which fit a
 * 1280 px screen. The API's own default set (also the CSV default) adds email, target id and details; every
 * column is one click away in 表示項目の編集.
 */
const ESSENTIAL = ['occurredAt', 'ip', 'actor', 'action', 'resourceType', 'resourceName', 'targets', 'outcome']

export function defaultVisible(columns: ColumnDef[]): string[] {
  const essential = columns.filter((column) => ESSENTIAL.includes(column.key)).map((column) => column.key)
  if (essential.length > 0) return essential
  const flagged = columns.filter((column) => column.defaultVisible).map((column) => column.key)
  return flagged.length > 0 ? flagged : columns.slice(0, 8).map((column) => column.key)
}

/** The user's choice in this browser, limited to columns the API still offers, in the API's order. */
export function loadVisible(columns: ColumnDef[]): string[] {
  const saved = readStored<unknown>(VISIBLE_KEY)
  if (Array.isArray(saved)) {
    const chosen = new Set(saved.filter((key): key is string => typeof key === 'string'))
    const visible = columns.filter((column) => chosen.has(column.key)).map((column) => column.key)
    if (visible.length > 0) return visible
  }
  return defaultVisible(columns)
}

export function saveVisible(keys: string[] | null): void {
  if (keys === null) removeStored(VISIBLE_KEY)
  else writeStored(VISIBLE_KEY, keys)
}

function resolvePath(event: AuditEvent, path: string): unknown {
  let value: unknown = event
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined
    value = (value as Record<string, unknown>)[part]
  }
  return value
}

/** A column's header in the table: times are shown in local time there (UTC on hover), so a "(UTC)" in the label would mislead. */
export function tableLabel(column: ColumnDef, locale: 'en' | 'ja'): string {
  const label = column.label[locale]
  return column.key === 'occurredAt' ? label.replace(/\s*[(（]UTC[)）]\s*$/, '') : label
}

export function actorTypeLabel(type: string, t: Messages): string {
  if (type === 'user') return t.actorUser
  if (type === 'api_key') return t.actorApiKey
  if (type === 'system') return t.actorSystem
  // A type this page does not know is the app's own string: shown, with any hidden character marked.
  return revealText(type)
}

export function TimeCell({ iso }: { iso: string }) {
  const { locale } = useI18n()
  return (
    <time dateTime={iso} title={formatUtc(iso, locale)} class="mono nowrap">
      {formatLocal(iso, locale)}
    </time>
  )
}

export function OutcomeBadge({ outcome, t }: { outcome: string; t: Messages }) {
  const success = outcome === 'success'
  return <span class={`badge ${success ? 'badge--success' : 'badge--failure'}`}>{success ? t.outcomeSuccess : outcome === 'failure' ? t.outcomeFailure : <Untrusted text={outcome} />}</span>
}

export function ActorCell({ actor, t, compact = false }: { actor: AuditEvent['actor']; t: Messages; compact?: boolean }) {
  if (actor === undefined || actor === null) return null
  const primary = actor.name ?? actor.email ?? actor.id
  const secondary = compact ? null : actor.name !== undefined ? (actor.email ?? actor.id) : actor.email !== undefined ? actor.id : null
  return (
    <span class="stack" title={[`${actorTypeLabel(actor.type, t)}: ${revealText(actor.id)}`, actor.email === undefined ? '' : revealText(actor.email)].filter(Boolean).join('\n')}>
      <span class="stack__main">
        <span class={`actor-type actor-type--${actor.type}`} aria-hidden="true">
          {actor.type === 'api_key' ? 'K' : actor.type === 'system' ? 'S' : 'U'}
        </span>
        <span class="visually-hidden">{actorTypeLabel(actor.type, t)}: </span>
        <Untrusted text={primary} />
      </span>
      {secondary !== null && <Untrusted class="stack__sub" text={secondary} />}
    </span>
  )
}

export function ResourceCell({ resource }: { resource: AuditEvent['resource'] | undefined }) {
  if (resource === undefined || resource === null) return null
  const label = resource.name ?? resource.id
  return (
    <span class="stack">
      <span class="stack__main">
        <Untrusted class="tag" text={resource.type} /> <Untrusted text={label ?? ''} />
      </span>
      {resource.name !== undefined && resource.id !== undefined && <Untrusted class="stack__sub mono" text={resource.id} />}
    </span>
  )
}

function refLabel(ref: ResourceRef): string {
  return `${ref.type}: ${ref.name ?? ref.id ?? ''}`
}

/** Other targets, each type and name in its own isolate: one right-to-left name cannot reorder the list. */
function TargetsCell({ targets }: { targets: ResourceRef[] | undefined }) {
  if (targets === undefined || targets.length === 0) return <span class="empty-cell">—</span>
  const all = targets.map(refLabel).join(', ')
  return (
    <span title={all.length > 32 ? revealText(all) : undefined}>
      {targets.map((ref, index) => (
        <span key={index}>
          {index > 0 && ', '}
          <Untrusted text={ref.type} />: <Untrusted text={ref.name ?? ref.id ?? ''} />
        </span>
      ))}
    </span>
  )
}

function json(value: JsonValue | undefined): string {
  return value === undefined ? '' : JSON.stringify(value)
}

function Text({ value, mono = false }: { value: string | number | undefined; mono?: boolean }) {
  if (value === undefined || value === '') return <span class="empty-cell">—</span>
  const text = String(value)
  return (
    <span class={mono ? 'mono' : undefined} title={text.length > 32 ? revealText(text) : undefined}>
      <Untrusted text={text} />
    </span>
  )
}

/**
 * One table cell for a column id of `/api/columns`: the same fields as the CSV column of that id,
 * with the essential ones (time, actor, action, resource, outcome) drawn for reading at a glance.
 */
export function Cell({ event, column, t, shown }: { event: AuditEvent; column: string; t: Messages; shown: readonly string[] }) {
  switch (column) {
    case 'occurredAt':
      return <TimeCell iso={event.occurredAt} />
    case 'ip':
      return <Text value={event.context?.ip} mono />
    case 'actor':
      // One line when the email has its own column; otherwise the email (or id) goes under the name.
      return <ActorCell actor={event.actor} t={t} compact={shown.includes('actorEmail')} />
    case 'actorEmail':
      return <Text value={event.actor?.email} />
    case 'actorId':
      return <Text value={event.actor?.id} mono />
    case 'actorType':
      return <Text value={actorTypeLabel(event.actor?.type ?? '', t)} />
    case 'action':
      return (
        <code class="action">
          <Untrusted text={event.action} />
        </code>
      )
    case 'resourceType':
      return <Untrusted class="tag" text={event.resource?.type ?? ''} />
    case 'resourceId':
      return <Text value={event.resource?.id} mono />
    case 'resourceName':
      return <Text value={event.resource?.name} />
    case 'targets':
      return <TargetsCell targets={event.targets} />
    case 'outcome':
      return <OutcomeBadge outcome={event.outcome} t={t} />
    case 'metadata':
      return <Untrusted class="json-cell" text={json(event.metadata) || '—'} />
    case 'changes':
      return <Untrusted class="json-cell" text={json(event.changes) || '—'} />
    case 'id':
      return <Text value={event.id} mono />
    case 'userAgent':
      return <Text value={event.context?.userAgent} />
    case 'method':
      return <Text value={event.context?.method} mono />
    case 'path':
      return <Text value={event.context?.path} mono />
    case 'status':
      return <Text value={event.context?.status} mono />
    case 'requestId':
      return <Text value={event.context?.requestId} mono />
    case 'seq':
      return <Text value={event.seq} mono />
    case 'hash':
      return <Text value={event.hash} mono />
    default:
      // A column this page does not know yet: its value by path, if the event has one.
      return <Text value={json(resolvePath(event, column) as JsonValue | undefined)} />
  }
}
