import type { ComponentChildren } from 'preact'
import { useEffect, useId, useRef, useState } from 'preact/hooks'
import { fetchEvent } from '../api/client.js'
import type { AuditEvent } from '../api/types.js'
import { useI18n } from '../i18n/i18n.js'
import type { Messages } from '../i18n/messages.js'
import { Dialog } from '../ui/Dialog.js'
import { ErrorNotice } from '../ui/ErrorNotice.js'
import { Spinner } from '../ui/Spinner.js'
import { Untrusted } from '../ui/Untrusted.js'
import { ActorCell, OutcomeBadge, ResourceCell, TimeCell } from './columns.js'
import { type DiffKind, diffChanges, formatSides, formatValue } from './diff.js'

export interface EventDetailProps {
  id: string
  /** The row as listed, shown at once while the full event loads; null when opened from a link. */
  summary: AuditEvent | null
  onClose: () => void
  /** Where focus goes on close when the panel opened from a link rather than from a row. */
  returnFocus?: () => HTMLElement | null
}

/** The full event in a side panel: overview, field-level before/after diff, request, targets, metadata, integrity. */
export function EventDetail({ id, summary, onClose, returnFocus }: EventDetailProps) {
  const { t } = useI18n()
  const [event, setEvent] = useState<AuditEvent | null>(null)
  const [error, setError] = useState<unknown>(null)

  useEffect(() => {
    let live = true
    fetchEvent(id)
      .then((full) => live && setEvent(full))
      .catch((failure: unknown) => live && setError(failure))
    return () => {
      live = false
    }
  }, [id])

  const shown = event ?? summary
  if (shown === null) {
    return (
      <Dialog title={t.detailTitle} onClose={onClose} variant="panel" testId="event-detail" returnFocus={returnFocus}>
        {error === null ? <Spinner label={t.loading} /> : <ErrorNotice error={error} />}
      </Dialog>
    )
  }
  return (
    <Dialog title={t.detailTitle} onClose={onClose} variant="panel" testId="event-detail" returnFocus={returnFocus}>
      <div class="detail">
        <div class="detail__headline">
          <code class="action action--large">
            <Untrusted text={shown.action} />
          </code>
          <OutcomeBadge outcome={shown.outcome} t={t} />
          <span class="spacer" />
          <CopyButton text={() => window.location.href} label={t.copyLink} t={t} />
        </div>
        <dl class="props">
          <Prop label={t.fieldTime}>
            <TimeCell iso={shown.occurredAt} />
          </Prop>
          <Prop label={t.fieldActor}>
            <ActorCell actor={shown.actor} t={t} />
          </Prop>
          <Prop label={t.fieldResource}>
            <ResourceCell resource={shown.resource} />
          </Prop>
          <Prop label={t.fieldIp}>
            <Untrusted class="mono" text={shown.context?.ip ?? '—'} />
          </Prop>
        </dl>

        <section class="detail__section" aria-labelledby="detail-changes">
          <h3 id="detail-changes">{t.detailChanges}</h3>
          {event === null && error === null && <Spinner label={t.loading} />}
          {error !== null && <ErrorNotice error={error} />}
          {event !== null && <ChangesDiff event={event} t={t} />}
        </section>

        {event !== null && (
          <>
            {event.context !== undefined && (
              <section class="detail__section" aria-labelledby="detail-request">
                <h3 id="detail-request">{t.detailRequest}</h3>
                <dl class="props">
                  <Prop label={t.fieldMethod}>{untrusted(event.context.method)}</Prop>
                  <Prop label={t.fieldPath}>{untrusted(event.context.path)}</Prop>
                  <Prop label={t.fieldRoute}>{untrusted(event.context.route)}</Prop>
                  <Prop label={t.fieldStatus}>{event.context.status}</Prop>
                  <Prop label={t.fieldUserAgent}>{untrusted(event.context.userAgent)}</Prop>
                  <Prop label={t.fieldRequestId}>{untrusted(event.context.requestId)}</Prop>
                </dl>
              </section>
            )}
            {event.targets !== undefined && event.targets.length > 0 && (
              <section class="detail__section" aria-labelledby="detail-targets">
                <h3 id="detail-targets">{t.detailTargets}</h3>
                <ul class="plain-list">
                  {event.targets.map((target, index) => (
                    <li key={index}>
                      <ResourceCell resource={target} />
                    </li>
                  ))}
                </ul>
              </section>
            )}
            {event.metadata !== undefined && Object.keys(event.metadata).length > 0 && (
              <section class="detail__section" aria-labelledby="detail-metadata">
                <h3 id="detail-metadata">{t.detailMetadata}</h3>
                <dl class="props">
                  {Object.entries(event.metadata).map(([key, value]) => (
                    <Prop key={key} label={<Untrusted text={key} />}>
                      <Untrusted class="mono multiline" text={formatValue(value)} lineBreaks />
                    </Prop>
                  ))}
                </dl>
              </section>
            )}
            <section class="detail__section" aria-labelledby="detail-integrity">
              <h3 id="detail-integrity">{t.detailIntegrity}</h3>
              <dl class="props props--mono">
                <Prop label={t.fieldId}>{untrusted(event.id)}</Prop>
                <Prop label={t.fieldTenant}>{untrusted(event.tenantId)}</Prop>
                <Prop label={t.fieldChain}>{untrusted(event.chainId)}</Prop>
                <Prop label={t.fieldSeq}>{event.seq}</Prop>
                <Prop label={t.fieldHash}>{event.hash}</Prop>
                <Prop label={t.fieldPrevHash}>{event.prevHash}</Prop>
              </dl>
            </section>
            <details class="detail__raw">
              <summary>{t.detailRaw}</summary>
              <CopyButton text={JSON.stringify(event, null, 2)} label={t.copyJson} t={t} />
              {/* Copied as stored; drawn left to right with hidden characters marked (JSON escapes controls, not format characters). */}
              {/* Long lines scroll sideways: a tab stop lets keyboard users scroll it too. */}
              <pre class="code-block" tabIndex={0} role="region" aria-label={t.detailRaw}>
                <Untrusted text={JSON.stringify(event, null, 2)} lineBreaks dir="ltr" />
              </pre>
            </details>
          </>
        )}
      </div>
    </Dialog>
  )
}

/** An optional event value for a Prop: absent stays absent (the row is left out). */
function untrusted(value: string | undefined) {
  return value === undefined || value === '' ? undefined : <Untrusted text={value} />
}

function Prop({ label, children }: { label: ComponentChildren; children: ComponentChildren }) {
  if (children === undefined || children === null || children === '') return null
  return (
    <div class="props__row">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  )
}

/** Where a copy ended: on the clipboard, or shown selected in a field for the user to copy by hand. */
type CopyState = { kind: 'idle' } | { kind: 'copied' } | { kind: 'manual'; value: string }

/**
 * Copies `text` (read at click time: the link gains `?event=` only after the panel opened). Plain HTTP on a host
 * other than localhost (an intranet admin) has no Clipboard API, and a denied permission makes it reject: then the
 * older copy command, and if the browser refuses that too, the text selected in a read-only field. "Copied" only
 * when it was.
 */
function CopyButton({ text, label, t }: { text: string | (() => string); label: string; t: Messages }) {
  const [state, setState] = useState<CopyState>({ kind: 'idle' })
  const manualRef = useRef<HTMLDivElement>(null)
  const hintId = useId()

  useEffect(() => {
    if (state.kind !== 'manual') return
    const field = manualRef.current?.querySelector<HTMLInputElement | HTMLTextAreaElement>('.copy-manual__field')
    field?.focus()
    field?.select()
  }, [state])

  function copy(button: HTMLButtonElement) {
    const value = typeof text === 'function' ? text() : text
    setState({ kind: 'idle' })
    const done = (copied: boolean) => setState(copied ? { kind: 'copied' } : { kind: 'manual', value })
    // Typed as always present, but undefined outside secure contexts.
    const clipboard: Clipboard | undefined = navigator.clipboard
    if (typeof clipboard?.writeText !== 'function') {
      // Synchronously, inside the click: some browsers allow the copy command only there.
      done(copyThroughSelection(value, button))
      return
    }
    clipboard.writeText(value).then(
      () => done(true),
      () => done(copyThroughSelection(value, button)),
    )
  }

  const multiline = state.kind === 'manual' && state.value.includes('\n')
  return (
    <>
      <button type="button" class="button button--small" onClick={(event) => copy(event.currentTarget)}>
        {state.kind === 'copied' ? t.copied : label}
      </button>
      {state.kind === 'manual' && (
        <div class="copy-manual" ref={manualRef}>
          {multiline ? (
            <textarea class="copy-manual__field mono" readOnly rows={6} value={state.value} aria-label={t.copyManualLabel} aria-describedby={hintId} onFocus={(event) => event.currentTarget.select()} />
          ) : (
            <input type="text" class="copy-manual__field mono" readOnly value={state.value} aria-label={t.copyManualLabel} aria-describedby={hintId} onFocus={(event) => event.currentTarget.select()} />
          )}
          <p id={hintId} class="hint">
            {t.copyManualHint}
          </p>
        </div>
      )}
    </>
  )
}

/**
 * The copy command on a temporary selected field. It goes next to the button, inside the open modal dialog: the
 * rest of the page is inert then, and an inert field cannot be selected. Focus goes back to the button after.
 */
function copyThroughSelection(value: string, button: HTMLButtonElement): boolean {
  const field = document.createElement('textarea')
  field.value = value
  // Read-only: no on-screen keyboard flashes up on phones.
  field.readOnly = true
  field.className = 'copy-buffer'
  field.setAttribute('aria-hidden', 'true')
  field.tabIndex = -1
  button.after(field)
  let copied = false
  try {
    field.focus({ preventScroll: true })
    field.select()
    copied = document.execCommand('copy')
  } catch {
    copied = false
  } finally {
    field.remove()
    button.focus({ preventScroll: true })
  }
  return copied
}

function kindLabel(kind: DiffKind, t: Messages): string {
  return kind === 'added' ? t.diffAdded : kind === 'removed' ? t.diffRemoved : kind === 'changed' ? t.diffChanged : t.diffUnchanged
}

function ChangesDiff({ event, t }: { event: AuditEvent; t: Messages }) {
  const [showUnchanged, setShowUnchanged] = useState(false)
  const before = event.changes?.before
  const after = event.changes?.after
  if (before === undefined && after === undefined) return <p class="muted">{t.detailNoChanges}</p>
  const rows = diffChanges(before, after)
  const unchanged = rows.filter((row) => row.kind === 'unchanged').length
  const visible = showUnchanged ? rows : rows.filter((row) => row.kind !== 'unchanged')
  return (
    <div class="diff" data-testid="diff">
      <div class="diff__scroll">
        <table class="diff__table">
          <thead>
            <tr>
              <th scope="col">{t.detailField}</th>
              <th scope="col">{t.detailBefore}</th>
              <th scope="col">{t.detailAfter}</th>
            </tr>
          </thead>
          <tbody>
            {visible.map((row, index) => {
              const sides = formatSides(row)
              return (
              // A removed array item and the item now at its index share a path: the key needs the kind and position.
              <tr key={`${index}:${row.kind}:${row.path}`} class={`diff__row diff__row--${row.kind}`} data-kind={row.kind} data-path={row.path}>
                <th scope="row">
                  <Untrusted class="mono" text={row.path === '' ? '—' : row.path} dir="ltr" />
                  <span class={`diff__kind diff__kind--${row.kind}`}>{kindLabel(row.kind, t)}</span>
                </th>
                <td class="diff__before">{row.before !== undefined && <DiffSide text={sides.before} marked={row.kind !== 'unchanged'} tag="del" />}</td>
                <td class="diff__after">{row.after !== undefined && <DiffSide text={sides.after} marked={row.kind !== 'unchanged'} tag="ins" />}</td>
              </tr>
              )
            })}
          </tbody>
        </table>
      </div>
      {unchanged > 0 && (
        <button type="button" class="button button--small button--ghost" aria-expanded={showUnchanged} onClick={() => setShowUnchanged(!showUnchanged)}>
          {showUnchanged ? t.hideUnchanged : t.showUnchanged(unchanged)}
        </button>
      )}
    </div>
  )
}

/** One side of a diff row: a changed value is struck out (before) or underlined (after); text from the event is revealed. */
function DiffSide({ text, marked, tag }: { text: string; marked: boolean; tag: 'del' | 'ins' }) {
  const value = <Untrusted class="multiline" text={text} lineBreaks />
  if (!marked) return <span class="mono">{value}</span>
  return tag === 'del' ? <del class="mono">{value}</del> : <ins class="mono">{value}</ins>
}
