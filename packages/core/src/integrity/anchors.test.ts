import { describe, expect, it } from 'vitest'
import type { SignedCheckpoint } from '../store/types.js'
import { parseCheckpoints } from './anchors.js'

const checkpoint: SignedCheckpoint = { chainId: 'acme', seq: 42, hash: 'a'.repeat(64), createdAt: '2026-01-01T00:00:00.000Z', prevSignature: 'cHJldg==', signature: 'c2ln', keyId: 'k1' }
// What a SIEM search export of an `audit_checkpoint_signed` record looks like (values may come back as strings).
const siemRecord = {
  'audit.action': 'audit_checkpoint_signed',
  'audit.chain.id': 'acme',
  'audit.seq': '42',
  'audit.hash': 'a'.repeat(64),
  'audit.checkpoint.created_at': '2026-01-01T00:00:00.000Z',
  'audit.checkpoint.prev_signature': 'cHJldg==',
  'audit.checkpoint.signature': 'c2ln',
  'audit.checkpoint.key_id': 'k1',
}

describe('parseCheckpoints', () => {
  it('reads a checkpoint, an array, NDJSON and SIEM attribute records alike', () => {
    expect(parseCheckpoints(JSON.stringify(checkpoint))).toEqual([checkpoint])
    expect(parseCheckpoints(JSON.stringify([checkpoint, siemRecord]))).toEqual([checkpoint, checkpoint])
    expect(parseCheckpoints(`${JSON.stringify(siemRecord)}\n\n${JSON.stringify({ ...checkpoint, seq: 43 })}\n`)).toEqual([checkpoint, { ...checkpoint, seq: 43 }])
    expect(parseCheckpoints('  ')).toEqual([])
  })

  it('refuses what is not a checkpoint', () => {
    expect(() => parseCheckpoints('{"chainId":"acme"}\nnot json')).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    expect(() => parseCheckpoints(JSON.stringify({ ...checkpoint, seq: 0 }))).toThrow(/seq/)
    expect(() => parseCheckpoints(JSON.stringify({ ...siemRecord, 'audit.hash': undefined }))).toThrow(/audit\.hash/)
    expect(() => parseCheckpoints('[1]')).toThrow(/not an object/)
  })
})
