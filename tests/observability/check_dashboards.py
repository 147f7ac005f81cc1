#!/usr/bin/env python3
"""Checks every query of the shipped Grafana dashboards against a real Prometheus.

Used by tests/observability/prometheus_test.sh, which starts the services, a
Prometheus scraping them and some load; this script then, for each dashboard
JSON (helm/rentmesh/dashboards/*.json, the files the chart ships as
grafana_dashboard ConfigMaps):

  1. resolves every templating variable the way Grafana does
     (label_values(<selector>, <label>) -> GET /api/v1/label/<label>/values?match[]=...)
     and requires it to offer at least one value;
  2. runs every panel target's expr through GET /api/v1/query, with the
     variables substituted (see SUBSTITUTION below), and requires
       - status "success" (the expression parses and evaluates),
       - a non-empty result, unless the query is in EXPECTED_EMPTY (with the reason),
       - every metric name it reads to be exposed by at least one scraped target,
       - every label it groups by (`by (...)`, except `le`) and every
         {{label}} of its legendFormat to be present on every result series
         (otherwise the panel draws one unnamed line);
  3. for every variable, requires the values a panel shows for that label to be
     values the variable offers (otherwise choosing values in the drop-down
     hides series the panel has);
  4. runs a negative self-test first: deliberately wrong queries go through the
     same check and must be reported as failures (a broken expression as a
     parse failure, an unknown metric as no data / not exposed, a missing
     legend label), so this checker is known to be able to fail.

SUBSTITUTION (what Grafana sends when every variable is at its default, "All"):
  $var / ${var} / [[var]] of a query variable -> its allValue (".*" in our
      dashboards; with no allValue, the regex alternation of all its values)
  $__rate_interval -> 1m, $__interval -> 15s, $__range -> 1h,
  $__interval_ms -> 15000, $__range_s -> 3600, $__range_ms -> 3600000
  ${datasource} only appears in datasource fields, never in an expr.

Known defects of the services' metrics are listed in KNOWN_ISSUES and printed
as KNOWN (STRICT=1: as FAIL); they count neither as passed nor as failed.
Prints one line per check (PASS / FAIL / EMPTY-OK / KNOWN), then
"N passed, M failed", and exits 1 on any failure.
"""
import argparse
import glob
import io
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

# Queries that are legitimately empty under the test's load: they must still
# parse (status success) and read metrics that a target exposes.
# Key: (dashboard uid, panel title, refId) -> reason.
EXPECTED_EMPTY = {
    ("rentmesh-events", "Redeliveries", "A"):
        "no delivery is retried under a healthy load: every handler acks on the first "
        "delivery, so rentmesh_events_redelivered_total has no series yet",
    ("rentmesh-events", "Dead-lettered (last hour)", "A"):
        "nothing reaches the redelivery bound under a healthy load, so "
        "rentmesh_events_dead_lettered_total has no series yet",
}

# Known defects (in the services' metrics, not in the queries), reported as
# KNOWN instead of FAIL so the suite stays green while they are open; STRICT=1
# in the environment turns them into failures. Each entry must still fail the
# way it says (its text must appear in the problems found): once fixed, the
# check reports FAIL ("passes now: remove the entry"), so the list stays true.
# Key: (dashboard uid, panel title, refId) -> (expected problem text, issue).
KNOWN_ISSUES: dict = {}

SUBST_BUILTINS = {
    "__rate_interval": "1m",
    "__interval_ms": "15000",
    "__interval": "15s",
    "__range_ms": "3600000",
    "__range_s": "3600",
    "__range": "1h",
}

STRICT = os.environ.get("STRICT", "0") == "1"

BROKEN_EXPR = 'sum by (service (rate(rentmesh_grpc_server_handled_total{service=~".*"}[5m])'


class Prom:
    def __init__(self, url, timeout=10):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def get(self, path, params):
        q = urllib.parse.urlencode(params, doseq=True)
        req = urllib.request.Request(f"{self.url}{path}?{q}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:  # 400/422 carry a JSON error body
            try:
                return json.load(e)
            except ValueError:
                return {"status": "error", "errorType": f"http {e.code}", "error": str(e)}

    def query(self, expr):
        return self.get("/api/v1/query", {"query": expr})

    def label_values(self, label, match=None):
        params = {"match[]": [match]} if match else {}
        return self.get(f"/api/v1/label/{urllib.parse.quote(label)}/values", params)

    def metric_families(self):
        """Names of the metric families some target exposes (from scrape metadata)."""
        r = self.get("/api/v1/targets/metadata", {"limit": "100000"})
        names = set()
        for m in r.get("data", []) or []:
            names.add(m.get("metric", ""))
        return names


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.known = 0

    def line(self, verdict, what, detail=""):
        print(f"{verdict:8} {what}" + (f"\n         {detail}" if detail else ""), flush=True)

    def ok(self, what, detail=""):
        self.passed += 1
        self.line("PASS", what, detail)

    def fail(self, what, detail):
        self.failed += 1
        self.line("FAIL", what, detail)


def substitute(expr, values):
    """Replaces Grafana variables: ${name}, [[name]], $name (longest names first)."""
    def repl_braced(m):
        name = m.group(1).split(":")[0]
        return values.get(name, m.group(0))
    expr = re.sub(r"\$\{([A-Za-z0-9_:]+)\}", repl_braced, expr)
    expr = re.sub(r"\[\[([A-Za-z0-9_]+)\]\]", repl_braced, expr)
    for name in sorted(values, key=len, reverse=True):
        expr = re.sub(r"\$" + re.escape(name) + r"(?![A-Za-z0-9_])", lambda _m, v=values[name]: v, expr)
    return expr


def unresolved(expr):
    return re.findall(r"\$\{?[A-Za-z_][A-Za-z0-9_]*", expr)


LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(.*),\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$", re.S)


def metric_names(expr):
    """Metric names an expression reads (identifiers followed by a selector or range)."""
    names = set()
    for m in re.finditer(r"(?<![A-Za-z0-9_:.\"])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{|\[)", expr):
        names.add(m.group(1))
    for m in re.finditer(r"(?<![A-Za-z0-9_:.\"$])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\)", expr):
        if "_" in m.group(1):
            names.add(m.group(1))
    return {n for n in names if n not in ("by", "without", "on", "ignoring")}


def family_of(name, families):
    if name in families:
        return name
    for suffix in ("_bucket", "_sum", "_count", "_total", "_created"):
        if name.endswith(suffix) and name[: -len(suffix)] in families:
            return name[: -len(suffix)]
    return None


def grouping_labels(expr):
    labels = set()
    for m in re.finditer(r"\bby\s*\(([^)]*)\)", expr):
        labels |= {l.strip() for l in m.group(1).split(",") if l.strip()}
    labels.discard("le")
    return labels


def legend_labels(fmt):
    return set(re.findall(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", fmt or ""))


def selector_filters(expr):
    """(label, variable name) for every `label=~"$var"` in an expression."""
    return set(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)\s*=~\s*"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?"', expr))


def resolve_variables(prom, dash, report):
    """Returns ({name: value substituted for "All"}, {name: [offered values]})."""
    uid = dash.get("uid", "?")
    subst = dict(SUBST_BUILTINS)
    offered = {}
    for var in dash.get("templating", {}).get("list", []):
        name = var.get("name")
        if var.get("type") != "query":
            continue
        query = var.get("query")
        if isinstance(query, dict):
            query = query.get("query", "")
        what = f"[{uid}] variable ${name}: {query}"
        m = LABEL_VALUES.match(query or "")
        if not m:
            report.fail(what, "not a label_values(...) query; this checker cannot resolve it")
            continue
        selector, label = m.group(1), m.group(2)
        match = substitute(selector, subst) if selector else None
        r = prom.label_values(label, match)
        values = r.get("data") or []
        offered[name] = values
        if r.get("status") != "success":
            report.fail(what, f"{r.get('errorType')}: {r.get('error')}")
        elif not values:
            report.fail(what, "offers no value (the drop-down would be empty)")
        else:
            report.ok(what, f"values: {', '.join(values)}")
        all_value = var.get("allValue")
        if all_value is None:
            all_value = "(" + "|".join(re.escape(v) for v in values) + ")" if values else ".*"
        subst[name] = all_value
    return subst, offered


def check_target(prom, families, dash, panel, target, subst, offered, report):
    uid = dash.get("uid", "?")
    title = panel.get("title", "?")
    ref = target.get("refId", "?")
    raw = target.get("expr", "")
    expr = substitute(raw, subst)
    what = f"[{uid}] {title} ({ref}): {expr}"
    key = (uid, title, ref)
    problems = []

    left = unresolved(expr)
    if left:
        report.fail(what, f"unresolved variables {left}")
        return

    r = prom.query(expr)
    if r.get("status") != "success":
        report.fail(what, f"does not parse/evaluate: {r.get('errorType')}: {r.get('error')}")
        return

    for name in sorted(metric_names(expr)):
        if family_of(name, families) is None:
            problems.append(f"metric {name} is not exposed by any scraped target")

    result = r.get("data", {}).get("result", [])
    if not result:
        if key in EXPECTED_EMPTY and not problems:
            report.passed += 1
            report.line("EMPTY-OK", what, f"parses; empty as expected: {EXPECTED_EMPTY[key]}")
            return
        problems.append("returned no data")
    else:
        if key in EXPECTED_EMPTY:
            print(f"NOTE     {what}\n         is in EXPECTED_EMPTY but returned data", flush=True)
        need = grouping_labels(expr) | legend_labels(target.get("legendFormat"))
        for series in result:
            labels = series.get("metric", {})
            missing = sorted(l for l in need if not labels.get(l))
            if missing:
                problems.append(f"series {labels} lacks label(s) {missing} "
                                f"(grouped by / used in legend '{target.get('legendFormat')}')")
                break
        # Every value of a filtered label the panel shows must be selectable.
        for label, var in sorted(selector_filters(raw)):
            if var not in offered:
                continue
            shown = {s.get("metric", {}).get(label) for s in result} - {None, ""}
            missing = sorted(shown - set(offered[var]))
            if missing:
                problems.append(f"shows {label}={missing} that the ${var} drop-down does not offer "
                                f"({offered[var]}): selecting values hides them")
    if problems:
        expected, known = KNOWN_ISSUES.get(key, (None, None))
        if known and not STRICT and all(expected in p for p in problems):
            report.known += 1
            report.line("KNOWN", what, "; ".join(problems) + f"\n         known issue: {known}")
        else:
            report.fail(what, "; ".join(problems))
    else:
        if key in KNOWN_ISSUES:
            report.fail(what, f"listed in KNOWN_ISSUES but passes now: remove the entry "
                              f"({KNOWN_ISSUES[key][1]})")
        else:
            n = len(result)
            report.ok(what, f"{n} series" + (f", e.g. {result[0].get('metric')}" if n else ""))


def self_test(prom, families, report):
    """The checker must be able to fail: run broken queries through check_target."""
    def run(expr):
        scratch = Report()
        dash = {"uid": "self-test"}
        panel = {"title": "broken on purpose"}
        target = {"refId": "A", "expr": expr, "legendFormat": "{{service}}"}
        saved = sys.stdout
        sys.stdout = io.StringIO()
        try:
            check_target(prom, families, dash, panel, target, {}, {}, scratch)
            out = sys.stdout.getvalue()
        finally:
            sys.stdout = saved
        return scratch, out

    cases = [  # (expr, text the failure must carry)
        (BROKEN_EXPR, "does not parse"),
        ('sum by (service) (rate(rentmesh_no_such_metric_total[5m]))', "returned no data"),
        ('sum by (service) (rate(rentmesh_no_such_metric_total[5m]))', "not exposed by any scraped target"),
        ('sum(rentmesh_pending_work)', "lacks label(s) ['service']"),
    ]
    for expr, expected in cases:
        scratch, out = run(expr)
        what = f"[self-test] must fail with \"{expected}\": {expr}"
        if scratch.failed == 1 and scratch.passed == 0 and expected in out:
            report.ok(what)
        else:
            report.fail(what, f"the checker did not fail it that way (passed={scratch.passed}, "
                              f"failed={scratch.failed}): {out.strip()[:300]}")
    r = prom.query(BROKEN_EXPR)
    what = "[self-test] Prometheus answers the broken expression with bad_data"
    if r.get("status") == "error" and r.get("errorType") == "bad_data":
        report.ok(what, f"{r.get('error')}")
    else:
        report.fail(what, json.dumps(r)[:300])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prometheus", required=True, help="base URL, e.g. http://127.0.0.1:9090")
    ap.add_argument("dashboards", nargs="+", help="dashboard JSON files or folders")
    args = ap.parse_args()

    files = []
    for p in args.dashboards:
        files += sorted(glob.glob(os.path.join(p, "*.json"))) if os.path.isdir(p) else [p]
    prom = Prom(args.prometheus)
    report = Report()
    if not files:
        report.fail("dashboards", f"no dashboard JSON in {args.dashboards}")

    families = prom.metric_families()
    if not families:
        report.fail("metadata", "Prometheus knows no metric family: is anything scraped?")
    self_test(prom, families, report)
    n_queries = 0
    for path in files:
        with open(path) as f:
            dash = json.load(f)
        print(f"--- {os.path.relpath(path)} ({dash.get('uid')}: {dash.get('title')})", flush=True)
        subst, offered = resolve_variables(prom, dash, report)
        panels = list(dash.get("panels", []))
        while panels:  # rows may nest panels
            panel = panels.pop(0)
            panels[0:0] = panel.get("panels", [])
            for target in panel.get("targets", []) or []:
                if target.get("expr"):
                    n_queries += 1
                    check_target(prom, families, dash, panel, target, subst, offered, report)
    if files and n_queries == 0:
        report.fail("dashboards", "no panel query found")

    print(f"{n_queries} dashboard queries in {len(files)} dashboards checked"
          + (f"; {report.known} known issue(s) reported as KNOWN, not counted (STRICT=1 fails them)"
             if report.known else ""))
    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
