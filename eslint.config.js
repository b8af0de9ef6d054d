import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
    },
  },
  {
    // The browser SDK runs in browsers (and React Native): browser globals, guarded where used.
    files: ['client-sdk/src/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // The operator dashboard's page script: plain browser JavaScript, served as is.
    files: ['server/src/http/dashboard/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // k6 scripts run inside k6, not Node: k6's globals only (types come from @types/k6).
    files: ['loadtest/k6/**'],
    languageOptions: { globals: { __ENV: 'readonly', __VU: 'readonly', __ITER: 'readonly', open: 'readonly' } },
  },
  {
    files: ['loadtest/**', '**/test/**'],
    rules: { 'no-console': 'off' },
  },
);
