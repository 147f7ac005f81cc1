#!/usr/bin/env bash
# Validates the gateway's generated OpenAPI document with
# @apidevtools/swagger-parser (schema + $ref checks), installed into a local
# folder (never globally). Exits non-zero when the document is invalid.
#   tests/gateway/validate_openapi.sh [path/to/gateway_server | path/to/openapi.json]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# The project build (tools/build.sh) unless told otherwise; the gateway
# engineer's build-gateway/ as a fallback.
if [[ -z "${BUILD_DIR:-}" ]]; then
  BUILD_DIR=$ROOT/build
  [[ -x $BUILD_DIR/services/gateway/gateway_server || ! -d $ROOT/build-gateway ]] || BUILD_DIR=$ROOT/build-gateway
fi
TARGET=${1:-$BUILD_DIR/services/gateway/gateway_server}
TOOLS=${OPENAPI_TOOLS_DIR:-$BUILD_DIR/openapi-validator}
DOC=$(mktemp --suffix=.json)
trap 'rm -f "$DOC"' EXIT

if [[ "$TARGET" == *.json ]]; then
  cp "$TARGET" "$DOC"
else
  "$TARGET" --dump_openapi >"$DOC"
fi

mkdir -p "$TOOLS"
if [[ ! -d "$TOOLS/node_modules/@apidevtools/swagger-parser" ]]; then
  npm install --prefix "$TOOLS" --no-audit --no-fund --silent @apidevtools/swagger-parser@10 >/dev/null
fi

NODE_PATH="$TOOLS/node_modules" node - "$DOC" <<'JS'
const SwaggerParser = require("@apidevtools/swagger-parser");
const file = process.argv[2];
SwaggerParser.validate(file)
  .then((api) => {
    const ops = Object.values(api.paths).reduce((n, p) => n + Object.keys(p).length, 0);
    console.log(`valid OpenAPI ${api.openapi}: ${Object.keys(api.paths).length} paths, ${ops} operations, ` +
                `${Object.keys(api.components.schemas).length} schemas`);
  })
  .catch((err) => {
    console.error(`INVALID OpenAPI document: ${err.message}`);
    process.exit(1);
  });
JS
