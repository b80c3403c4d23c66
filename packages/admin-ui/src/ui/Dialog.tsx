import type { ComponentChildren } from 'preact'
import { useEffect, useId, useRef } from 'preact/hooks'
import { useI18n } from '../i18n/i18n.js'

const FOCUSABLE = 'a[href], summary, button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])'

/** Rendered and not inside a closed `<details>` (whose content keeps a layout box in Chromium). */
function isShown(element: HTMLElement): boolean {
  return typeof element.checkVisibility === 'function' ? element.checkVisibility() : element.offsetParent !== null
}

export interface DialogProps {
  title: string
  onClose: () => void
  children: ComponentChildren
  footer?: ComponentChildren
  /** `panel` slides in from the right (event details); `modal` is centred (forms). */
  variant?: 'modal' | 'panel'
  /** Extra class for sizing. */
  class?: string
  testId?: string
  /**
   * Where focus goes on close when nothing on the page opened the dialog (it opened from a link, `?event=`) or its
   * opener has gone: otherwise focus would fall to the page's start.
   */
  returnFocus?: () => HTMLElement | null
}

/**
 * A modal `<dialog>`: the rest of the page is inert while it is open, Esc closes it, Tab and Shift+Tab
 * cycle inside it, and focus returns to what opened it.
 */
export function Dialog({ title, onClose, children, footer, variant = 'modal', class: className, testId, returnFocus }: DialogProps) {
  const { t } = useI18n()
  const ref = useRef<HTMLDialogElement>(null)
  const titleId = useId()
  const onCloseRef = useRef(onClose)
  onCloseRef.current = onClose
  const returnFocusRef = useRef(returnFocus)
  returnFocusRef.current = returnFocus

  useEffect(() => {
    const dialog = ref.current
    if (dialog === null) return
    const active = document.activeElement
    const opener = active instanceof HTMLElement && active !== document.body ? active : null
    dialog.showModal()
    const first = dialog.querySelector<HTMLElement>('[data-autofocus]') ?? dialog.querySelector<HTMLElement>(FOCUSABLE)
    first?.focus()
    return () => {
      if (dialog.open) dialog.close()
      if (opener?.isConnected) opener.focus()
      else returnFocusRef.current?.()?.focus()
    }
  }, [])

  function onKeyDown(event: KeyboardEvent) {
    if (event.key !== 'Tab') return
    const dialog = ref.current
    if (dialog === null) return
    const focusable = [...dialog.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(isShown)
    if (focusable.length === 0) return
    const first = focusable[0] as HTMLElement
    const last = focusable[focusable.length - 1] as HTMLElement
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault()
      last.focus()
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault()
      first.focus()
    }
  }

  return (
    <dialog
      ref={ref}
      class={`dialog dialog--${variant}${className ? ` ${className}` : ''}`}
      aria-labelledby={titleId}
      data-testid={testId}
      onCancel={(event) => {
        // Esc: let the app unmount the dialog rather than the browser closing it behind its back.
        event.preventDefault()
        onCloseRef.current()
      }}
      onKeyDown={onKeyDown}
      onClick={(event) => {
        // A click on the backdrop (the dialog element itself, outside its content box) closes it.
        if (event.target === ref.current) onCloseRef.current()
      }}
    >
      <div class="dialog__frame">
        <header class="dialog__header">
          <h2 id={titleId} class="dialog__title">
            {title}
          </h2>
          <button type="button" class="icon-button" aria-label={t.close} title={t.close} onClick={() => onCloseRef.current()}>
            <svg viewBox="0 0 20 20" width="18" height="18" aria-hidden="true">
              <path d="M5 5l10 10M15 5L5 15" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" fill="none" />
            </svg>
          </button>
        </header>
        <div class="dialog__body">{children}</div>
        {footer !== undefined && <footer class="dialog__footer">{footer}</footer>}
      </div>
    </dialog>
  )
}
