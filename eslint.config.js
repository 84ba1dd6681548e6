import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * DESIGN.md's dependency rules: `cli` composes everything; `proxy` uses `policy` and
 * `recorder`, never `store`; `recorder` and `policy` use `store`; `web` reads through
 * `store`/`recorder`; `store` imports none of them; no protocol folder imports another.
 * Type-only imports count too.
 */
const LAYERS = ['core', 'store', 'policy', 'recorder', 'proxy', 'admin', 'web', 'cli'];
const MAY_IMPORT = {
  core: [],
  store: ['core'],
  policy: ['core', 'store'],
  recorder: ['core', 'store', 'policy'],
  proxy: ['core', 'policy', 'recorder'],
  admin: ['core', 'store', 'policy', 'recorder'],
  web: ['core', 'store', 'policy', 'recorder'],
};
const PROTOCOLS = ['ssh', 'postgres', 'kubernetes'];

function forbidden(layer) {
  return LAYERS.filter((other) => other !== layer && !MAY_IMPORT[layer].includes(other)).map((other) => ({
    group: [`../${other}/*`, `../../${other}/*`, `../../../${other}/*`, `../${other}/**`, `../../${other}/**`, `../../../${other}/**`],
    message: `src/${layer} must not import src/${other} (DESIGN.md dependency rules)`,
  }));
}

const layerRules = Object.keys(MAY_IMPORT).flatMap((layer) => {
  const base = { files: [`src/${layer}/**/*.ts`], rules: { 'no-restricted-imports': ['error', { patterns: forbidden(layer) }] } };
  if (layer !== 'proxy') return [base];
  return [
    base,
    ...PROTOCOLS.map((protocol) => ({
      files: [`src/proxy/${protocol}/**/*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              ...forbidden('proxy'),
              ...PROTOCOLS.filter((other) => other !== protocol).map((other) => ({
                group: [`../${other}/*`, `../../${other}/*`, `../${other}/**`, `../../${other}/**`],
                message: `src/proxy/${protocol} must not import src/proxy/${other}: shared pieces live in src/proxy/ or src/core/`,
              })),
            ],
          },
        ],
      },
    })),
  ];
});

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
  ...layerRules,
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
