#!/usr/bin/env node
// The installed command. `npm ci` builds dist/ (the prepare script).
import '../dist/main.js';
