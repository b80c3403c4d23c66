import { ApiError, UNEXPECTED_RESPONSE } from '../api/client.js'
import type { FieldProblem } from '../api/types.js'
import { useI18n } from '../i18n/i18n.js'
import { API_ERROR_MESSAGES_JA } from '../i18n/messages.js'

/** An API failure in words: what happened, what to do, and the stable code for support. */
export function ErrorNotice({ error, title, onRetry }: { error: unknown; title?: string; onRetry?: () => void }) {
  const { t, locale } = useI18n()
  let message = error instanceof Error ? error.message : String(error)
  let code: string | null = null
  // The API words its errors in English: the Japanese page says what happened in Japanese and shows the API's
  // sentence under it, marked as English.
  let serverDetail: string | null = null
  if (error instanceof ApiError) {
    code = error.code
    if (error.status === 401) message = t.errorUnauthorized
    else if (error.status === 403) message = t.errorForbidden
    else if (error.status === 0) message = t.errorNetwork
    else if (error.code === UNEXPECTED_RESPONSE) message = t.errorUnexpected
    else if (locale === 'ja') {
      serverDetail = message
      message = API_ERROR_MESSAGES_JA[error.code] ?? t.errorServer(error.status)
    }
  }
  return (
    <div class="notice notice--error" role="alert">
      {title !== undefined && <p class="notice__title">{title}</p>}
      <p>{message}</p>
      {serverDetail !== null && serverDetail !== '' && (
        <p>
          {t.errorServerDetail}: <span lang="en">{serverDetail}</span>
        </p>
      )}
      {error instanceof ApiError && <ProblemList problems={error.details} lang={locale === 'en' ? undefined : 'en'} />}
      {code !== null && <p class="notice__code">{t.errorCode(code)}</p>}
      {onRetry !== undefined && (
        <button type="button" class="button button--small" onClick={onRetry}>
          {t.retry}
        </button>
      )}
    </div>
  )
}

/** Field problems the API listed (`details`): the field's path and what to fix. */
export function ProblemList({ problems, lang }: { problems: readonly FieldProblem[]; lang?: string }) {
  if (problems.length === 0) return null
  return (
    <ul class="problems" lang={lang}>
      {problems.map((problem) => (
        <li key={`${problem.path}:${problem.reason}`}>
          {problem.path !== '' && <code>{problem.path}</code>} {problem.message}
        </li>
      ))}
    </ul>
  )
}
