import type { AuditStore } from '@auditkit/core'

/**
 * `store` with its `append` replaced by `append`, every other member its own (methods bound to it): a slow store, a
 * store that keeps nothing, without rewriting the rest of a store.
 */
export function storeWithAppend(store: AuditStore, append: AuditStore['append']): AuditStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'append') return append
      const value: unknown = Reflect.get(target, property, receiver)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
}
