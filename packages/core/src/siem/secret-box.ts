import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { AuditKitError } from '../errors.js'

/** Encrypts SIEM header values at rest with AES-256-GCM. */
export interface SecretBox {
  /** `v1.<iv>.<tag>.<ciphertext>` (base64url); `context` is bound as associated data (tenant + header name). */
  seal(plaintext: string, context: string): string
  open(sealed: string, context: string): string
}

/** Accepts a 32-byte Buffer, 64 hex characters, or base64 of 32 bytes (e.g. `openssl rand -base64 32`). */
export function parseSecretKey(key: string | Buffer): Buffer {
  let bytes: Buffer
  if (Buffer.isBuffer(key)) bytes = key
  else if (/^[0-9a-f]{64}$/i.test(key)) bytes = Buffer.from(key, 'hex')
  else bytes = Buffer.from(key, 'base64')
  if (bytes.length !== 32) {
    throw new AuditKitError(
      'SECRET_KEY_ERROR',
      'secretKey must be 32 bytes: a Buffer, 64 hex characters, or base64 (generate one with `openssl rand -base64 32`)',
    )
  }
  return bytes
}

export function createSecretBox(key: string | Buffer | undefined): SecretBox {
  const bytes = key === undefined ? undefined : parseSecretKey(key)
  const requireKey = (): Buffer => {
    if (!bytes) {
      throw new AuditKitError('SECRET_KEY_ERROR', 'SIEM headers are secrets and need the `secretKey` option to be encrypted at rest')
    }
    return bytes
  }
  return {
    seal(plaintext, context) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', requireKey(), iv)
      cipher.setAAD(Buffer.from(context))
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.')
    },
    open(sealed, context) {
      const [version, iv, tag, ciphertext] = sealed.split('.')
      if (version !== 'v1' || iv === undefined || tag === undefined || ciphertext === undefined) {
        throw new AuditKitError('SECRET_KEY_ERROR', 'A stored SIEM secret is malformed')
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', requireKey(), Buffer.from(iv, 'base64url'))
        decipher.setAAD(Buffer.from(context))
        decipher.setAuthTag(Buffer.from(tag, 'base64url'))
        return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8')
      } catch (error) {
        if (error instanceof AuditKitError) throw error
        throw new AuditKitError('SECRET_KEY_ERROR', 'A stored SIEM secret cannot be decrypted: was `secretKey` changed?', { cause: error })
      }
    },
  }
}
