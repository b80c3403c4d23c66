import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { checkpointPayload, signCheckpoint, verifyCheckpointSignature } from './checkpoint.js'

const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const signed = signCheckpoint(
  { chainId: 'acme', seq: 50, hash: 'a'.repeat(64), createdAt: '2026-01-01T00:00:00.000Z', prevSignature: '', keyId: 'k1' },
  privateKey,
)

describe('verifyCheckpointSignature', () => {
  it('accepts the signature as signCheckpoint writes it (padded standard base64 of 64 bytes)', () => {
    expect(signed.signature).toMatch(/^[A-Za-z0-9+/]{86}==$/)
    expect(verifyCheckpointSignature(signed, publicKey)).toBe(true)
  })

  // Node's base64 decoder skips characters outside the alphabet and reads base64url too, so these decode to the same
  // 64 bytes. A verifier elsewhere (Python's b64decode(validate=True)) refuses them: only the one encoding verifies.
  it.each([
    ['without padding', (s: string) => s.replace(/=+$/, '')],
    ['with characters appended', (s: string) => `${s}!!hidden`],
    ['in the base64url alphabet', (s: string) => s.replace(/\+/g, '-').replace(/\//g, '_')],
    ['with whitespace inside', (s: string) => `${s.slice(0, 10)} \n${s.slice(10)}`],
  ])('refuses a signature re-encoded %s', (_name, recode) => {
    const signature = recode(signed.signature)
    if (signature === signed.signature) return // the random signature had no character to re-encode
    expect(verifyCheckpointSignature({ ...signed, signature }, publicKey)).toBe(false)
  })

  it('signs exactly the domain-separated JCS form of the fields, so that other verifiers can check it', () => {
    const { signature: _signature, ...fields } = signed
    expect(checkpointPayload(fields).toString('utf8')).toBe(
      'auditkit-checkpoint-v1\n' +
        `{"chainId":"acme","createdAt":"2026-01-01T00:00:00.000Z","hash":"${'a'.repeat(64)}","keyId":"k1","prevSignature":"","seq":50}`,
    )
  })

  it('returns false, without throwing, for a signature or fields edited into something malformed', () => {
    for (const signature of [null, 42, '', undefined]) expect(verifyCheckpointSignature({ ...signed, signature } as unknown as typeof signed, publicKey)).toBe(false)
    expect(verifyCheckpointSignature({ ...signed, seq: Number.NaN }, publicKey)).toBe(false)
  })
})
