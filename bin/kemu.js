#!/usr/bin/env node
// The CLI is bundled into one file (npm run build): loading hundreds of modules one by one costs
// about 0.3 s per command.
import '../dist/kemu.js';
