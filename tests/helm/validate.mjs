// Validates Kubernetes and Istio objects against their schemas.
// Input (stdin): JSON [{"id": "...", "object": {...}}, ...]
// Output (stdout): JSON {"<id>": ["error", ...], ...} (empty list = valid).
// Two layers:
//  1. kubernetes-models / @kubernetes-models/istio / prometheus-operator:
//     the OpenAPI / CRD schemas compiled to validators (types, enums,
//     required fields, formats).
//  2. The TypeScript compiler over the same packages' type declarations:
//     object-literal excess-property checks reject unknown fields (a typo such
//     as `readinesProbe`), which the OpenAPI schemas allow.
// Packages are loaded from RENTMESH_NPM_DIR/node_modules (run.sh installs them).
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createRequire } from "node:module";

import { resolve } from "node:path";
const npmDir = process.env.NPM_DIR && resolve(process.env.NPM_DIR);
if (!npmDir) throw new Error("NPM_DIR not set");
const nm = join(npmDir, "node_modules");

// apiVersion -> [package folder, group/version folder]
function modelLocation(apiVersion) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "") return ["kubernetes-models", version];
  if (group.endsWith(".istio.io")) return ["@kubernetes-models/istio", `${group}/${version}`];
  if (group === "monitoring.coreos.com")
    return ["@kubernetes-models/prometheus-operator", `${group}/${version}`];
  return ["kubernetes-models", `${group}/${version}`];
}

const input = JSON.parse(readFileSync(0, "utf8"));
const results = {};
const tsLines = [];
const tsOwner = []; // line index -> id
let n = 0;

for (const { id, object } of input) {
  results[id] = [];
  if (!object || typeof object !== "object" || !object.apiVersion || !object.kind) {
    results[id].push("missing apiVersion/kind");
    continue;
  }
  const [pkg, gv] = modelLocation(object.apiVersion);
  const file = join(nm, pkg, gv, `${object.kind}.js`);
  let Model;
  try {
    Model = (await import(pathToFileURL(file).href))[object.kind];
  } catch (e) {
    results[id].push(`no schema for ${object.apiVersion} ${object.kind}`);
    continue;
  }
  try {
    new Model(object).validate();
  } catch (e) {
    results[id].push(`schema: ${e.message}`);
  }
  const text = JSON.stringify(object, null, 1).split("\n");
  tsLines.push(`import type { I${object.kind} as T${n} } from "${pkg}/${gv}/${object.kind}";`);
  tsOwner.push(id);
  tsLines.push(`export const o${n}: T${n} = ${text[0]}`);
  tsOwner.push(id);
  for (const line of text.slice(1)) {
    tsLines.push(line);
    tsOwner.push(id);
  }
  tsLines.push(";");
  tsOwner.push(id);
  n++;
}

if (n > 0) {
  const require = createRequire(join(npmDir, "package.json"));
  const ts = require("typescript");
  const dir = join(npmDir, "check");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "objects.ts");
  writeFileSync(file, tsLines.join("\n"));
  const program = ts.createProgram([file], {
    noEmit: true,
    strict: false,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    skipLibCheck: true,
    types: [],
  });
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const msg = ts.flattenDiagnosticMessageText(d.messageText, " ");
    if (!d.file || d.file.fileName !== file) {
      for (const id of Object.keys(results)) results[id].push(`typescript: ${msg}`);
      continue;
    }
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const id = tsOwner[line] ?? "?";
    (results[id] ??= []).push(`fields: line ${line + 1}: ${msg} near ${tsLines[line].trim()}`);
  }
}
process.stdout.write(JSON.stringify(results));
