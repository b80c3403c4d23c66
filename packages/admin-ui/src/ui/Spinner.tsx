export function Spinner({ label }: { label: string }) {
  return (
    <span class="spinner" role="status">
      <span class="spinner__dot" aria-hidden="true" />
      <span>{label}</span>
    </span>
  )
}
