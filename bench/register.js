// Loads the TypeScript of src/ and bench/ straight from source (scripts/typescript-hook.cjs), so
// every benchmark process — the bare Apollo baseline and the full gateway alike — runs code
// compiled the same way. Used as `node -r ./bench/register.js bench/run.ts`.
'use strict';
require('../scripts/typescript-hook.cjs');
require('reflect-metadata');
