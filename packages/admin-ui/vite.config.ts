import { defineConfig } from 'vite'

// Relative asset URLs (`base: './'`): the page is served under whatever path the host app mounts the admin at.
export default defineConfig({
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // One small bundle; no inline scripts so a strict Content-Security-Policy (script-src 'self') works.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
  },
})
