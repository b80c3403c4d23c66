'use strict'
const path = require('node:path')

/** Absolute path of the built admin page (`dist/`); see index.d.ts. */
const assetsDir = path.join(__dirname, 'dist') + path.sep
/** The page's entry file inside `assetsDir`. */
const indexHtmlPath = path.join(__dirname, 'dist', 'index.html')

module.exports = { assetsDir, indexHtmlPath }
