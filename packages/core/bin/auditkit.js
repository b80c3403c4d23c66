#!/usr/bin/env node
// The installed `auditkit` command. A committed file (not dist/), so that installing the workspace links it before
// the first build without a warning; it runs the built CLI.
import '../dist/cli/auditkit.js'
