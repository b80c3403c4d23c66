import type { AuditOverrides, AuditRequestContext } from '@auditkit/core'
import type { Reflector } from '@nestjs/core'
import { AUDIT_IGNORE_METADATA, AUDIT_METADATA } from './audit.constants.js'
import type { AuditDecoratorOptions } from './interfaces/audit-options.interface.js'

/** What a handler's `@AuditIgnore()` and `@Audit()` ask of its events (controller's first, the handler's winning). */
interface HandlerAudit {
  readonly ignore: boolean
  readonly overrides: AuditOverrides | undefined
  readonly force: boolean
  /** The handler answers through `@Res()` or `@Next()` without passthrough: Nest sends nothing after it returns. */
  readonly answersItself: boolean
  /** The handler has `@Redirect()`: Nest sends a redirect, with its own status, after the interceptor completes. */
  readonly redirects: boolean
}

// Nest's own metadata keys (`@nestjs/common` constants, unchanged since Nest 5). Route argument keys are
// `${RouteParamtypes}:${index}`, with RESPONSE = 1 and NEXT = 2: the test Nest itself makes in `isResponseHandled`.
const ROUTE_ARGS_METADATA = '__routeArguments__'
const RESPONSE_PASSTHROUGH_METADATA = '__responsePassthrough__'
const REDIRECT_METADATA = '__redirect__'

/**
 * The key the handler is defined under, which Nest keys its route arguments by. Not `handler.name`: a method
 * decorator that wraps the method (tracing, transactions) usually installs an unnamed function under that key.
 */
function methodKeyOf(handler: object, controller: object): string | undefined {
  let proto: object | null | undefined = (controller as { prototype?: object }).prototype
  for (; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    // Descriptors rather than proto[key], so that no getter of the controller runs.
    for (const key of Object.getOwnPropertyNames(proto)) if (Object.getOwnPropertyDescriptor(proto, key)?.value === handler) return key
  }
  return undefined
}

function answersItself(handler: object, controller: object): boolean {
  const name = methodKeyOf(handler, controller)
  const reflect = Reflect as unknown as { getMetadata?: (key: string, target: object, property: string) => unknown }
  if (typeof name !== 'string' || typeof reflect.getMetadata !== 'function') return false
  const args = reflect.getMetadata(ROUTE_ARGS_METADATA, controller, name)
  const usesResponse = !!args && typeof args === 'object' && Object.keys(args).some((key) => key.startsWith('1:') || key.startsWith('2:'))
  return usesResponse && !reflect.getMetadata(RESPONSE_PASSTHROUGH_METADATA, controller, name)
}

/** Whether Nest redirects after the handler: the test it makes itself (`@Redirect()` metadata with a string url). */
function redirects(handler: object): boolean {
  const reflect = Reflect as unknown as { getMetadata?: (key: string, target: object) => unknown }
  if (typeof reflect.getMetadata !== 'function') return false
  const redirect = reflect.getMetadata(REDIRECT_METADATA, handler) as { url?: unknown } | undefined
  return typeof redirect?.url === 'string'
}

/**
 * Decorators run when the classes are defined, so each handler's metadata is read once rather than on every
 * request. Keyed by controller, then handler: a handler inherited by two controllers may carry two metadata sets.
 */
const byController = new WeakMap<object, WeakMap<object, HandlerAudit>>()

function handlerAudit(reflector: Reflector, handler: object, controller: object): HandlerAudit {
  let byHandler = byController.get(controller)
  if (!byHandler) byController.set(controller, (byHandler = new WeakMap()))
  let audit = byHandler.get(handler)
  if (!audit) byHandler.set(handler, (audit = readHandlerAudit(reflector, handler, controller)))
  return audit
}

function readHandlerAudit(reflector: Reflector, handler: object, controller: object): HandlerAudit {
  const onController = reflector.get<AuditDecoratorOptions | undefined>(AUDIT_METADATA, controller as never)
  const onHandler = reflector.get<AuditDecoratorOptions | undefined>(AUDIT_METADATA, handler as never)
  // The nearest decorator wins, as with Nest's own metadata: a handler's `@Audit()` records it although its controller
  // is `@AuditIgnore()`, and a handler's `@AuditIgnore()` skips it although its controller is `@Audit()`.
  const ignoredByHandler = reflector.get<boolean | undefined>(AUDIT_IGNORE_METADATA, handler as never) === true
  const ignoredByController = reflector.get<boolean | undefined>(AUDIT_IGNORE_METADATA, controller as never) === true
  const ignore = ignoredByHandler || (ignoredByController && !onHandler)
  const answers = answersItself(handler, controller)
  const redirect = redirects(handler)
  if (!onController && !onHandler) return { ignore, overrides: undefined, force: false, answersItself: answers, redirects: redirect }
  const { force, ...overrides } = { ...onController, ...onHandler }
  return { ignore, overrides, force: force ? true : false, answersItself: answers, redirects: redirect }
}

/**
 * Applies the `@AuditIgnore()` and `@Audit()` of a handler (`handler`, the method) and its controller class
 * (controller's first, the handler's winning field by field). Answers whether the handler sends its own response, and
 * whether Nest redirects after it.
 */
export function applyAuditMetadata(
  reflector: Reflector,
  handler: object,
  controller: object,
  context: AuditRequestContext,
): { answersItself: boolean; redirects: boolean } {
  const audit = handlerAudit(reflector, handler, controller)
  if (audit.ignore) context.skip()
  // set() copies what it is given, so the cached overrides are never changed by a request.
  if (audit.overrides) context.set(audit.overrides)
  if (audit.force) context.force()
  return audit
}
