'use strict';

const js = require('@eslint/js');
const globals = require('globals');

module.exports = [
  { ignores: ['coverage/', 'node_modules/'] },
  js.configs.recommended,
  {
    files: ['**/*.js'],
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: 'commonjs',
      globals: globals.node,
    },
    rules: {
      // Express recognises error handlers by their four parameters, so an
      // unused `_next` must stay.
      'no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
      strict: ['error', 'global'],
    },
  },
  {
    files: ['test/**/*.js'],
    languageOptions: { globals: globals.jest },
  },
];
