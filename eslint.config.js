// Typed lint over the whole workspace; CI runs it with --max-warnings 0.
import { readFileSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Package boundaries. Each workspace package may import only the packages listed here, by
// name (never back up the chain: launcher -> trainer -> worker | cuda -> common; the launcher
// also asks cuda directly, for `ner-launch env`), and never another package's files by
// relative path or through `@ner-launch/<name>/src/...`: only what its package.json `exports`
// declares. Benches, tools and root tests follow the same
// rule; package tests may use the shared helpers in test/support.
const MAY_IMPORT = {
  common: [],
  cuda: ['common'],
  worker: ['common'],
  trainer: ['common', 'worker', 'cuda'],
  launcher: ['common', 'worker', 'trainer', 'cuda'],
};
const PACKAGES = Object.keys(MAY_IMPORT);
for (const name of PACKAGES) {
  // A dependency declared against the direction fails the config, not just one import.
  const manifest = JSON.parse(
    readFileSync(new URL(`packages/${name}/package.json`, import.meta.url), 'utf8'),
  );
  const declared = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })
    .filter((dep) => dep.startsWith('@ner-launch/'))
    .map((dep) => dep.slice('@ner-launch/'.length));
  const wrong = declared.filter((dep) => !MAY_IMPORT[name].includes(dep));
  if (wrong.length > 0)
    throw new Error(
      `packages/${name}/package.json depends on ${wrong.join(', ')}, against MAY_IMPORT`,
    );
}
const DEEP_IMPORT = {
  regex: '^@ner-launch/[^/]+/src(/|$)',
  message: "Import the package's name or a subpath its package.json exports, not its src/",
};
const NAMED_EXPORTS = { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' };
function boundaries(patterns) {
  const all = [DEEP_IMPORT, ...patterns];
  // no-restricted-imports skips `import()`: the same patterns as selectors (esquery regexes
  // cannot hold a slash, hence \x2F).
  const dynamic = all.map(({ regex, message }) => ({
    selector: `ImportExpression[source.value=/${regex.replaceAll('/', '\\x2F')}/]`,
    message,
  }));
  return {
    'no-restricted-imports': ['error', { patterns: all }],
    'no-restricted-syntax': ['error', NAMED_EXPORTS, ...dynamic],
  };
}
// Folder layers inside a package's src/: a folder may not import the siblings listed (they
// import it), so no two folders import each other (e.g. training uses the memory planner, never
// the reverse).
const FOLDER_MAY_NOT_IMPORT = {
  'trainer/src/memory': ['train', 'engine'],
  'trainer/src/engine': ['train'],
  'trainer/src/backends': ['memory'],
  'trainer/src/model': ['memory', 'train', 'engine'],
  'trainer/src/tokenizer': ['model', 'memory', 'train', 'engine'],
};
const packageBoundaries = PACKAGES.flatMap((name) => {
  const others = PACKAGES.filter((other) => other !== name);
  const forbidden = others.filter((other) => !MAY_IMPORT[name].includes(other));
  const own = [
    {
      regex: `^(\\.\\./)+(${others.join('|')})/`,
      message: 'Import another package by its name, not by relative path',
    },
    ...(forbidden.length > 0
      ? [
          {
            regex: `^@ner-launch/(${forbidden.join('|')})(/|$)`,
            message: `Against the package direction: @ner-launch/${name} may import ${MAY_IMPORT[name].map((p) => `@ner-launch/${p}`).join(', ') || 'no other ner-launch package'} (MAY_IMPORT in eslint.config.js)`,
          },
        ]
      : []),
  ];
  const sources = [
    ...own,
    {
      regex: '^(\\.\\./)+(test|tools|bench)/',
      message: "Package sources do not import the repository's tests, tools or benches",
    },
  ];
  const layers = Object.entries(FOLDER_MAY_NOT_IMPORT)
    .filter(([folder]) => folder.startsWith(`${name}/`))
    .map(([folder, siblings]) => ({
      files: [`packages/${folder}/**/*.ts`],
      rules: boundaries([
        ...sources,
        {
          regex: `^(\\.\\./)+(${siblings.join('|')})/`,
          message: `Against the folder layers: ${folder}/ may not import ${siblings.join('/, ')}/ (FOLDER_MAY_NOT_IMPORT in eslint.config.js)`,
        },
      ]),
    }));
  return [
    { files: [`packages/${name}/**/*.ts`], rules: boundaries(own) },
    { files: [`packages/${name}/src/**/*.ts`], rules: boundaries(sources) },
    ...layers,
  ];
});

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/generated/**',
      'dist/**',
      '.venv/**',
      'bench/results/**',
      '**/*.mjs',
      '**/*.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': ['error', NAMED_EXPORTS],
    },
  },
  {
    files: ['bench/**/*.ts', 'tools/**/*.ts', 'test/**/*.ts'],
    rules: boundaries([
      {
        regex: '(^|/)packages/',
        message: 'Import a package by its name (and the subpaths its package.json exports).',
      },
    ]),
  },
  ...packageBoundaries,
);
