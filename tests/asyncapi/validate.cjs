// Validate AsyncAPI documents with the official parser (@asyncapi/parser).
// Usage: node validate.cjs NODE_MODULES_DIR FILE...
// Prints one JSON line per file: {"file", "errors": [...], "warnings": [...]}; exits 1
// if any document has an error-level diagnostic, 2 if the parser cannot be loaded.
"use strict";
const fs = require("fs");
const path = require("path");

const [modules, ...files] = process.argv.slice(2);
let Parser;
try {
  ({ Parser } = require(path.join(path.resolve(modules), "@asyncapi", "parser")));
} catch (error) {
  console.error(`cannot load @asyncapi/parser from ${modules}: ${error.message}`);
  process.exit(2);
}

function describe(diagnostic) {
  return `${diagnostic.code}: ${diagnostic.message} at /${diagnostic.path.join("/")}`;
}

async function main() {
  const parser = new Parser();
  let failed = false;
  for (const file of files) {
    const { document, diagnostics } = await parser.parse(fs.readFileSync(file, "utf8"));
    // DiagnosticSeverity: 0 error, 1 warning, 2 information, 3 hint.
    const errors = diagnostics.filter((d) => d.severity === 0).map(describe);
    const warnings = diagnostics.filter((d) => d.severity === 1).map(describe);
    if (document === undefined && errors.length === 0) {
      errors.push("the parser returned no document");
    }
    failed = failed || errors.length > 0;
    console.log(JSON.stringify({ file, errors, warnings }));
  }
  process.exit(failed ? 1 : 0);
}

main().catch((error) => {
  console.error(error.stack || String(error));
  process.exit(3);
});
