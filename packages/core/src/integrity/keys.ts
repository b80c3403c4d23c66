import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { AuditKitError } from '../errors.js'

/** An Ed25519 key as a `KeyObject`, or PEM text (string or bytes). */
export type KeyInput = KeyObject | string | Buffer

/** Parses an Ed25519 private key; anything else is `INVALID_OPTIONS`. */
export function toPrivateKey(input: KeyInput, what = 'privateKey'): KeyObject {
  const key = parse(() => (isKeyObject(input) ? input : createPrivateKey(input)), what)
  if (key.type !== 'private') throw new AuditKitError('INVALID_OPTIONS', `${what} must be a private key`)
  return requireEd25519(key, what)
}

/** Parses an Ed25519 public key; a private key is accepted too (its public half is used). */
export function toPublicKey(input: KeyInput, what = 'publicKey'): KeyObject {
  const key = parse(() => (isKeyObject(input) ? input : createPublicKey(input)), what)
  return requireEd25519(key.type === 'private' ? createPublicKey(key) : key, what)
}

/** A short, stable name for a key: the first 16 hex digits of SHA-256 over its SPKI DER encoding. */
export function keyFingerprint(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16)
}

function isKeyObject(input: KeyInput): input is KeyObject {
  return typeof input === 'object' && !Buffer.isBuffer(input) && 'asymmetricKeyType' in input
}

function parse(read: () => KeyObject, what: string): KeyObject {
  try {
    return read()
  } catch (error) {
    throw new AuditKitError('INVALID_OPTIONS', `${what} is not a readable PEM key: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    })
  }
}

function requireEd25519(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519')
    throw new AuditKitError('INVALID_OPTIONS', `${what} must be an Ed25519 key, got ${key.asymmetricKeyType ?? key.type}`)
  return key
}
