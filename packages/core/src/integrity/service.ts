import type { AuditStore } from '../store/types.js'
import { exportNdjson, seqRangeForTimes } from './ndjson.js'
import { verifyChain, type ChainVerification, type VerifyChainOptions } from './verify.js'

export interface IntegrityServiceOptions extends Pick<VerifyChainOptions, 'publicKey' | 'publicKeys' | 'hmacKey' | 'maxUncheckpointed'> {
  /** The store the admin handler reads. Required. */
  store: AuditStore
}

/** A time window `[from, to)`, ISO 8601 UTC with milliseconds. */
export interface IntegrityWindow {
  from: string
  to: string
}

/** What `GET {base}/api/integrity/verify` answers: the verification of the tenant's chain over the window's seq range. */
export interface IntegrityReport extends ChainVerification {
  window: IntegrityWindow
}

/** Implements the admin handler's `IntegrityAdminService`. */
export interface IntegrityService {
  /** Verifies the scope's tenant chain over the seq range of the window. */
  verify(scope: { tenantId: string }, window: IntegrityWindow): Promise<IntegrityReport>
  /** The scope's tenant chain over the window as NDJSON lines, with its checkpoints. */
  exportNdjson(scope: { tenantId: string }, window: IntegrityWindow): AsyncIterable<string>
}

/**
 * The integrity side of the admin API: verification and NDJSON export of the caller's tenant chain only
 * (the tenant comes from `authorize`, never from the query). Pass it to the admin handler.
 */
export function createIntegrityService(options: IntegrityServiceOptions): IntegrityService {
  const { store, ...keys } = options
  return {
    async verify(scope, window) {
      const head = await store.chainHead(scope.tenantId)
      const range = await seqRangeForTimes(store, scope.tenantId, window)
      // A window that reaches the newest event is walked to the end, so that the end-of-chain checks run as in the CLI:
      // a tail cut after the last signed checkpoint, too many events after it. A bound would stop the walk before them.
      const toEnd = head === null || range.toSeq >= head.seq
      const verification = await verifyChain({
        ...keys,
        source: store,
        chainId: scope.tenantId,
        fromSeq: range.fromSeq,
        ...(toEnd ? {} : { toSeq: range.toSeq }),
      })
      return { ...verification, window }
    },
    exportNdjson(scope, window) {
      return exportNdjson({ store, chainIds: [scope.tenantId], range: (chainId) => seqRangeForTimes(store, chainId, window) })
    },
  }
}
