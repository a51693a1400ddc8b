// Loads TypeScript straight from source with @swc/core (the transform the test suite uses: legacy
// decorators with metadata for type-graphql), for the tools that run without a build: the
// benchmarks (bench/register.js) and scripts/migration-diff.mjs.
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
