// Loads the TypeScript of src/ and bench/ straight from source with @swc/core (the same
// transform the test suite uses: legacy decorators with metadata for type-graphql), so every
// benchmark process — the bare Apollo baseline and the full gateway alike — runs code compiled
// the same way. Used as `node -r ./bench/register.js bench/run.ts`.
'use strict';
const Module = require('node:module');
const { readFileSync } = require('node:fs');
const { transformSync } = require('@swc/core');

const options = (filename) => ({
  filename,
  sourceMaps: 'inline',
  jsc: {
    target: 'es2022',
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    keepClassNames: true,
  },
  module: { type: 'commonjs', ignoreDynamic: true },
});

Module._extensions['.ts'] = function compileTypeScript(module, filename) {
  const { code } = transformSync(readFileSync(filename, 'utf8'), options(filename));
  module._compile(code, filename);
};
require('reflect-metadata');
