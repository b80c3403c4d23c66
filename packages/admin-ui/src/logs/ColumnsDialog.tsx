import { useState } from 'preact/hooks'
import type { ColumnDef } from '../api/types.js'
import { useI18n } from '../i18n/i18n.js'
import { Dialog } from '../ui/Dialog.js'
import { tableLabel } from './columns.js'

export interface ColumnsDialogProps {
  columns: ColumnDef[]
  visible: string[]
  onApply: (keys: string[]) => void
  onReset: () => void
  onClose: () => void
}

/** 表示項目の編集: the columns of the table, kept in this browser. */
export function ColumnsDialog({ columns, visible, onApply, onReset, onClose }: ColumnsDialogProps) {
  const { t, locale } = useI18n()
  const [chosen, setChosen] = useState(() => new Set(visible))
  const none = chosen.size === 0

  function toggle(key: string, on: boolean) {
    setChosen((previous) => {
      const next = new Set(previous)
      if (on) next.add(key)
      else next.delete(key)
      return next
    })
  }

  return (
    <Dialog
      title={t.columnsTitle}
      onClose={onClose}
      testId="columns-dialog"
      class="dialog--columns"
      footer={
        <>
          <button type="button" class="button button--ghost" onClick={onReset}>
            {t.columnsReset}
          </button>
          <span class="spacer" />
          <button type="button" class="button" onClick={onClose}>
            {t.cancel}
          </button>
          <button
            type="button"
            class="button button--primary"
            disabled={none}
            onClick={() => onApply(columns.filter((column) => chosen.has(column.key)).map((column) => column.key))}
          >
            {t.done}
          </button>
        </>
      }
    >
      <p class="muted">{t.columnsHelp}</p>
      <fieldset class="checklist">
        <legend class="visually-hidden">{t.columnsTitle}</legend>
        {columns.map((column) => (
          <label key={column.key} class="check">
            <input type="checkbox" name="column" value={column.key} checked={chosen.has(column.key)} onChange={(event) => toggle(column.key, event.currentTarget.checked)} />
            <span>{tableLabel(column, locale)}</span>
          </label>
        ))}
      </fieldset>
      <div class="row">
        <button type="button" class="button button--small button--ghost" onClick={() => setChosen(new Set(columns.map((column) => column.key)))}>
          {t.columnsSelectAll}
        </button>
        {none && (
          <p class="field-error" role="alert">
            {t.columnsAtLeastOne}
          </p>
        )}
      </div>
    </Dialog>
  )
}
