import { sign, verify, type KeyObject } from 'node:crypto'
import type { SignedCheckpoint } from '../store/types.js'
import { canonicalize } from './canonical.js'

/** The fields a checkpoint signature covers (everything but the signature itself). */
export type UnsignedCheckpoint = Omit<SignedCheckpoint, 'signature'>

/** Domain separation: a checkpoint signature can never be mistaken for a signature over anything else. */
const CHECKPOINT_DOMAIN = 'auditkit-checkpoint-v1\n'

/**
 * The exact bytes an Ed25519 checkpoint signature covers:
 * `auditkit-checkpoint-v1\n` followed by the JCS form of `{ chainId, seq, hash, createdAt, prevSignature, keyId }`.
 */
export function checkpointPayload(checkpoint: UnsignedCheckpoint): Buffer {
  const { chainId, seq, hash, createdAt, prevSignature, keyId } = checkpoint
  return Buffer.from(CHECKPOINT_DOMAIN + canonicalize({ chainId, seq, hash, createdAt, prevSignature, keyId }), 'utf8')
}

/** Signs a checkpoint with an Ed25519 private key (see `toPrivateKey`). */
export function signCheckpoint(checkpoint: UnsignedCheckpoint, privateKey: KeyObject): SignedCheckpoint {
  return { ...checkpoint, signature: sign(null, checkpointPayload(checkpoint), privateKey).toString('base64') }
}

/** True when `signature` is a valid Ed25519 signature of the checkpoint's fields by `publicKey`. */
export function verifyCheckpointSignature(checkpoint: SignedCheckpoint, publicKey: KeyObject): boolean {
  if (typeof checkpoint.signature !== 'string' || checkpoint.signature === '') return false
  // Only the encoding signCheckpoint writes: Node's decoder would also take base64url, missing padding and stray
  // characters, so one checkpoint could be stored and sent in many spellings (other verifiers refuse them).
  const signature = Buffer.from(checkpoint.signature, 'base64')
  if (signature.toString('base64') !== checkpoint.signature) return false
  try {
    return verify(null, checkpointPayload(checkpoint), publicKey, signature)
  } catch {
    // Malformed fields (e.g. a non-numeric seq edited into the database) are a failed check, not a crash.
    return false
  }
}
