import { defineConfig } from 'vitest/config'

// One run over every workspace package, so that the whole suite reports one total.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'test'],
  },
})
