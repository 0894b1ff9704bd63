// Validates an OpenAPI document against the official OpenAPI 3.1 JSON
// schema, and shows that a broken copy is refused (so the check can fail).
"use strict";
const fs = require("node:fs");

// The validator is an ES module: import() it (require() of an ES module
// needs Node 20.19 or later; Debian 12's own Node is 18).
let Validator;
async function check(text) {
  return new Validator().validate(text);
}

(async () => {
  ({ Validator } = await import("@seriousme/openapi-schema-validator"));
  const file = process.argv[2];
  const text = fs.readFileSync(file, "utf8");
  let n = 0;
  const ok = (pass, name) =>
    console.log(`${pass ? "ok" : "not ok"} ${++n} - ${name}`);
  const good = await check(text);
  ok(good.valid, "docs/openapi.yaml is a valid OpenAPI 3.1 document");
  if (!good.valid) console.log("# " + JSON.stringify(good.errors).slice(0, 2000));
  const broken = await check(text.replace("openapi: 3.1.0", "openapi: 3.1.0\npaths: 7"));
  ok(!broken.valid, "a broken copy is refused (the validator really validates)");
  const typo = await check(text.replace(/responses:\n/, "responzes:\n"));
  ok(!typo.valid, "an operation without responses is refused");
  console.log(`1..${n}`);
})();
