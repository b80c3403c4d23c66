import { Inject, type InjectionToken } from '@nestjs/common'

/**
 * Declares a class's constructor dependencies exactly as `@Inject(token)` on each parameter would, without parameter
 * decorators: this source is also compiled by tools that only know standard decorators (tsx or esbuild outside a
 * tsconfig with `experimentalDecorators`), where parameter decorators are a syntax error.
 */
export function injectDependencies(target: abstract new (...args: never[]) => unknown, tokens: readonly InjectionToken[]): void {
  tokens.forEach((token, index) => Inject(token)(target, undefined, index))
}
