import type { AuditStore } from '@auditkit/core'

/**
 * `store` with every method call passed through `around` (its name, and the call to make or not): count the calls a
 * component makes, or make every call fail as a crashed process's would, without rewriting the store.
 */
export function storeWithCalls(store: AuditStore, around: (method: string, call: () => unknown) => unknown): AuditStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => around(String(property), () => (value as (...a: unknown[]) => unknown).apply(target, args))
    },
  })
}
