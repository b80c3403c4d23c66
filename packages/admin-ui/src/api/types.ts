// Shapes of the admin API (DESIGN.md, "Admin HTTP API"). The page only shows what these routes return.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

export interface Actor {
  type: 'user' | 'api_key' | 'system'
  id: string
  name?: string
  email?: string
}

export interface ResourceRef {
  type: string
  id?: string
  name?: string
}

export interface AuditEvent {
  id: string
  occurredAt: string
  tenantId: string
  actor: Actor
  action: string
  resource: ResourceRef
  targets?: ResourceRef[]
  outcome: 'success' | 'failure'
  context?: {
    ip?: string
    userAgent?: string
    method?: string
    path?: string
    route?: string
    status?: number
    requestId?: string
  }
  changes?: { before?: JsonValue; after?: JsonValue }
  metadata?: { [key: string]: JsonValue }
  chainId: string
  seq: number
  prevHash: string
  hash: string
}

export interface EventsPage {
  items: AuditEvent[]
  nextCursor: string | null
}

export interface FacetCount {
  value: string
  count: number
}

export interface ActorFacet {
  type: Actor['type']
  id: string
  name?: string
  count: number
}

export interface Facets {
  actors: ActorFacet[]
  actions: FacetCount[]
  resourceTypes: FacetCount[]
}

export interface ColumnDef {
  /** Stable key, also the CSV column name passed in `columns=`. */
  key: string
  label: { en: string; ja: string }
  /** Shown when the user has not chosen columns yet. */
  defaultVisible: boolean
}

export type SiemProtocol = 'grpc' | 'http/protobuf'

export interface SiemSettings {
  enabled: boolean
  endpoint: string
  protocol: SiemProtocol
  /** Header values come back masked; sending a masked value back keeps the stored secret. */
  headers: Record<string, string>
}

export interface SiemStatus {
  /** `disabled`, `up_to_date`, `catching_up`, `retrying`. */
  state: string
  eventsBehind: number | null
  lastSuccessAt: string | null
  lastError: {
    at?: string
    message: string
    result?: string
    attempts?: number
    nextAttemptAt?: string
    /** Beside a store failure: the collector's failure before it, still unresolved. */
    exportError?: { at?: string; message: string; result?: string }
  } | null
}

export interface SiemSettingsAnswer {
  settings: SiemSettings
  status: SiemStatus | null
  /** When the settings were last saved, if the API says. */
  updatedAt: string | null
}

export interface TestConnectionResult {
  ok: boolean
  /** Classified result: `ok`, `connection_refused`, `timeout`, `unauthorized`, ... */
  result: string
  message: string | null
  hint: string | null
  status: number | null
  durationMs: number | null
  /** Field problems, for `invalid_config`. */
  details: FieldProblem[]
}

export interface FieldProblem {
  path: string
  reason: string
  message: string
}

export interface VerifyResult {
  ok: boolean
  /** Events whose hash and link were checked. */
  checked: number | null
  /** Seq range checked. */
  range: { from: number; to: number | null } | null
  checkpoints: { count: number; signatures: string } | null
  firstBroken: { seq: number | null; id: string | null; reason: string; message: string | null } | null
  /** Limits of what this run could detect. */
  warnings: string[]
}

export interface EventFilters {
  actor?: string
  /** `user`, `api_key` or `system`. */
  actorType?: string
  action?: string
  resourceType?: string
  resourceId?: string
  outcome?: string
  q?: string
  /** ISO 8601 UTC, inclusive. */
  from?: string
  /** ISO 8601 UTC, exclusive. */
  to?: string
}
