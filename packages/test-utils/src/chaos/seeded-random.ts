/** A seeded PRNG (mulberry32) for chaos tests: the whole schedule of a run follows from its seed. */
export interface SeededRandom {
  /** A number in [0, 1). */
  next(): number
  /** An integer in [min, max]. */
  int(min: number, max: number): number
  chance(p: number): boolean
  pick<T>(items: readonly T[]): T
  /** An independent stream for one actor: its draws do not depend on how other actors' calls interleave. */
  fork(label: number): SeededRandom
}

export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => {
      const item = items[Math.floor(next() * items.length)]
      if (item === undefined) throw new Error('pick from an empty list')
      return item
    },
    fork: (label) => seededRandom(Math.imul(seed ^ 0x9e3779b9, 31) + Math.imul(label + 1, 0x85ebca6b)),
  }
}

const replayed = process.env.AUDITKIT_CHAOS_SEED
/** One random seed per test process, or the one `AUDITKIT_CHAOS_SEED` replays. */
const randomSeed = replayed !== undefined && replayed !== '' ? Number(replayed) >>> 0 : Math.floor(Math.random() * 2 ** 32) >>> 0
const replaying = replayed !== undefined && replayed !== ''

/**
 * The seeds a chaos suite runs: its fixed ones plus this run's random seed, or only the seed `AUDITKIT_CHAOS_SEED`
 * names (a replay). Label each test with `seedLabel`, so that a failure names the seed to replay.
 */
export function chaosSeeds(fixed: readonly number[]): number[] {
  return replaying ? [randomSeed] : [...fixed, randomSeed]
}

export function seedLabel(seed: number): string {
  return `seed ${seed}${seed === randomSeed && !replaying ? ' (random; replay with AUDITKIT_CHAOS_SEED)' : ''}`
}
