import { defineConfig } from 'vite'

// `pnpm dev` serves the page with hot reload; its `./api/...` calls go to a running admin API:
//   AUDITKIT_DEV_API=http://127.0.0.1:3000/admin/audit AUDITKIT_DEV_AUTH='Bearer demo-owner-token' pnpm dev
const devApi = process.env.AUDITKIT_DEV_API ?? 'http://127.0.0.1:3000/admin/audit'
const devAuth = process.env.AUDITKIT_DEV_AUTH

// Relative asset URLs (`base: './'`): the page is served under whatever path the host app mounts the admin at.
export default defineConfig({
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No inlined assets or preload polyfill: nothing inline, so a strict Content-Security-Policy (script-src 'self') works.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
  },
  server: {
    proxy: {
      '/api': {
        target: new URL(devApi).origin,
        changeOrigin: true,
        rewrite: (path) => `${new URL(devApi).pathname.replace(/\/$/, '')}${path}`,
        ...(devAuth ? { headers: { authorization: devAuth } } : {}),
      },
    },
  },
})
