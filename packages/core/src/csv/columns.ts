import type { AuditEvent, JsonValue, ResourceRef } from '../event/schema.js'

export type ColumnLocale = 'en' | 'ja'
export const COLUMN_LOCALES = ['en', 'ja'] as const satisfies readonly ColumnLocale[]

/** One column a user can show in the admin page or export as CSV. */
export interface AuditColumn {
  /** Stable id used in `?columns=` and in the UI's saved choice. */
  id: string
  /** Header text per locale. */
  label: Record<ColumnLocale, string>
  /** Part of the default selection (the fields the microCMS audit log manual lists, mapped to ours). */
  default: boolean
  /** The cell text for one event; '' when the event has no value. */
  value: (event: AuditEvent) => string
}

function json(value: JsonValue | undefined): string {
  return value === undefined ? '' : JSON.stringify(value)
}

function ref(target: ResourceRef): string {
  const id = target.id === undefined ? target.type : `${target.type}:${target.id}`
  return target.name === undefined ? id : `${id} (${target.name})`
}

/**
 * Every column, in display order. The default set mirrors the microCMS manual's list
 * (日時, IPアドレス, ユーザー, 操作内容, 対象 ID/名前, 対象メンバー/レビュアー/新しい作成者, CSVインポートデータ数, 予約日時, ...):
 * the per-resource "target X id / name" columns become `resourceType`/`resourceId`/`resourceName`, further objects
 * (new author, reviewer, member) become `targets`, and the numbers and times a few operations carry are `metadata`.
 */
export const AUDIT_COLUMNS: readonly AuditColumn[] = [
  { id: 'occurredAt', label: { en: 'Date and time (UTC)', ja: '日時 (UTC)' }, default: true, value: (e) => e.occurredAt },
  { id: 'ip', label: { en: 'IP address', ja: 'IPアドレス' }, default: true, value: (e) => e.context?.ip ?? '' },
  {
    id: 'actor',
    label: { en: 'User', ja: 'ユーザー' },
    default: true,
    value: (e) => e.actor.name ?? e.actor.email ?? e.actor.id,
  },
  { id: 'actorEmail', label: { en: 'Email address', ja: 'メールアドレス' }, default: true, value: (e) => e.actor.email ?? '' },
  { id: 'action', label: { en: 'Operation', ja: '操作内容' }, default: true, value: (e) => e.action },
  { id: 'resourceType', label: { en: 'Target type', ja: '対象の種類' }, default: true, value: (e) => e.resource.type },
  { id: 'resourceId', label: { en: 'Target ID', ja: '対象ID' }, default: true, value: (e) => e.resource.id ?? '' },
  { id: 'resourceName', label: { en: 'Target name', ja: '対象名' }, default: true, value: (e) => e.resource.name ?? '' },
  {
    id: 'targets',
    label: { en: 'Other targets', ja: 'その他の対象' },
    default: true,
    value: (e) => (e.targets === undefined ? '' : e.targets.map(ref).join('; ')),
  },
  { id: 'outcome', label: { en: 'Outcome', ja: '結果' }, default: true, value: (e) => e.outcome },
  { id: 'metadata', label: { en: 'Details', ja: '詳細' }, default: true, value: (e) => json(e.metadata) },
  { id: 'id', label: { en: 'Event ID', ja: 'イベントID' }, default: false, value: (e) => e.id },
  { id: 'actorId', label: { en: 'User ID', ja: 'ユーザーID' }, default: false, value: (e) => e.actor.id },
  { id: 'actorType', label: { en: 'User type', ja: 'ユーザーの種類' }, default: false, value: (e) => e.actor.type },
  { id: 'userAgent', label: { en: 'User agent', ja: 'ユーザーエージェント' }, default: false, value: (e) => e.context?.userAgent ?? '' },
  { id: 'method', label: { en: 'HTTP method', ja: 'HTTPメソッド' }, default: false, value: (e) => e.context?.method ?? '' },
  { id: 'path', label: { en: 'Path', ja: 'パス' }, default: false, value: (e) => e.context?.path ?? '' },
  { id: 'status', label: { en: 'HTTP status', ja: 'HTTPステータス' }, default: false, value: (e) => (e.context?.status === undefined ? '' : String(e.context.status)) },
  { id: 'requestId', label: { en: 'Request ID', ja: 'リクエストID' }, default: false, value: (e) => e.context?.requestId ?? '' },
  { id: 'changes', label: { en: 'Changes', ja: '変更内容' }, default: false, value: (e) => json(e.changes) },
  { id: 'seq', label: { en: 'Sequence', ja: '連番' }, default: false, value: (e) => String(e.seq) },
  { id: 'hash', label: { en: 'Hash', ja: 'ハッシュ' }, default: false, value: (e) => e.hash },
]

const COLUMNS_BY_ID = new Map(AUDIT_COLUMNS.map((column) => [column.id, column]))

export const DEFAULT_COLUMN_IDS: readonly string[] = AUDIT_COLUMNS.filter((c) => c.default).map((c) => c.id)

/** The column with this id, or undefined. */
export function findColumn(id: string): AuditColumn | undefined {
  return COLUMNS_BY_ID.get(id)
}
