// A small, strict rule set on top of `tsc --noEmit` (which already rejects unused locals and
// parameters): promises that are never awaited, unused code tsc lets through, type-only imports
// written as such, and no `any`. Typed rules read the project's tsconfig.json. `npx eslint --fix .`
// repairs the import style by itself.
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
  { ignores: ["node_modules/", "out/", "dist/", ".demo/", ".pulumi/"] },
  {
    files: ["**/*.ts", "**/*.mts"],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "@typescript-eslint": tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // A promise nobody awaits loses its rejection and its ordering; `void` marks the few that
      // are meant to run on their own, with a comment saying why.
      "@typescript-eslint/no-floating-promises": "error",
      // An async function where a callback's return is ignored (an event handler, a forEach) drops its errors.
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { args: "after-used", caughtErrors: "all", ignoreRestSiblings: true }],
      "@typescript-eslint/no-unused-expressions": "error",
      // `typeof import("...")` stays allowed: it names a lazily loaded module's type without loading it.
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports", disallowTypeAnnotations: false }],
      "@typescript-eslint/no-explicit-any": "error",
    },
  },
);
