// Validates OpenAPI documents with @apidevtools/swagger-parser: the
// document against the OpenAPI 3.0 JSON schema, then every $ref resolved.
//
//   node validate.cjs MODULES_DIR FILE...
//
// MODULES_DIR holds the node_modules that `npm ci` installed from this
// directory's package-lock.json (in the build directory, never committed).
// Prints one JSON line per file: {"file", "valid", "error"}; exits 1 when
// any file is invalid, 2 when the validator cannot be loaded.
'use strict';

const [modulesDir, ...files] = process.argv.slice(2);
let SwaggerParser;
try {
  SwaggerParser = require(require.resolve('@apidevtools/swagger-parser', { paths: [modulesDir] }));
} catch (e) {
  console.error('cannot load @apidevtools/swagger-parser from ' + modulesDir + ': ' + e.message);
  process.exit(2);
}

async function main() {
  let invalid = 0;
  for (const file of files) {
    try {
      // validate() dereferences its argument in place: give it a fresh parse.
      await SwaggerParser.validate(file);
      console.log(JSON.stringify({ file, valid: true }));
    } catch (e) {
      invalid++;
      console.log(JSON.stringify({ file, valid: false, error: String(e.message).slice(0, 500) }));
    }
  }
  process.exit(invalid ? 1 : 0);
}

main();
