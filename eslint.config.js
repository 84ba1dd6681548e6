import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'custos-data/', 'drizzle/', 'web/dist/', 'test-artifacts/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // The viewer never parses strings as HTML: recorded content must stay inert.
    files: ['web/src/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { property: 'innerHTML', message: 'build DOM with dom.ts h(); text only' },
        { property: 'outerHTML', message: 'build DOM with dom.ts h(); text only' },
        { property: 'insertAdjacentHTML', message: 'build DOM with dom.ts h(); text only' },
        { object: 'document', property: 'write', message: 'build DOM with dom.ts h(); text only' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
