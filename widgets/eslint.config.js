import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/**"] },
  js.configs.recommended,
  {
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.browser, ...globals.node } },
    rules: {
      // data reaches the DOM as text only
      "no-restricted-properties": [
        "error",
        { property: "innerHTML", message: "Set textContent: every value shown is untrusted." },
        { property: "outerHTML", message: "Set textContent: every value shown is untrusted." },
        { property: "insertAdjacentHTML", message: "Build nodes: every value shown is untrusted." },
      ],
      "no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
];
