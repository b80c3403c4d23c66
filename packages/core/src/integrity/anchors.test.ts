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

  it('reads checkpoint records as an OTLP receiver or a SIEM exports them: nested attributes, OTLP JSON key/values', () => {
    // The receiver's decoded log record (test-utils' ReceivedLogRecord): seq as a number.
    const nested = { eventName: 'audit_checkpoint_signed', severityText: 'INFO', attributes: { ...siemRecord, 'audit.seq': 42 } }
    // OTLP JSON (a collector's file exporter, `logRecords[]`): int64 as a string, every value wrapped.
    const otlpJson = {
      timeUnixNano: '1767225600000000000',
      eventName: 'audit_checkpoint_signed',
      body: { stringValue: 'integrity checkpoint of acme at seq 42' },
      attributes: Object.entries(siemRecord).map(([key, value]) =>
        key === 'audit.seq' ? { key, value: { intValue: value } } : { key, value: { stringValue: value } },
      ),
    }
    expect(parseCheckpoints(JSON.stringify([nested, otlpJson]))).toEqual([checkpoint, checkpoint])
    expect(parseCheckpoints(`${JSON.stringify(otlpJson)}\n${JSON.stringify({ attributes: siemRecord })}`)).toEqual([checkpoint, checkpoint])
  })

  it('refuses (does not skip) a nested record of another event, as it does a flat one', () => {
    const other = { eventName: 'project_updated', attributes: { 'audit.action': 'project_updated', 'audit.seq': 7 } }
    expect(() => parseCheckpoints(JSON.stringify([{ eventName: 'audit_checkpoint_signed', attributes: siemRecord }, other]))).toThrow(
      /Checkpoint 2 is a "project_updated" record, not an audit_checkpoint_signed one/,
    )
    expect(() => parseCheckpoints(JSON.stringify({ 'audit.action': 'project_updated', 'audit.seq': '7' }))).toThrow(/"project_updated" record/)
    expect(() => parseCheckpoints(JSON.stringify({ eventName: 'audit_checkpoint_signed', attributes: 'x' }))).toThrow(/attributes/)
    expect(() => parseCheckpoints(JSON.stringify({ resourceLogs: [] }))).toThrow(/whole OTLP request/)
  })

  it('accepts a checkpoint at seq 1, blank lines of spaces, an empty event name and seq as an OTLP doubleValue', () => {
    expect(parseCheckpoints(JSON.stringify({ ...checkpoint, seq: 1 }))).toEqual([{ ...checkpoint, seq: 1 }])
    expect(parseCheckpoints(`${JSON.stringify(checkpoint)}\n   \n${JSON.stringify(checkpoint)}`)).toEqual([checkpoint, checkpoint])
    expect(parseCheckpoints(JSON.stringify({ eventName: '', attributes: siemRecord }))).toEqual([checkpoint])
    const attributes = Object.entries(siemRecord).map(([key, value]) => (key === 'audit.seq' ? { key, value: { doubleValue: 42 } } : { key, value: { stringValue: value } }))
    // Entries an OTLP exporter would not write are skipped, not read as fields.
    const junk = [null, 7, { key: 1, value: { stringValue: 'x' } }, { key: 'audit.hash', value: null }, { key: 'audit.hash', value: 'raw' }, { key: 'x', value: { arrayValue: {} } }]
    expect(parseCheckpoints(JSON.stringify({ eventName: 'audit_checkpoint_signed', attributes: [...junk, ...attributes] }))).toEqual([checkpoint])
  })

  it('refuses malformed records with INVALID_OPTIONS, naming the record or line', () => {
    const invalid = expect.objectContaining({ code: 'INVALID_OPTIONS' })
    expect(() => parseCheckpoints(`${JSON.stringify(checkpoint)}\n{oops`)).toThrow(/Checkpoint line 2 is not JSON/)
    for (const text of ['null', '[1]', JSON.stringify({ ...checkpoint, seq: 0 }), JSON.stringify({ ...checkpoint, hash: 1 }), JSON.stringify({ attributes: null }), JSON.stringify({ resourceLogs: [] })])
      expect(() => parseCheckpoints(text)).toThrow(invalid)
    // The event name alone says what a record is when its attributes carry no audit.action.
    const { 'audit.action': _action, ...withoutAction } = siemRecord
    for (const name of ['eventName', 'event_name'])
      expect(() => parseCheckpoints(JSON.stringify({ [name]: 'project_updated', attributes: withoutAction }))).toThrow(/"project_updated" record/)
    expect(() => parseCheckpoints(JSON.stringify({ ...siemRecord, 'audit.action': 'project_updated' }))).toThrow(invalid)
  })
})
