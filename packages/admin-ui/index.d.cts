/**
 * Absolute path of the built admin page (`dist/`, ending with a path separator): `index.html` plus hashed files
 * under `assets/`.
 *
 * For the admin handler: serve `index.html` at `{base}/` (redirect `{base}` to `{base}/` so that the page's
 * relative URLs resolve), and files under `{base}/assets/*` from here with their content type
 * (`.js` text/javascript, `.css` text/css, `.svg` image/svg+xml, `.woff2` font/woff2). Asset names are
 * content-hashed, so they may be cached as immutable; `index.html` should be `no-cache`. The page calls
 * `./api/...` relative to its own URL, uses no inline scripts or styles and loads nothing from other origins.
 */
export declare const assetsDir: string

/** The page's entry file inside `assetsDir`. */
export declare const indexHtmlPath: string
