import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import {
  createCheckpointer,
  createIntegrityService,
  createSiemAdminService,
  createSiemService,
  type AuditAdminOptions,
  type AuditLogger,
  type AuditStore,
} from '@auditkit/core'

/** The demo's keys: generated on first start beside the audit log, readable only by their owner. */
export interface DemoKeys {
  /** Encrypts SIEM header values at rest. */
  secretKey: Buffer
  signingPrivateKey: string
  signingPublicKey: string
  directory: string
}

function readOrCreate(path: string, create: () => string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8')
  const value = create()
  writeFileSync(path, value, { mode: 0o600 })
  return value
}

/** Keys under `<DEMO_DATA_DIR or ./data>/keys` (a real deployment keeps them in a secret manager, never in the database). */
export function loadDemoKeys(directory?: string): DemoKeys {
  const startDir = process.env.INIT_CWD ?? process.cwd()
  const dir = resolve(startDir, directory ?? join(process.env.DEMO_DATA_DIR ?? 'data', 'keys'))
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const secret = readOrCreate(join(dir, 'siem-secret.key'), () => randomBytes(32).toString('base64'))
  let pair: { privateKey: string; publicKey: string } | null = null
  const keyPair = () =>
    (pair ??= generateKeyPairSync('ed25519', {
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    }))
  const signingPrivateKey = readOrCreate(join(dir, 'signing.pem'), () => keyPair().privateKey)
  const signingPublicKey = readOrCreate(join(dir, 'signing.pub.pem'), () => keyPair().publicKey)
  return { secretKey: Buffer.from(secret.trim(), 'base64'), signingPrivateKey, signingPublicKey, directory: dir }
}

export interface DemoSecurity {
  /** Options for the admin routes: SIEM settings and integrity verification. */
  admin: Pick<AuditAdminOptions, 'siem' | 'integrity'>
  close(): Promise<void>
}

/** SIEM export, signed checkpoints and verification, as a host app would wire them. */
export async function startDemoSecurity(options: { logger: AuditLogger; store: AuditStore; keys: DemoKeys }): Promise<DemoSecurity> {
  const { logger, store, keys } = options
  const checkpointer = createCheckpointer({ logger, privateKey: keys.signingPrivateKey, everyEvents: 1000, everyMs: 60_000 })
  const siem = createSiemService({ logger, secretKey: keys.secretKey, serviceName: 'auditkit-demo', checkpointer })
  await siem.start()
  const integrity = createIntegrityService({ store, publicKey: keys.signingPublicKey })
  return {
    admin: { siem: createSiemAdminService(siem), integrity },
    async close() {
      await siem.stop()
      await checkpointer.close()
    },
  }
}
