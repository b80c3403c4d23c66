import type { ResourceRef } from '../event/schema.js'
import { decodedSegment } from './request-facts.js'

/** What the route says about an operation, before any handler override. */
export interface DerivedOperation {
  action: string
  resource: ResourceRef
  /** Parent resources named earlier in the route, e.g. the project of `/projects/:id/members/:memberId`. */
  targets: ResourceRef[]
}

const VERB_FOR_METHOD: Record<string, string> = {
  POST: 'created', PUT: 'updated', PATCH: 'updated', DELETE: 'deleted', GET: 'viewed', HEAD: 'viewed', OPTIONS: 'viewed',
}
const IRREGULAR_PAST: Record<string, string> = {
  set: 'set', reset: 'reset', send: 'sent', resend: 'resent', run: 'run', rerun: 'rerun', stop: 'stopped',
  submit: 'submitted', cancel: 'canceled', ship: 'shipped', sign: 'signed', login: 'logged_in', logout: 'logged_out',
  upload: 'uploaded', split: 'split', put: 'put', undo: 'undone', redo: 'redone', begin: 'begun',
  override: 'overridden', write: 'written', rewrite: 'rewritten', hide: 'hidden', unhide: 'unhidden', choose: 'chosen',
  freeze: 'frozen', unfreeze: 'unfrozen', take: 'taken', give: 'given', forgive: 'forgiven', buy: 'bought', sell: 'sold',
  build: 'built', rebuild: 'rebuilt', pay: 'paid', withdraw: 'withdrawn', forget: 'forgotten', read: 'read', lead: 'led',
  do: 'done', go: 'gone', see: 'seen', win: 'won', hit: 'hit', cut: 'cut', shut: 'shut', quit: 'quit', bid: 'bid',
  spin: 'spun', bind: 'bound', unbind: 'unbound', rebind: 'rebound', find: 'found', hold: 'held', unhold: 'unheld',
  keep: 'kept', leave: 'left', make: 'made', remake: 'remade', show: 'shown', spend: 'spent', throw: 'thrown',
  overwrite: 'overwritten', draw: 'drawn', redraw: 'redrawn', forbid: 'forbidden', let: 'let', tell: 'told',
  sweep: 'swept', strike: 'struck', teach: 'taught', seek: 'sought', feed: 'fed', lose: 'lost', meet: 'met',
  broadcast: 'broadcast', forecast: 'forecast', cast: 'cast', recast: 'recast', input: 'input', output: 'output',
  spread: 'spread', wind: 'wound', unwind: 'unwound', rewind: 'rewound', stick: 'stuck', dig: 'dug', hang: 'hung',
  lend: 'lent', fly: 'flown', shrink: 'shrunk', uphold: 'upheld', withhold: 'withheld', undertake: 'undertaken',
}
/**
 * Verbs stressed on a last syllable that doubles (`commit` → `committed`), and the one-word phrasal verbs routes use
 * (`/jobs/:id/cleanup` → `cleaned_up`, not `cleanuped`).
 */
const MORE_PAST: Record<string, string> = {
  commit: 'committed', permit: 'permitted', admit: 'admitted', omit: 'omitted', transfer: 'transferred', refer: 'referred',
  prefer: 'preferred', defer: 'deferred', confer: 'conferred', occur: 'occurred', control: 'controlled', patrol: 'patrolled',
  expel: 'expelled', compel: 'compelled', unpin: 'unpinned', unplug: 'unplugged', unzip: 'unzipped', unwrap: 'unwrapped',
  unstar: 'unstarred', unban: 'unbanned', unflag: 'unflagged', untag: 'untagged', unmap: 'unmapped', unship: 'unshipped',
  retag: 'retagged', remap: 'remapped', replan: 'replanned', rescan: 'rescanned', reship: 'reshipped', resubmit: 'resubmitted',
  recommit: 'recommitted', unsubmit: 'unsubmitted',
  cleanup: 'cleaned_up', setup: 'set_up', signup: 'signed_up', signin: 'signed_in', signout: 'signed_out',
  checkin: 'checked_in', checkout: 'checked_out', rollback: 'rolled_back', rollout: 'rolled_out', backup: 'backed_up',
  shutdown: 'shut_down', lookup: 'looked_up', pickup: 'picked_up', startup: 'started_up', handoff: 'handed_off',
  optin: 'opted_in', optout: 'opted_out', logon: 'logged_on', logoff: 'logged_off',
}
/** One-syllable consonant-vowel-consonant verbs double the final consonant: `skip` → `skipped`. */
const DOUBLES_FINAL = /^[^aeiou]*[aeiou][bdgklmnprt]$/
const PREFIX_SEGMENT = /^(?:api|v\d+)$/i
const ID_LIKE = /^(?:\d+|[0-9a-f]{8}-[0-9a-f-]{27}|[0-9a-f]{24}|[A-Za-z0-9_-]{20,})$/

/** Plurals, by their last word, that the rules of `singularize` would cut wrong (`indices` is not `indicy`). */
const IRREGULAR_PLURALS: Record<string, string> = {
  people: 'person', children: 'child', caches: 'cache', niches: 'niche', quizzes: 'quiz', uses: 'use', menus: 'menu',
  // -ies of words ending in -ie, and words the same in both numbers.
  movies: 'movie', cookies: 'cookie', zombies: 'zombie', calories: 'calorie', selfies: 'selfie', ties: 'tie', pies: 'pie',
  lies: 'lie', species: 'species', series: 'series', news: 'news',
  // Latin and Greek plurals.
  indices: 'index', matrices: 'matrix', vertices: 'vertex', appendices: 'appendix', criteria: 'criterion',
  diagnoses: 'diagnosis', prognoses: 'prognosis', crises: 'crisis', theses: 'thesis', hypotheses: 'hypothesis',
  synopses: 'synopsis',
  // -oes of words ending in -o, -ves of words ending in -f(e), -ses of words ending in -s.
  heroes: 'hero', echoes: 'echo', vetoes: 'veto', potatoes: 'potato', tomatoes: 'tomato', torpedoes: 'torpedo',
  knives: 'knife', wives: 'wife', halves: 'half', shelves: 'shelf', wolves: 'wolf', thieves: 'thief', calves: 'calf',
  loaves: 'loaf', gases: 'gas', canvases: 'canvas', atlases: 'atlas', lenses: 'lens',
}

/** `api-keys` → `api_key`; `categories` → `category`; `statuses` → `status`; `warehouses` → `warehouse`. */
export function singularize(noun: string): string {
  const n = snake(noun)
  const last = n.slice(n.lastIndexOf('_') + 1)
  const irregular = IRREGULAR_PLURALS[last]
  if (irregular !== undefined) return `${n.slice(0, n.length - last.length)}${irregular}`
  if (/ies$/.test(n)) return `${n.slice(0, -3)}y`
  if (/yses$/.test(n)) return `${n.slice(0, -3)}sis` // analyses
  if (/(?:ss|us|is)$/.test(n)) return n
  // A vowel before `-uses`/`-zes` belongs to a word ending in e: houses, clauses, sizes, prizes (not statuses, buzzes).
  if (/[aeiou](?:us|z)es$/.test(n)) return n.slice(0, -1)
  if (/(?:sses|uses|xes|ches|shes|zes|iases)$/.test(n)) return n.slice(0, -2)
  if (n.endsWith('s')) return n.slice(0, -1)
  return n
}

/** `rotate` → `rotated`, `revoke` → `revoked`, `copy` → `copied`, `stop` → `stopped`. */
export function pastTense(verb: string): string {
  const v = snake(verb)
  const irregular = IRREGULAR_PAST[v] ?? MORE_PAST[v]
  if (irregular) return irregular
  if (/ed$/.test(v)) return v
  if (v.endsWith('e')) return `${v}d`
  if (/[^aeiou]y$/.test(v)) return `${v.slice(0, -1)}ied`
  if (DOUBLES_FINAL.test(v)) return `${v}${v.slice(-1)}ed`
  return `${v}ed`
}

function snake(segment: string): string {
  return segment
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase()
}

type Segment = { kind: 'static'; value: string } | { kind: 'param'; value: string | undefined }

function looksPlural(value: string): boolean {
  return /s$/.test(value) && !/(?:ss|us|is)$/.test(value)
}

/**
 * Whether the next path segment comes right after a collection (`/projects/p1`): there, a segment with a digit is an
 * id even when it is short (`p1`, `usr42`), where verbs and attributes (`rotate`, `role`) have none.
 */
function followsCollection(segments: readonly Segment[]): boolean {
  const previous = segments[segments.length - 1]
  return previous?.kind === 'static' && looksPlural(previous.value)
}

/**
 * Whether a segment right after a collection is followed by another collection (`/workspaces/acme/projects`): then it
 * names one item of the first (a slug such as `acme`), since a verb or an attribute ends the path.
 */
function betweenCollections(segment: string, next: string | undefined): boolean {
  return next !== undefined && !looksPlural(segment) && looksPlural(next)
}

function parse(route: string | undefined, path: string, params: Record<string, string | undefined>): Segment[] {
  const source = (route ?? path).split('?')[0] ?? ''
  const raw = source.split('/').filter((s) => s.length > 0)
  const out: Segment[] = []
  for (const [index, segment] of raw.entries()) {
    if (out.length === 0 && PREFIX_SEGMENT.test(segment)) continue
    if (route !== undefined && (segment.startsWith(':') || segment.startsWith('{'))) {
      const name = segment.replace(/^[:{]|[}?]$|\{.*$/g, '').replace(/\(.*$/, '')
      // Express and Fastify end a name at the first character a name cannot hold (`:invoiceId.pdf`, `:itemId-:variant`);
      // Hono names the parameter after the whole rest of the segment (`invoiceId.pdf`), so that name is tried first.
      out.push({ kind: 'param', value: Object.hasOwn(params, name) ? params[name] : params[name.replace(/[^\w$].*$/, '')] })
    } else if (route === undefined && (ID_LIKE.test(segment) || (followsCollection(out) && (/\d/.test(segment) || betweenCollections(segment, raw[index + 1]))))) {
      out.push({ kind: 'param', value: decodedSegment(segment) })
    } else if (segment.startsWith('*')) {
      // A wildcard, bare or named (Express 5's `*path`): the rest of a path, neither a resource nor a verb.
      continue
    } else {
      out.push({ kind: 'static', value: segment })
    }
  }
  return out
}

/**
 * Derives action and resource from method and route pattern (or, for unmatched routes, the path with id-like
 * segments treated as ids): `PATCH /projects/:projectId` → `project_updated` on `{ type: 'project', id }`.
 * A static segment after an id is a verb on POST (`/api-keys/:id/rotate` → `api_key_rotated`) and an
 * attribute otherwise (`PATCH /members/:id/role` → `member_role_updated`); a plural one is a sub-collection.
 */
export function deriveOperation(input: {
  method: string
  path: string
  route?: string | undefined
  params?: Record<string, string | undefined>
}): DerivedOperation {
  const method = input.method.toUpperCase()
  const segments = parse(input.route, input.path, input.params ?? {})
  const targets: ResourceRef[] = []
  let resource: ResourceRef | null = null
  let suffix: string | null = null
  // Any token is a method to Node's parser (`M-SEARCH`): snake_cased, so that the action stays valid and is recorded.
  let verb = VERB_FOR_METHOD[method] ?? `${snake(method)}_requested`
  let verbNamed = false

  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]
    const next = segments[i + 1]
    if (!segment || segment.kind !== 'static') continue
    const isLast = i === segments.length - 1
    const previousWasId = i > 0 && segments[i - 1]?.kind === 'param'
    const plural = looksPlural(segment.value)
    if (isLast && resource && (previousWasId || !plural) && !plural) {
      // Trailing singular segment after a resource: a verb on POST, an attribute otherwise.
      if (method === 'POST') {
        verb = pastTense(segment.value)
        verbNamed = true
      } else suffix = snake(segment.value)
      continue
    }
    if (resource) targets.push(resource)
    const type = singularize(segment.value) || 'resource'
    // An empty value (Hono's `:path{.*}` matching nothing) names no item, as a missing one does.
    const id = next?.kind === 'param' && next.value !== '' ? next.value : undefined
    resource = id === undefined ? { type } : { type, id }
    if (next?.kind === 'param') i++
  }
  resource ??= { type: 'resource' }
  // POST to an item (`POST /projects/:id`) changes it; a verb the route names (`/projects/:id/create`) stays.
  if (method === 'POST' && resource.id !== undefined && suffix === null && !verbNamed) verb = 'updated'
  const action = [resource.type, suffix, verb].filter((part): part is string => Boolean(part)).join('_')
  return { action, resource, targets }
}
