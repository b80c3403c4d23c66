import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { boundRequestContext } from '../capture/request-facts.js'
import { AuditKitError, isAuditKitError, type AuditErrorDetail } from '../errors.js'
import type { Actor, RequestContext } from '../event/schema.js'
import { uuidv7 } from '../ids/uuidv7.js'
import type { AuditLogger } from '../logger/audit-logger.js'
import type { AuditStore, SignedCheckpoint } from '../store/types.js'
import { EMPTY_CURSOR, SIEM_STATE, settlesWithin, startDeliveryWorker, type DeliveryCursor, type DeliveryError, type DeliveryWorker } from './delivery-worker.js'
import { createEndpointGuard, type EndpointPolicy } from './endpoint-policy.js'
import { failure, type ExportResult } from './export-result.js'
import { SEVERITY, encodeExportLogsRequest, type ExportRequestOptions } from './otlp-encoding.js'
import { createOtlpTransport } from './otlp-transport.js'
import { createSecretBox } from './secret-box.js'
import { effectiveUrl, maskSecret, parseSiemSettings, type SiemProtocol, type SiemSettings } from './settings.js'
import { AUDITKIT_VERSION } from '../version.js'

/** Settings as an admin sees them: header values masked (last four characters). */
export interface MaskedSiemSettings {
  /** Whether events are exported to the collector. */
  enabled: boolean
  /** The collector's URL; empty when none is set. */
  endpoint: string
  /** The OTLP transport. */
  protocol: SiemProtocol
  /** Header names with their values masked (`maskSecret`). */
  headers: Record<string, string>
  /** When the settings were last saved (ISO 8601); null when they never were. */
  updatedAt: string | null
}

export type SiemDeliveryState = 'disabled' | 'up_to_date' | 'catching_up' | 'retrying'

export interface SiemStatus {
  state: SiemDeliveryState
  /** Events appended but not yet accepted by the collector. */
  eventsBehind: number
  /** `seq` of the last event the collector accepted. */
  exportedSeq: number
  lastSuccessAt: string | null
  lastError: DeliveryError | null
}

/** The answer of GET (and PUT) settings. */
export interface SiemSettingsView {
  settings: MaskedSiemSettings
  status: SiemStatus
}

/** The answer of Test Connection. */
export type TestConnectionResult = ExportResult & {
  /** Field problems, for `invalid_config`. */
  details?: readonly { path: string; reason: string; message: string }[]
  durationMs: number
}

/** Who changes the settings: recorded in `siem_config_updated`, and the key of the Test Connection rate limit. */
export interface SiemAdminContext {
  actor: Actor
  /** The request's facts; bounded by the logger's limits when recorded (a long user agent clipped, a long request id left out). */
  context?: RequestContext
}

export interface SiemServiceOptions {
  /** Records `siem_config_updated`; its `onAppend` wakes the exporters. Required. */
  logger: AuditLogger
  /**
   * Where settings, cursors and leases live, and the events are read from.
   * @default logger.store
   */
  store?: AuditStore
  /**
   * 32-byte key (Buffer, 64 hex characters or base64) that encrypts header values at rest with AES-256-GCM.
   * Required to save headers. Keep it outside the database.
   * @default undefined (settings without headers only)
   */
  secretKey?: string | Buffer
  /**
   * Which endpoints may be used; the unspecified, link-local and cloud metadata addresses (`DEFAULT_DENIED_ENDPOINTS`)
   * are always refused, loopback is allowed.
   * @default {}
   */
  endpointPolicy?: EndpointPolicy
  /**
   * `service.name` of the OTLP resource the records are sent under.
   * @default 'auditkit'
   */
  serviceName?: string
  /**
   * Events per OTLP request.
   * @default 500
   */
  batchSize?: number
  /**
   * How often an idle exporter looks for new events besides being woken by the logger (other instances' writes).
   * @default 1000
   */
  pollIntervalMs?: number
  /**
   * How often the list of enabled tenants is re-read (settings saved by another instance).
   * @default 10000
   */
  settingsRefreshMs?: number
  /**
   * How long one instance's claim to export a tenant lasts without renewal.
   * @default 30000
   */
  leaseTtlMs?: number
  /**
   * Timeout of one export request while streaming.
   * @default 10000
   */
  requestTimeoutMs?: number
  /**
   * Timeout of Test Connection.
   * @default 5000
   */
  testTimeoutMs?: number
  /**
   * Backoff between failed exports (exponential with jitter, never giving up); a longer `Retry-After` from the
   * collector is honoured up to `maxRetryAfterMs`.
   * @default { initialDelayMs: 500, maxDelayMs: 60000, maxRetryAfterMs: 600000 }
   */
  retry?: { initialDelayMs?: number; maxDelayMs?: number; maxRetryAfterMs?: number }
  /**
   * Test Connection attempts allowed per admin (tenant + actor id) per window.
   * @default { max: 5, windowMs: 60000 }
   */
  testRateLimit?: { max?: number; windowMs?: number }
  /**
   * The integrity checkpointer (`createCheckpointer`), so that each signed checkpoint is sent at once. Checkpoints
   * reach the SIEM without it too (exporters read them from the store), within a few seconds.
   * @default undefined
   */
  checkpointer?: { onCheckpoint(listener: (checkpoint: SignedCheckpoint) => void): () => void }
  /**
   * Extra trusted CA certificates (PEM) for collectors behind a private CA.
   * @default undefined (Node's public CA list)
   */
  ca?: string | Buffer | (string | Buffer)[]
  /**
   * Identifies this app instance in leases.
   * @default `${hostname()}:${process.pid}:${random}`
   */
  instanceId?: string
  /**
   * Told about every export or store failure (they are retried), with the tenant whose exporter failed.
   * @default logs to console.error, with the tenant id
   */
  onError?: (error: unknown, info: SiemErrorInfo) => void
}

/** What `onError` is told besides the error. Never a header value (they are secrets). */
export interface SiemErrorInfo {
  /** The tenant whose export (or settings) failed; absent when the failure concerns no one tenant (listing settings). */
  tenantId?: string
}

export interface SiemService {
  /** Masked settings and delivery status of a tenant. */
  getSettings(tenantId: string): Promise<SiemSettingsView>
  /**
   * Validates and saves; a header value equal to its mask keeps the stored secret. Records `siem_config_updated`
   * with masked before/after. Throws `INVALID_SETTINGS`, `ENDPOINT_NOT_ALLOWED` or `SECRET_KEY_ERROR`.
   */
  updateSettings(tenantId: string, input: unknown, admin: SiemAdminContext): Promise<SiemSettingsView>
  /**
   * Sends one real record (`audit.action = test_connection`) with the submitted values, saving nothing and
   * recording nothing. Throws `RATE_LIMITED`; every other outcome is a classified result.
   */
  testConnection(tenantId: string, input: unknown, admin: SiemAdminContext): Promise<TestConnectionResult>
  status(tenantId: string): Promise<SiemStatus>
  /** Starts an exporter for every enabled tenant and follows the logger's appends. */
  start(): Promise<void>
  /**
   * Stops every exporter, abandoning a request still in flight after 1 s (sent again later: at least once); releases
   * leases. Resolves within `timeoutMs` even when a store call never settles (a driver stuck on a dead primary): what
   * it gave up on is reported through `onError` (`STORE_UNAVAILABLE`), its leases are left to expire, and a later
   * `start()` resumes from the stored cursors. Rejects with `INVALID_OPTIONS` for a `timeoutMs` that is not positive.
   */
  stop(options?: SiemStopOptions): Promise<void>
}

export interface SiemStopOptions {
  /**
   * How long `stop()` waits for the exporters' store calls before giving up on them; `Infinity` waits as long as it
   * takes. Giving up loses nothing (the cursor only moves after the collector accepted), it may resend a batch.
   * @default 5000
   */
  timeoutMs?: number
}

/** Short of a typical orchestrator's shutdown grace (30 s), leaving time to close the logger after it. */
const DEFAULT_STOP_TIMEOUT_MS = 5000

interface StoredSiemSettings {
  version: 1
  enabled: boolean
  endpoint: string
  protocol: SiemProtocol
  /** Header values sealed with AES-256-GCM, bound to tenant and header name, and their mask (shown without the key). */
  headers: { name: string; sealed: string; masked: string }[]
  updatedAt: string
}

const USER_AGENT = `AuditKit-SIEM-Export${AUDITKIT_VERSION === undefined ? '' : `/${AUDITKIT_VERSION}`}`
const SCOPE_NAME = '@auditkit/core'

/** Creates the SIEM export: per-tenant settings, Test Connection, and one background exporter per enabled tenant. */
export function createSiemService(options: SiemServiceOptions): SiemService {
  const { logger } = options
  const store = options.store ?? logger.store
  const box = createSecretBox(options.secretKey)
  const guard = createEndpointGuard(options.endpointPolicy)
  const serviceName = options.serviceName ?? 'auditkit'
  const batchSize = positive(options.batchSize ?? 500, 'batchSize')
  const pollIntervalMs = positive(options.pollIntervalMs ?? 1000, 'pollIntervalMs')
  const settingsRefreshMs = positive(options.settingsRefreshMs ?? 10_000, 'settingsRefreshMs')
  const leaseTtlMs = positive(options.leaseTtlMs ?? 30_000, 'leaseTtlMs')
  const requestTimeoutMs = positive(options.requestTimeoutMs ?? 10_000, 'requestTimeoutMs')
  const testTimeoutMs = positive(options.testTimeoutMs ?? 5000, 'testTimeoutMs')
  if (leaseTtlMs <= requestTimeoutMs) {
    // Otherwise a slow request could outlive the lease and two instances would export the same tenant.
    throw new AuditKitError('INVALID_OPTIONS', 'createSiemService: leaseTtlMs must be longer than requestTimeoutMs')
  }
  const retry = {
    initialDelayMs: positive(options.retry?.initialDelayMs ?? 500, 'retry.initialDelayMs'),
    maxDelayMs: positive(options.retry?.maxDelayMs ?? 60_000, 'retry.maxDelayMs'),
    maxRetryAfterMs: positive(options.retry?.maxRetryAfterMs ?? 600_000, 'retry.maxRetryAfterMs'),
  }
  const rateMax = positive(options.testRateLimit?.max ?? 5, 'testRateLimit.max')
  const rateWindowMs = positive(options.testRateLimit?.windowMs ?? 60_000, 'testRateLimit.windowMs')
  const owner = options.instanceId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
  const reportError =
    options.onError ??
    ((error: unknown, info: SiemErrorInfo) =>
      // JSON-quoted: a tenant id is the host app's string, and must not be able to forge a log line.
      console.error(`[auditkit] SIEM export${info.tenantId === undefined ? '' : ` (tenant ${JSON.stringify(info.tenantId)})`}: ${describe(error)}`))
  const onError = (error: unknown, info: SiemErrorInfo): void => {
    try {
      const result: unknown = reportError(error, info)
      // An async onError that rejects must not become an unhandled rejection either.
      if (result instanceof Promise) result.catch(() => {})
    } catch {
      // A throwing onError must not stop an exporter: its retry loop reports every failure through it.
    }
  }
  /** `onError` for one tenant's failures, so that with many tenants an operator can tell whose collector failed. */
  const onTenantError =
    (tenantId: string) =>
    (error: unknown): void =>
      onError(error, { tenantId })
  const requestOptions: ExportRequestOptions = { resource: [['service.name', serviceName]], scopeName: SCOPE_NAME, ...(AUDITKIT_VERSION === undefined ? {} : { scopeVersion: AUDITKIT_VERSION }) }

  const workers = new Map<string, { worker: DeliveryWorker; updatedAt: string }>()
  const testAttempts = new Map<string, number[]>()
  let unsubscribe: (() => void) | null = null
  let unsubscribeCheckpoints: (() => void) | null = null
  let refreshTimer: NodeJS.Timeout | null = null
  let started = false
  // Bumped by start() and stop(): a refresh stuck on a store call that stop() gave up on must do nothing once it wakes.
  let generation = 0
  let refreshing: Promise<void> = Promise.resolve()

  const readStored = (tenantId: string): Promise<StoredSiemSettings | null> => store.getState<StoredSiemSettings>(SIEM_STATE.settings, tenantId)

  /** A header value is sealed bound to its tenant and name: a sealed value copied to another one does not open. */
  const sealingContext = (tenantId: string, name: string): string => `${tenantId}\n${name}`
  const openHeader = (tenantId: string, header: { name: string; sealed: string }): string => box.open(header.sealed, sealingContext(tenantId, header.name))

  const openHeaders = (tenantId: string, stored: StoredSiemSettings): Record<string, string> =>
    Object.fromEntries(stored.headers.map((header) => [header.name, openHeader(tenantId, header)]))

  const decrypt = (tenantId: string, stored: StoredSiemSettings): SiemSettings => ({
    enabled: stored.enabled,
    endpoint: stored.endpoint,
    protocol: stored.protocol,
    headers: openHeaders(tenantId, stored),
  })

  /** Reads need no decryption: the masks are stored beside the sealed values, so a wrong key cannot break GET. */
  const masked = (stored: StoredSiemSettings | null): MaskedSiemSettings => {
    if (!stored) return { enabled: false, endpoint: '', protocol: 'grpc', headers: {}, updatedAt: null }
    return {
      enabled: stored.enabled,
      endpoint: stored.endpoint,
      protocol: stored.protocol,
      headers: Object.fromEntries(stored.headers.map(({ name, masked: mask }) => [name, mask])),
      updatedAt: stored.updatedAt,
    }
  }

  /**
   * A submitted header value equal to the stored value's mask means "unchanged". Only those are decrypted, so that
   * after a `secretKey` change an admin can still save settings by entering the header values again.
   */
  const mergeMaskedHeaders = (tenantId: string, submitted: SiemSettings, previous: StoredSiemSettings | null): SiemSettings => {
    if (!previous) return submitted
    const headers: Record<string, string> = {}
    const details: AuditErrorDetail[] = []
    // A stored secret goes only to the collector it was entered for: pointing the form at another origin and sending
    // the mask back would otherwise hand the token to any server an admin names.
    const origin = originOf(submitted)
    const sameCollector = origin !== null && origin === originOf(previous)
    for (const [name, value] of Object.entries(submitted.headers)) {
      const before = previous.headers.find((header) => header.name.toLowerCase() === name.toLowerCase())
      if (!before || value !== before.masked) {
        headers[name] = value
        continue
      }
      if (!sameCollector) {
        details.push({
          path: `headers.${name}`,
          reason: 'reenter_secret',
          message: `The endpoint is not the one "${name}" was saved for: enter its value again (a stored secret is only sent to its own collector)`,
        })
        continue
      }
      try {
        headers[name] = openHeader(tenantId, before)
      } catch (error) {
        if (!isAuditKitError(error) || error.code !== 'SECRET_KEY_ERROR') throw error
        details.push({
          path: `headers.${name}`,
          reason: 'undecryptable',
          message: `The stored value of "${name}" cannot be decrypted (was secretKey changed?): enter the value again`,
        })
      }
    }
    if (details.length > 0) throw new AuditKitError('INVALID_SETTINGS', details[0]?.message ?? 'A stored header cannot be decrypted', { details })
    return { ...submitted, headers }
  }

  async function status(tenantId: string): Promise<SiemStatus> {
    const [stored, cursor, lastError, head] = await Promise.all([
      readStored(tenantId),
      store.getState<DeliveryCursor>(SIEM_STATE.cursor, tenantId),
      store.getState<DeliveryError>(SIEM_STATE.status, tenantId),
      store.chainHead(tenantId),
    ])
    const position = cursor ?? EMPTY_CURSOR
    const eventsBehind = Math.max(0, (head?.seq ?? 0) - position.seq)
    let state: SiemDeliveryState
    if (!stored?.enabled) state = 'disabled'
    else if (lastError && (!position.lastSuccessAt || lastError.at > position.lastSuccessAt)) state = 'retrying'
    else state = eventsBehind > 0 ? 'catching_up' : 'up_to_date'
    return { state, eventsBehind, exportedSeq: position.seq, lastSuccessAt: position.lastSuccessAt, lastError: lastError ?? null }
  }

  async function startWorker(tenantId: string, stored: StoredSiemSettings, run: number): Promise<void> {
    const current = workers.get(tenantId)
    if (current && current.updatedAt === stored.updatedAt) return
    if (current) {
      workers.delete(tenantId)
      await current.worker.stop(DEFAULT_STOP_TIMEOUT_MS)
    }
    if (!stored.enabled || !started || run !== generation) return
    const settings = decrypt(tenantId, stored)
    const transport = createOtlpTransport({ settings, guard, keepAlive: true, userAgent: USER_AGENT, ...(options.ca ? { ca: options.ca } : {}) })
    const worker = startDeliveryWorker({
      tenantId,
      store,
      transport,
      request: requestOptions,
      owner,
      batchSize,
      pollIntervalMs,
      leaseTtlMs,
      requestTimeoutMs,
      retry,
      settingsUpdatedAt: stored.updatedAt,
      onError: onTenantError(tenantId),
    })
    workers.set(tenantId, { worker, updatedAt: stored.updatedAt })
  }

  /** Brings the set of running exporters in line with the stored settings (serialised: one refresh at a time). */
  function refresh(): Promise<void> {
    const run = generation
    const current = (): boolean => started && run === generation
    refreshing = refreshing.then(async () => {
      if (!current()) return
      try {
        const all = await store.listState<StoredSiemSettings>(SIEM_STATE.settings)
        const enabled = new Set<string>()
        for (const { key, value } of all) {
          if (!current()) return
          if (!value?.enabled) continue
          enabled.add(key)
          try {
            await startWorker(key, value, run)
          } catch (error) {
            // Typically stored headers that the current secretKey cannot decrypt: show it in the status.
            onError(error, { tenantId: key })
            const problem: DeliveryError = {
              result: 'invalid_config',
              message: `The exporter cannot start: ${error instanceof Error ? error.message : String(error)}`,
              at: new Date().toISOString(),
              attempts: 1,
              nextAttemptAt: new Date(Date.now() + settingsRefreshMs).toISOString(),
            }
            await store.putState(SIEM_STATE.status, key, problem).catch(onTenantError(key))
          }
        }
        for (const [tenantId, { worker }] of workers) {
          if (!current()) return
          if (!enabled.has(tenantId)) {
            workers.delete(tenantId)
            await worker.stop(DEFAULT_STOP_TIMEOUT_MS)
          }
        }
      } catch (error) {
        onError(error, {})
      }
    })
    return refreshing
  }

  function checkRateLimit(tenantId: string, actorId: string): void {
    // JSON, not a separator: ids may hold any character, and ('a\nb', 'c') must not share the allowance of ('a', 'b\nc').
    const key = JSON.stringify([tenantId, actorId])
    const now = Date.now()
    const recent = (testAttempts.get(key) ?? []).filter((at) => now - at < rateWindowMs)
    if (recent.length >= rateMax) {
      testAttempts.set(key, recent)
      const waitSeconds = Math.ceil(((recent[0] ?? now) + rateWindowMs - now) / 1000)
      throw new AuditKitError('RATE_LIMITED', `Too many Test Connection attempts: try again in ${waitSeconds} s`)
    }
    recent.push(now)
    testAttempts.set(key, recent)
  }

  return {
    async getSettings(tenantId) {
      const stored = await readStored(tenantId)
      return { settings: masked(stored), status: await status(tenantId) }
    },

    async updateSettings(tenantId, input, admin) {
      const previousStored = await readStored(tenantId)
      const next = mergeMaskedHeaders(tenantId, parseSiemSettings(input), previousStored)
      if (next.endpoint !== '') guard.checkHost(new URL(next.endpoint).hostname)
      const updatedAt = new Date().toISOString()
      const stored: StoredSiemSettings = {
        version: 1,
        enabled: next.enabled,
        endpoint: next.endpoint,
        protocol: next.protocol,
        headers: Object.entries(next.headers).map(([name, value]) => ({
          name,
          sealed: box.seal(value, sealingContext(tenantId, name)),
          masked: maskSecret(value),
        })),
        updatedAt,
      }
      await store.putState(SIEM_STATE.settings, tenantId, stored)
      // Switch exporters before recording the change: the record then goes to the new endpoint, or waits while disabled.
      await refresh()
      const before = previousStored ? masked(previousStored) : null
      const after = masked(stored)
      await logger.record(
        {
          tenantId,
          actor: admin.actor,
          action: 'siem_config_updated',
          resource: { type: 'siem_integration', id: tenantId },
          outcome: 'success',
          // Bounded by the logger's limits: a long header must not make the change unrecordable once it is saved.
          ...(admin.context ? { context: boundRequestContext(admin.context, logger.limits) } : {}),
          changes: {
            ...(before ? { before: { enabled: before.enabled, endpoint: before.endpoint, protocol: before.protocol, headers: before.headers } } : {}),
            after: { enabled: after.enabled, endpoint: after.endpoint, protocol: after.protocol, headers: after.headers },
          },
        },
        { delivery: 'await' },
      )
      return { settings: after, status: await status(tenantId) }
    },

    async testConnection(tenantId, input, admin) {
      checkRateLimit(tenantId, admin.actor.id)
      const startedAt = Date.now()
      const finish = (result: ExportResult, details?: TestConnectionResult['details']): TestConnectionResult => ({
        ...result,
        ...(details ? { details } : {}),
        durationMs: Date.now() - startedAt,
      })
      let settings: SiemSettings
      try {
        const previousStored = await readStored(tenantId)
        settings = mergeMaskedHeaders(tenantId, parseSiemSettings(input), previousStored)
        if (settings.endpoint === '') {
          return finish(failure('invalid_config', 'An endpoint URL is required'), [
            { path: 'endpoint', reason: 'required', message: 'An endpoint URL is required to test the connection' },
          ])
        }
      } catch (error) {
        if (isAuditKitError(error) && error.code === 'INVALID_SETTINGS') return finish(failure('invalid_config', error.message), error.details)
        throw error
      }
      const transport = createOtlpTransport({ settings, guard, keepAlive: false, userAgent: USER_AGENT, ...(options.ca ? { ca: options.ca } : {}) })
      try {
        const now = new Date()
        const body = encodeExportLogsRequest(
          [
            {
              timeMs: now.getTime(),
              severityNumber: SEVERITY.INFO,
              severityText: 'INFO',
              eventName: 'test_connection',
              body: 'AuditKit SIEM Test Connection',
              attributes: [
                ['audit.id', uuidv7(now.getTime())],
                ['audit.action', 'test_connection'],
                ['audit.occurred_at', now.toISOString()],
                ['audit.tenant.id', tenantId],
                ['audit.outcome', 'success'],
                ['audit.actor.type', admin.actor.type],
                ['audit.actor.id', admin.actor.id],
                ...(admin.actor.name ? [['audit.actor.name', admin.actor.name] as [string, string]] : []),
                ['audit.resource.type', 'siem_integration'],
                ['audit.resource.id', tenantId],
              ],
            },
          ],
          requestOptions,
        )
        const result = await transport.send(body, testTimeoutMs)
        if (result.ok && result.rejectedRecords) {
          // Accepted on the wire but dropped by the collector: the record will not be in the SIEM, so not "ok".
          return finish(
            failure('unexpected_response', `The collector accepted the request but rejected ${result.rejectedRecords} of 1 records (OTLP partial success)`),
          )
        }
        return finish(result)
      } finally {
        transport.close()
      }
    },

    status,

    async start() {
      if (started) return
      started = true
      generation++
      await store.init()
      unsubscribe = logger.onAppend((events) => {
        const tenants = new Set(events.map((event) => event.tenantId))
        for (const tenantId of tenants) workers.get(tenantId)?.worker.wake()
      })
      unsubscribeCheckpoints =
        options.checkpointer?.onCheckpoint((checkpoint) => workers.get(checkpoint.chainId)?.worker.wake({ checkpoints: true })) ?? null
      refreshTimer = setInterval(() => void refresh(), settingsRefreshMs)
      refreshTimer.unref()
      await refresh()
    },

    async stop({ timeoutMs = DEFAULT_STOP_TIMEOUT_MS }: SiemStopOptions = {}) {
      if (!(timeoutMs > 0)) throw new AuditKitError('INVALID_OPTIONS', 'siem.stop(): timeoutMs must be a positive number (or Infinity)')
      if (!started) return
      started = false
      generation++
      unsubscribe?.()
      unsubscribe = null
      unsubscribeCheckpoints?.()
      unsubscribeCheckpoints = null
      if (refreshTimer) clearInterval(refreshTimer)
      refreshTimer = null
      const startedAt = Date.now()
      if (!(await settlesWithin(refreshing, timeoutMs))) {
        onError(
          new AuditKitError(
            'STORE_UNAVAILABLE',
            `stop() gave up after ${Date.now() - startedAt} ms on the settings refresh: a store call did not settle; exporters it was starting or stopping are left to their leases' expiry`,
          ),
          {},
        )
        // A later start() must not queue behind the stuck refresh (which does nothing once it wakes: the generation moved).
        refreshing = Promise.resolve()
      }
      const left = Math.max(0, timeoutMs - (Date.now() - startedAt))
      const running = [...workers.values()].map(({ worker }) => worker.stop(left))
      workers.clear()
      await Promise.all(running)
    },
  }
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new AuditKitError('INVALID_OPTIONS', `createSiemService: ${name} must be a positive integer`)
  return value
}

function describe(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'result' in error && 'message' in error) {
    return `${String((error as { result: unknown }).result)}: ${String((error as { message: unknown }).message)}`
  }
  return error instanceof Error ? error.message : String(error)
}

/**
 * `scheme://host:port` connected to for an endpoint URL, or null when there is none: with the protocol's default port
 * when the URL names none, so that `https://c:443` and `https://c` (port 4317 or 4318) are different collectors.
 */
function originOf(settings: Pick<SiemSettings, 'endpoint' | 'protocol'>): string | null {
  if (settings.endpoint === '') return null
  try {
    return effectiveUrl(settings).origin
  } catch {
    return null
  }
}
