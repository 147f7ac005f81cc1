"""Rendering, schema and policy tests for helm/rentmesh (run through run.sh).

Every profile is linted and rendered; every rendered object is validated by
validate.mjs; the policy checks below read the rendered YAML. The expected call
graph and the idempotency table are written here independently of the chart,
so a chart change that widens access or retries a non-idempotent call fails.
"""

import copy
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

HELM = os.environ["HELM"]
CHART = os.environ["CHART"]
NPM_DIR = os.environ["NPM_DIR"]
HERE = os.path.dirname(os.path.abspath(__file__))
RELEASE, NS = "rm", "rentmesh"
CI = os.path.join(CHART, "ci")

PROFILES = {
    "default": [],
    "mesh-off": [os.path.join(CI, "mesh-off-values.yaml")],
    "mesh-on": [os.path.join(CI, "mesh-on-values.yaml")],
    "external-nats": [os.path.join(CI, "external-nats-values.yaml")],
    "fault-injection": [os.path.join(CI, "fault-injection-values.yaml")],
}

SERVICES = {  # svc -> (gRPC service, gRPC port, admin port)
    "rental": ("rentmesh.rental.v1.RentalService", 50051, 9451),
    "payment": ("rentmesh.payment.v1.PaymentService", 50052, 9452),
    "returns": ("rentmesh.returns.v1.ReturnService", 50053, 9453),
    "view": ("rentmesh.view.v1.ViewService", 50054, 9454),
    "notification": ("rentmesh.notification.v1.NotificationService", 50056, 9456),
    "delivery": ("rentmesh.delivery.v1.DeliveryService", 50055, 9455),
    "gateway": (None, 50050, 9450),
}
METHODS = {
    "rental": ["AddBook", "StockBook", "GetBook", "ListBooks", "RentBook", "GetRental",
               "ReturnBook", "CancelRental", "SetCustomerTier", "GetCustomerTier",
               "HoldBook", "ListHolds", "ReleaseHold"],
    "payment": ["Pay", "Refund", "GetPayment", "ListRentalPayments"],
    "returns": ["ProcessReturn", "GetReturn", "GetRentalReturn"],
    "view": ["GetMyPage", "GetRentalStatus", "ListCatalog", "WatchMyPage"],
    "notification": ["ListNotifications"],
    "delivery": ["GetDelivery", "GetRentalDelivery", "ListCouriers", "PickUpDelivery",
                 "CompleteDelivery", "CancelDelivery", "RequestReturnPickup", "AddCourier"],
}
# Methods that may be retried on error (the architecture: reads, and writes
# keyed by an idempotency key). WatchMyPage is a stream and is not here.
IDEMPOTENT = {
    "rental": {"AddBook", "StockBook", "GetBook", "ListBooks", "RentBook", "GetRental",
               "ReturnBook", "CancelRental", "SetCustomerTier", "GetCustomerTier",
               "HoldBook", "ListHolds", "ReleaseHold"},
    "payment": {"Pay", "Refund", "GetPayment", "ListRentalPayments"},
    "returns": {"ProcessReturn", "GetReturn", "GetRentalReturn"},
    "view": {"GetMyPage", "GetRentalStatus", "ListCatalog"},
    "notification": {"ListNotifications"},
    # Reads, and writes that require a request_id (a retry answers the
    # delivery or courier as it then is).
    "delivery": {"GetDelivery", "GetRentalDelivery", "ListCouriers", "PickUpDelivery",
                 "CompleteDelivery", "CancelDelivery", "RequestReturnPickup", "AddCourier"},
}
CALL_GRAPH = {  # (caller, callee) -> methods
    ("gateway", "rental"): set(METHODS["rental"]),
    ("gateway", "payment"): set(METHODS["payment"]),
    ("gateway", "returns"): set(METHODS["returns"]),
    ("gateway", "view"): set(METHODS["view"]),
    ("gateway", "notification"): set(METHODS["notification"]),
    ("gateway", "delivery"): set(METHODS["delivery"]),
    ("rental", "payment"): {"Pay", "GetPayment", "ListRentalPayments"},
    ("rental", "returns"): {"ProcessReturn", "GetRentalReturn"},
    ("rental", "delivery"): {"CancelDelivery"},
}
CONNECTION_ONLY = {"connect-failure", "refused-stream"}
ISTIO_KINDS = {"DestinationRule", "VirtualService", "Gateway", "PeerAuthentication",
               "RequestAuthentication", "AuthorizationPolicy", "Sidecar"}
INGRESS_PRINCIPAL = "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"
ISSUER_PRINCIPAL = "https://auth.rentmesh.example/*"

passed = 0
failed = 0


def report(name, problems):
    global passed, failed
    if problems:
        failed += 1
        print(f"FAIL {name}")
        for p in problems[:12]:
            print(f"     - {p}")
        if len(problems) > 12:
            print(f"     ... {len(problems) - 12} more")
    else:
        passed += 1
        print(f"PASS {name}")


def helm(*args):
    return subprocess.run([HELM, *args], capture_output=True, text=True)


def render(values_files, sets=()):
    args = ["template", RELEASE, CHART, "--namespace", NS]
    for f in values_files:
        args += ["-f", f]
    for s in sets:
        args += ["--set", s]
    r = helm(*args)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip())
    return r.stdout


def parse(text):
    return [d for d in yaml.safe_load_all(text) if d]


def validate(objects):
    payload = [{"id": f"{i}:{o.get('kind')}/{o.get('metadata', {}).get('name')}", "object": o}
               for i, o in enumerate(objects)]
    r = subprocess.run(["node", os.path.join(HERE, "validate.mjs")], input=json.dumps(payload),
                       capture_output=True, text=True, env={**os.environ, "NPM_DIR": NPM_DIR})
    if r.returncode != 0:
        return {"validator": [r.stderr.strip()[-2000:]]}
    return {k: v for k, v in json.loads(r.stdout).items() if v}


def name(svc):
    return f"{RELEASE}-{svc}"


def host(svc):
    return f"{name(svc)}.{NS}.svc.cluster.local"


def principal(svc):
    return f"cluster.local/ns/{NS}/sa/{name(svc)}"


def by_kind(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def find(objs, kind, nm):
    for o in objs:
        if o["kind"] == kind and o["metadata"]["name"] == nm:
            return o
    return None


# ---------------------------------------------------------------- checks
def check_workloads(objs, values_mesh=True):
    problems = []
    for svc, (_, gport, aport) in SERVICES.items():
        w = find(objs, "Deployment", name(svc)) or find(objs, "StatefulSet", name(svc))
        if w is None:
            problems.append(f"{svc}: no Deployment/StatefulSet")
            continue
        tmpl = w["spec"]["template"]
        labels = tmpl["metadata"].get("labels", {})
        for lab in ("app", "version"):
            if not labels.get(lab):
                problems.append(f"{svc}: pod label {lab} missing")
        if labels.get("app") != svc:
            problems.append(f"{svc}: app label is {labels.get('app')}")
        sel = w["spec"]["selector"]["matchLabels"]
        if any(labels.get(k) != v for k, v in sel.items()):
            problems.append(f"{svc}: selector does not match pod labels")
        spec = tmpl["spec"]
        if spec.get("serviceAccountName") != name(svc):
            problems.append(f"{svc}: serviceAccountName {spec.get('serviceAccountName')}")
        if not find(objs, "ServiceAccount", name(svc)):
            problems.append(f"{svc}: no ServiceAccount")
        psc = spec.get("securityContext", {})
        if psc.get("runAsNonRoot") is not True or psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{svc}: pod securityContext not hardened")
        if spec.get("terminationGracePeriodSeconds", 30) < 30:
            problems.append(f"{svc}: terminationGracePeriodSeconds too short")
        keys = {t["topologyKey"] for t in spec.get("topologySpreadConstraints", [])}
        if not {"topology.kubernetes.io/zone", "kubernetes.io/hostname"} <= keys:
            problems.append(f"{svc}: topology spread missing ({keys})")
        ann = tmpl["metadata"].get("annotations", {})
        if values_mesh:
            cfg = json.loads(ann.get("proxy.istio.io/config", "{}"))
            if cfg.get("holdApplicationUntilProxyStarts") is not True:
                problems.append(f"{svc}: holdApplicationUntilProxyStarts not set")
        if not ann.get("checksum/config"):
            problems.append(f"{svc}: no config checksum (ConfigMap changes would not roll pods)")
        c = spec["containers"][0]
        csc = c.get("securityContext", {})
        if not (csc.get("readOnlyRootFilesystem") is True and csc.get("allowPrivilegeEscalation") is False
                and csc.get("capabilities", {}).get("drop") == ["ALL"]):
            problems.append(f"{svc}: container securityContext not hardened: {csc}")
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            p = c.get(probe)
            if not p or "grpc" not in p or p["grpc"].get("port") != gport:
                problems.append(f"{svc}: {probe} is not a gRPC probe on {gport}")
        if c.get("readinessProbe", {}).get("grpc", {}).get("service", "") != "":
            problems.append(f"{svc}: readiness must check the overall health")
        if c.get("livenessProbe", {}).get("grpc", {}).get("service", "") == "":
            problems.append(f"{svc}: liveness must not follow readiness (dependency outage would restart pods)")
        if "preStop" not in c.get("lifecycle", {}):
            problems.append(f"{svc}: no preStop drain")
        if not c.get("resources", {}).get("requests") or not c.get("resources", {}).get("limits"):
            problems.append(f"{svc}: resources missing")
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        if ports.get("grpc-api") != gport or ports.get("http-admin") != aport:
            problems.append(f"{svc}: container ports {ports}")
        mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
        if svc != "gateway" and "/var/lib/rentmesh" not in mounts:
            problems.append(f"{svc}: no state volume")
    return problems


def check_services(objs):
    problems = []
    for svc, (_, gport, aport) in SERVICES.items():
        s = find(objs, "Service", name(svc))
        if not s:
            problems.append(f"{svc}: no Service")
            continue
        for p in s["spec"]["ports"]:
            nm, ap = p.get("name", ""), p.get("appProtocol")
            prefix = nm.split("-")[0]
            if prefix not in ("grpc", "http", "tcp") or ap != prefix:
                problems.append(f"{svc}: port {nm} appProtocol {ap}: name/protocol mismatch")
        gp = [p for p in s["spec"]["ports"] if p["port"] == gport]
        if not gp or not gp[0]["name"].startswith("grpc-"):
            problems.append(f"{svc}: gRPC port {gport} not named grpc-*")
        if not s["metadata"]["labels"].get("app"):
            problems.append(f"{svc}: Service has no app label")
    return problems


def check_pdb_hpa(objs):
    problems = []
    for svc in SERVICES:
        pdb = find(objs, "PodDisruptionBudget", name(svc))
        w = find(objs, "Deployment", name(svc)) or find(objs, "StatefulSet", name(svc))
        if not pdb:
            problems.append(f"{svc}: no PodDisruptionBudget")
        elif w and any(w["spec"]["template"]["metadata"]["labels"].get(k) != v
                       for k, v in pdb["spec"]["selector"]["matchLabels"].items()):
            problems.append(f"{svc}: PDB selector does not select the pods")
        hpa = find(objs, "HorizontalPodAutoscaler", name(svc))
        if not hpa:
            problems.append(f"{svc}: no HPA")
        elif w and (hpa["spec"]["scaleTargetRef"]["kind"] != w["kind"]
                    or hpa["spec"]["scaleTargetRef"]["name"] != w["metadata"]["name"]):
            problems.append(f"{svc}: HPA targets {hpa['spec']['scaleTargetRef']}")
        if w and w["kind"] == "Deployment":
            ru = w["spec"].get("strategy", {}).get("rollingUpdate", {})
            if ru.get("maxUnavailable") != 0:
                problems.append(f"{svc}: rollout may take pods down before new ones are ready")
    return problems


def check_config(objs, nats_url):
    problems = []
    cm = find(objs, "ConfigMap", f"{RELEASE}-config")
    if not cm:
        return ["no ConfigMap"]
    for svc, (_, gport, aport) in SERVICES.items():
        flags = cm["data"].get(f"{svc}.flags", "")
        wants = [f"--grpc_address=0.0.0.0:{gport}", f"--admin_address=0.0.0.0:{aport}"]
        stateful = [f"--nats_url={nats_url}", "--stream_replicas=3", "--data_dir="]
        if svc == "gateway":
            # The edge holds no state and talks to no stream.
            for unwanted in stateful:
                if unwanted in flags:
                    problems.append(f"gateway: flag file sets {unwanted}")
        else:
            wants += stateful
        for want in wants:
            if want not in flags:
                problems.append(f"{svc}: flag file lacks {want}")
    rental = cm["data"].get("rental.flags", "")
    # Without a mesh rental balances its calls to payment and delivery itself
    # over every pod of a headless Service; with one, Envoy does.
    mesh = any(o["kind"] in ISTIO_KINDS for o in objs)
    balanced = {}
    for dep in ("payment", "delivery"):
        port = SERVICES[dep][1]
        headless = find(objs, "Service", f"{RELEASE}-{dep}-headless")
        if mesh:
            if headless:
                problems.append(f"{dep}-headless: rendered inside the mesh")
            balanced[dep] = f"--{dep}_address={host(dep)}:{port}"
            continue
        if not headless or headless["spec"].get("clusterIP") != "None":
            problems.append(f"{dep}-headless: no headless Service without the mesh")
        elif headless["spec"].get("selector") != {"app": dep, "app.kubernetes.io/instance": RELEASE}:
            problems.append(f"{dep}-headless: selects {headless['spec'].get('selector')}")
        elif [p["port"] for p in headless["spec"]["ports"]] != [port]:
            problems.append(f"{dep}-headless: ports {headless['spec']['ports']}")
        first, rest = host(dep).split(".", 1)
        balanced[dep] = f"--{dep}_address=dns:///{first}-headless.{rest}:{port}"
    for want in (balanced["payment"], f"--returns_address={host('returns')}:50053", balanced["delivery"]):
        if want not in rental:
            problems.append(f"rental: lacks {want}")
    if rental.count("--delivery_address=") != 1:
        problems.append(f"rental: {rental.count('--delivery_address=')} --delivery_address flags")
    gw = cm["data"].get("gateway.flags", "")
    for dep in ("rental", "payment", "returns", "view", "notification", "delivery"):
        if f"--{dep}_address={host(dep)}:{SERVICES[dep][1]}" not in gw:
            problems.append(f"gateway: no {dep} address")
    if "--jwt_jwks_file=" not in gw or "--auth_disabled" in gw:
        problems.append("gateway: JWT verification not configured")
    return problems


def check_nats_credentials(objs, secret="rentmesh-nats-credentials", tls=False):
    """Each stateful service mounts only its own NATS credentials and points
    --nats_credentials at them; the gateway (no NATS) gets none."""
    problems = []
    cm = find(objs, "ConfigMap", f"{RELEASE}-config")
    for svc in SERVICES:
        w = find(objs, "Deployment", name(svc)) or find(objs, "StatefulSet", name(svc))
        if w is None:
            continue
        spec = w["spec"]["template"]["spec"]
        vols = {v["name"]: v for v in spec.get("volumes", [])}
        mounts = {m["name"]: m["mountPath"] for m in spec["containers"][0].get("volumeMounts", [])}
        flags = cm["data"].get(f"{svc}.flags", "") if cm else ""
        if svc == "gateway":
            if "nats-credentials" in vols or "--nats_" in flags.replace("--nats_url", ""):
                problems.append("gateway: has NATS credentials")
            continue
        v = vols.get("nats-credentials", {}).get("secret")
        if not v:
            problems.append(f"{svc}: no nats-credentials Secret volume")
            continue
        if v.get("secretName") != secret:
            problems.append(f"{svc}: credentials from {v.get('secretName')}, not {secret}")
        if v.get("items") != [{"key": f"{svc}.creds", "path": f"{svc}.creds"}]:
            problems.append(f"{svc}: mounts other credentials than its own: {v.get('items')}")
        if v.get("defaultMode", 0o644) & 0o007:
            problems.append(f"{svc}: credentials readable by others (mode {oct(v.get('defaultMode', 0o644))})")
        want = f"--nats_credentials={mounts.get('nats-credentials')}/{svc}.creds"
        if want not in flags:
            problems.append(f"{svc}: flag file lacks {want}")
        if tls:
            if "--nats_tls_ca=" not in flags or "nats-tls" not in vols:
                problems.append(f"{svc}: TLS to NATS not configured")
        elif "--nats_tls_ca=" in flags:
            problems.append(f"{svc}: TLS flags without nats.tls.enabled")
    return problems


def check_quorum_guard(values):
    """Each NATS pod runs the quorum guard, pointed at its own server, with the
    guard's credentials from rentmesh-nats-users (docs/cluster.md case 8)."""
    problems = []
    patch = values.get("podTemplate", {}).get("patch", [])
    guard = next((p["value"] for p in patch if p.get("path") == "/spec/containers/-"
                  and p.get("value", {}).get("name") == "quorum-guard"), None)
    if guard is None:
        return ["no quorum-guard container in podTemplate.patch"]
    cmd = guard.get("command", [])
    if cmd[:1] != ["quorum_guard"]:
        problems.append(f"quorum-guard runs {cmd[:1]}, not quorum_guard")
    if "--nats_url=nats://127.0.0.1:4222" not in cmd:
        problems.append("quorum-guard is not pointed at its own server alone")
    mounts = {m.get("name"): m.get("mountPath") for m in guard.get("volumeMounts", [])}
    creds = next((a.split("=", 1)[1] for a in cmd if a.startswith("--nats_credentials=")), "")
    vol = next((p["value"] for p in patch if p.get("path") == "/spec/volumes/-"
                and p.get("value", {}).get("name") in mounts), None)
    if vol is None or not creds.startswith(mounts.get(vol.get("name"), "?") + "/"):
        problems.append("quorum-guard's --nats_credentials is not on a mounted volume")
    elif vol.get("secret", {}).get("secretName") != "rentmesh-nats-users" or \
            {"key": "guard.creds", "path": creds.rsplit("/", 1)[1]} not in vol["secret"].get("items", []):
        problems.append("quorum-guard's credentials are not rentmesh-nats-users/guard.creds")
    return problems


def check_nats_values():
    """helm/nats-values.yaml configures exactly the users and permissions that
    tools/nats_auth.sh gives a local run and the tests."""
    problems = []
    repo = os.path.dirname(os.path.dirname(HERE))
    with open(os.path.join(repo, "helm", "nats-values.yaml")) as f:
        values = yaml.safe_load(f)
    users = values.get("config", {}).get("merge", {}).get("authorization", {}).get("users", [])
    env = values.get("container", {}).get("env", {})
    if values.get("config", {}).get("merge", {}).get("authorization", {}).get("no_auth_user"):
        problems.append("no_auth_user lets anonymous clients in")
    for svc in ("rental", "payment", "returns", "view", "notification", "delivery", "guard"):
        want = json.loads(subprocess.run(["bash", os.path.join(repo, "tools", "nats_auth.sh"),
                                          "--permissions", svc], capture_output=True, text=True,
                                         check=True).stdout)
        for slot in ("", "_OLD"):
            var = f"{svc.upper()}{slot}"
            entry = next((u for u in users if u.get("user") == f"<< ${var}_USER >>"), None)
            if entry is None:
                problems.append(f"{svc}: no user << ${var}_USER >>")
                continue
            if entry.get("password") != f"<< ${var}_PASSWORD >>":
                problems.append(f"{svc}: password of {var} not from the environment")
            if entry.get("permissions") != want:
                problems.append(f"{svc}: permissions of {var} differ from tools/nats_auth.sh")
            for part in ("USER", "PASSWORD"):
                ref = env.get(f"{var}_{part}", {}).get("valueFrom", {}).get("secretKeyRef", {})
                key = f"{svc}{slot.lower().replace('_', '-')}-{part.lower()}"
                if ref != {"name": "rentmesh-nats-users", "key": key}:
                    problems.append(f"{svc}: env {var}_{part} is not rentmesh-nats-users/{key}")
    if len(users) != 14:
        problems.append(f"{len(users)} users, expected 2 slots for each of 6 services and the guard")
    problems += check_quorum_guard(values)
    return problems


def check_destination_rules(objs):
    problems = []
    for svc in SERVICES:
        dr = [d for d in by_kind(objs, "DestinationRule") if d["spec"]["host"] == host(svc)]
        if len(dr) != 1:
            problems.append(f"{svc}: {len(dr)} DestinationRules")
            continue
        tp = dr[0]["spec"].get("trafficPolicy", {})
        od = tp.get("outlierDetection", {})
        for k in ("consecutive5xxErrors", "consecutiveGatewayErrors", "interval", "baseEjectionTime",
                  "maxEjectionPercent"):
            if k not in od:
                problems.append(f"{svc}: outlierDetection.{k} missing")
        if not 0 < od.get("maxEjectionPercent", 0) < 100:
            problems.append(f"{svc}: maxEjectionPercent must leave hosts in service")
        http = tp.get("connectionPool", {}).get("http", {})
        for k in ("http2MaxRequests", "http1MaxPendingRequests", "maxRequestsPerConnection"):
            if k not in http:
                problems.append(f"{svc}: connectionPool.http.{k} missing")
        if tp.get("tls", {}).get("mode") != "ISTIO_MUTUAL":
            problems.append(f"{svc}: tls mode {tp.get('tls')}")
    return problems


def retry_on(route):
    r = route.get("retries")
    if r is None:
        return None  # Istio's default policy applies
    if r.get("attempts", 0) == 0:
        return set()
    return set(filter(None, (r.get("retryOn") or "").split(",")))


def check_virtual_services(objs, raw_text):
    problems = []
    vss = by_kind(objs, "VirtualService")
    for svc, methods in METHODS.items():
        gsvc = SERVICES[svc][0]
        vs = [v for v in vss if host(svc) in v["spec"]["hosts"] and "mesh" in v["spec"].get("gateways", ["mesh"])]
        if len(vs) != 1:
            problems.append(f"{svc}: {len(vs)} in-mesh VirtualServices")
            continue
        routes = vs[0]["spec"]["http"]
        seen = set()
        for r in routes:
            for m in r.get("match", [{}]):
                path = m.get("uri", {}).get("exact")
                if path:
                    seen.add(path)
        for m in methods:
            if f"/{gsvc}/{m}" not in seen:
                problems.append(f"{svc}: no route for {m}")
        if not any(not r.get("match") for r in routes):
            problems.append(f"{svc}: no catch-all route")
    # Every gRPC/HTTP route anywhere: explicit retries, and error retries only
    # where idempotent.
    for v in vss:
        for r in v["spec"]["http"]:
            ro = retry_on(r)
            where = f"{v['metadata']['name']}/{r.get('name')}"
            if ro is None:
                problems.append(f"{where}: no explicit retries (Istio's default would retry)")
                continue
            paths = [m.get("uri", {}).get("exact", "") for m in r.get("match", [])]
            methods_ = [m.get("method", {}).get("exact") for m in r.get("match", [])]
            grpc_paths = [p for p in paths if p.startswith("/rentmesh.")]
            if ro - CONNECTION_ONLY:
                if grpc_paths:
                    for p in grpc_paths:
                        svc = next((s for s, (g, _, _) in SERVICES.items() if g and p.startswith(f"/{g}/")), None)
                        if svc is None or p.rsplit("/", 1)[1] not in IDEMPOTENT.get(svc, set()):
                            problems.append(f"{where}: retries {sorted(ro)} on non-idempotent {p}")
                        elif not re.search(r"# Retried: idempotent by .+\n\s+match:\n\s+- uri: \{exact: " + re.escape(p) + r"\}", raw_text) \
                                and not r.get("name", "").endswith("-fault"):
                            problems.append(f"{where}: retried route {p} has no idempotency comment")
                elif methods_ != ["GET"]:
                    problems.append(f"{where}: error retries {sorted(ro)} on a route that is not GET-only / gRPC-idempotent")
            if any(p.endswith("/WatchMyPage") for p in paths) or "watch" in str(r.get("match", "")):
                if r.get("timeout") not in ("0s", None) or ro:
                    problems.append(f"{where}: stream route must have no timeout and no retries")
    return problems


def check_peer_authentication(objs):
    problems = []
    pas = by_kind(objs, "PeerAuthentication")
    ns_wide = [p for p in pas if not p["spec"].get("selector")]
    if len(ns_wide) != 1 or ns_wide[0]["spec"].get("mtls", {}).get("mode") != "STRICT":
        problems.append("no namespace-wide STRICT PeerAuthentication")
    admin_ports = {str(a) for _, _, a in SERVICES.values()}
    for p in pas:
        if p["spec"].get("mtls", {}).get("mode", "STRICT") != "STRICT":
            problems.append(f"{p['metadata']['name']}: workload mode not STRICT")
        for port, m in (p["spec"].get("portLevelMtls") or {}).items():
            if m.get("mode") != "STRICT" and str(port) not in admin_ports:
                problems.append(f"{p['metadata']['name']}: port {port} {m.get('mode')} is not an admin port")
    return problems


def app_of_selector(policy):
    return (policy["spec"].get("selector") or {}).get("matchLabels", {}).get("app")


def authz_edges(objs):
    """Expands ALLOW rules into (source, requestPrincipals, target, port, path, method) tuples."""
    edges, problems, deny_all = set(), [], False
    for p in by_kind(objs, "AuthorizationPolicy"):
        spec = p["spec"]
        nm = p["metadata"]["name"]
        if spec == {}:
            deny_all = not p["metadata"].get("namespace")
            continue
        if spec.get("action", "ALLOW") != "ALLOW":
            problems.append(f"{nm}: unexpected action {spec.get('action')}")
        target = app_of_selector(p) or (spec.get("selector") or {}).get("matchLabels", {}).get(
            "app.kubernetes.io/name") or "*"
        if p["metadata"].get("namespace"):
            target = f"{p['metadata']['namespace']}/{target}"
        for rule in spec.get("rules", []):
            if not rule.get("to"):
                problems.append(f"{nm}: rule without `to` allows every operation")
                continue
            if rule.get("when"):
                problems.append(f"{nm}: `when` conditions are not expected")
            sources = []
            for f in rule.get("from") or [{"source": {}}]:
                s = f["source"]
                if set(s) - {"principals", "requestPrincipals"}:
                    problems.append(f"{nm}: unexpected source fields {sorted(s)}")
                rp = tuple(sorted(s.get("requestPrincipals", [])))
                for pr in s.get("principals", ["*"]):
                    sources.append((pr, rp))
            for t in rule["to"]:
                op = t["operation"]
                if set(op) - {"ports", "paths", "methods"}:
                    problems.append(f"{nm}: unexpected operation fields {sorted(op)}")
                for src in sources:
                    for port in op.get("ports", ["*"]):
                        for path in op.get("paths", ["*"]):
                            for m in op.get("methods", ["*"]):
                                edges.add((src[0], src[1], target, str(port), path, m))
    return edges, deny_all, problems


def expected_edges(tests_enabled=True, grpc_direct=False, nats_policy=True):
    exp = set()
    test_pr = f"cluster.local/ns/{NS}/sa/{RELEASE}-test"
    for (caller, callee), methods in CALL_GRAPH.items():
        g, port, _ = SERVICES[callee]
        for m in methods:
            exp.add((principal(caller), (), callee, str(port), f"/{g}/{m}", "*"))
    for svc, (g, port, _) in SERVICES.items():
        if g and grpc_direct:
            for m in METHODS[svc]:
                exp.add((INGRESS_PRINCIPAL, (ISSUER_PRINCIPAL,), svc, str(port), f"/{g}/{m}", "*"))
        if tests_enabled:
            exp.add((test_pr, (), svc, str(port), "/grpc.health.v1.Health/Check", "*"))
    exp.add((INGRESS_PRINCIPAL, (ISSUER_PRINCIPAL,), "gateway", "8080", "/v1/*", "*"))
    if tests_enabled:
        exp.add((test_pr, (ISSUER_PRINCIPAL,), "gateway", "8080", "/v1/*", "*"))
    for _, _, aport in SERVICES.values():
        for path in ("/metrics", "/healthz"):
            exp.add(("*", (), "*", str(aport), path, "GET"))
    if nats_policy:
        for svc in SERVICES:
            exp.add((principal(svc), (), "nats/nats", "4222", "*", "*"))
        for port in ("4222", "6222", "8222"):
            exp.add(("cluster.local/ns/nats/sa/nats", (), "nats/nats", port, "*", "*"))
    return exp


def check_authorization(objs, **kw):
    edges, deny_all, problems = authz_edges(objs)
    if not deny_all:
        problems.append("no namespace-wide deny-all (empty ALLOW) policy")
    exp = expected_edges(**kw)
    for e in sorted(edges - exp, key=str):
        problems.append(f"allowed but not in the call graph: {e}")
    for e in sorted(exp - edges, key=str):
        problems.append(f"call graph edge not allowed: {e}")
    # The admin-scrape rule must only name admin ports (it has no source).
    return problems


def check_request_authentication(objs):
    problems = []
    ra = [r for r in by_kind(objs, "RequestAuthentication")
          if r["spec"]["selector"]["matchLabels"].get("app") == "gateway"]
    if len(ra) != 1:
        return ["gateway has no RequestAuthentication"]
    rule = ra[0]["spec"]["jwtRules"][0]
    if rule.get("issuer") != "https://auth.rentmesh.example" or not (rule.get("jwks") or rule.get("jwksUri")):
        problems.append("gateway JWT rule lacks issuer or keys")
    if not any(h.get("header") == "x-rentmesh-subject" for h in rule.get("outputClaimToHeaders", [])):
        problems.append("subject not copied to x-rentmesh-subject")
    return problems


def check_sidecars(objs, nats_ns="nats"):
    problems = []
    deps = {"rental": {"payment", "returns", "delivery"}, "payment": set(), "returns": set(), "view": set(),
            "notification": set(), "delivery": set(),
            "gateway": {"rental", "payment", "returns", "view", "notification", "delivery"}}
    for svc, want in deps.items():
        sc = find(objs, "Sidecar", name(svc))
        if not sc:
            problems.append(f"{svc}: no Sidecar")
            continue
        if sc["spec"].get("outboundTrafficPolicy", {}).get("mode") != "REGISTRY_ONLY":
            problems.append(f"{svc}: egress not REGISTRY_ONLY")
        hosts = set(sc["spec"]["egress"][0]["hosts"])
        want_hosts = {f"./{host(d)}" for d in want} | {f"{nats_ns}/*", "istio-system/*"}
        if hosts != want_hosts:
            problems.append(f"{svc}: egress hosts {sorted(hosts)} != {sorted(want_hosts)}")
    return problems


def check_faults(objs, expect_target=None):
    problems = []
    for v in by_kind(objs, "VirtualService"):
        for r in v["spec"]["http"]:
            if "fault" not in r:
                continue
            if expect_target is None:
                problems.append(f"{v['metadata']['name']}/{r.get('name')}: fault injected by default")
            elif host(expect_target) not in v["spec"]["hosts"]:
                problems.append(f"{v['metadata']['name']}: fault outside target {expect_target}")
    if expect_target:
        vs = find(objs, "VirtualService", name(expect_target))
        faults = [r["fault"] for r in vs["spec"]["http"] if "fault" in r] if vs else []
        if not faults:
            problems.append(f"{expect_target}: no fault routes")
        for f in faults:
            if f.get("abort", {}).get("grpcStatus") != "UNAVAILABLE" or "fixedDelay" not in f.get("delay", {}):
                problems.append(f"{expect_target}: fault lacks gRPC abort or delay: {f}")
        for r in vs["spec"]["http"] if vs else []:
            if "fault" in r and not all(m.get("sourceLabels") == {"app": "rental"} for m in r["match"]):
                problems.append(f"{r.get('name')}: fault not scoped to rental's calls")
    return problems


def check_dashboards(objs):
    problems = []
    cms = [c for c in by_kind(objs, "ConfigMap") if c["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    if len(cms) < 2:
        return [f"{len(cms)} dashboard ConfigMaps"]
    text = ""
    for c in cms:
        for k, v in c["data"].items():
            try:
                d = json.loads(v)
            except ValueError as e:
                problems.append(f"{k}: not JSON: {e}")
                continue
            if not d.get("panels"):
                problems.append(f"{k}: no panels")
            text += v
    for metric in ("rentmesh_grpc_server_handled_total", "rentmesh_grpc_server_handling_seconds_bucket",
                   "rentmesh_events_published_total", "rentmesh_consumer_lag",
                   "rentmesh_events_redelivered_total", "rentmesh_events_dead_lettered_total"):
        if metric not in text:
            problems.append(f"dashboards never query {metric}")
    return problems


# ---------------------------------------------------------------- main
def main():
    rendered = {}
    for prof, files in PROFILES.items():
        r = helm("lint", CHART, "--strict", "--namespace", NS, *sum((["-f", f] for f in files), []))
        report(f"[{prof}] helm lint --strict", [] if r.returncode == 0 else [r.stdout[-1500:] + r.stderr[-500:]])
        try:
            text = render(files)
            objs = parse(text)
            rendered[prof] = (text, objs)
            report(f"[{prof}] helm template renders ({len(objs)} objects)", [] if objs else ["no objects"])
        except RuntimeError as e:
            report(f"[{prof}] helm template renders", [str(e)])
            continue
        errs = validate(objs)
        report(f"[{prof}] every object valid against Kubernetes/Istio schemas (incl. unknown fields)",
               [f"{k}: {v}" for k, v in errs.items()])

    def get(prof):
        return rendered.get(prof, ("", []))

    for prof in PROFILES:
        text, objs = get(prof)
        if not objs:
            continue
        mesh = prof != "mesh-off"
        report(f"[{prof}] workloads: labels, gRPC probes, hardening, drain, spread", check_workloads(objs, mesh))
        report(f"[{prof}] services: grpc-*/http-* port names with appProtocol", check_services(objs))
        report(f"[{prof}] PDB and HPA per service, zero-downtime rollout", check_pdb_hpa(objs))
        nats_url = ("nats://nats.shared-infra.example.internal:4222" if prof == "external-nats"
                    else "nats://nats.nats.svc.cluster.local:4222")
        report(f"[{prof}] ConfigMap flag files", check_config(objs, nats_url))
        report(f"[{prof}] dashboards shipped as labelled ConfigMaps", check_dashboards(objs))
        report(f"[{prof}] each service mounts only its own NATS credentials", check_nats_credentials(objs))
        if not mesh:
            istio = [o["kind"] for o in objs if o["kind"] in ISTIO_KINDS]
            report(f"[{prof}] no Istio resources without the mesh", [f"rendered {k}" for k in istio])
            continue
        report(f"[{prof}] DestinationRule per service with outlier detection", check_destination_rules(objs))
        report(f"[{prof}] VirtualServices: timeouts, retries only where idempotent", check_virtual_services(objs, text))
        report(f"[{prof}] PeerAuthentication STRICT", check_peer_authentication(objs))
        report(f"[{prof}] AuthorizationPolicies allow exactly the call graph",
               check_authorization(objs, grpc_direct=(prof == "mesh-on"), nats_policy=(prof != "external-nats")))
        report(f"[{prof}] RequestAuthentication (JWT at the edge)", check_request_authentication(objs))
        report(f"[{prof}] Sidecars scope egress to dependencies",
               check_sidecars(objs, "shared-infra" if prof == "external-nats" else "nats"))
        report(f"[{prof}] fault injection only when switched on",
               check_faults(objs, "payment" if prof == "fault-injection" else None))

    _, mesh_on = get("mesh-on")
    if mesh_on:
        ss = by_kind(mesh_on, "StatefulSet")
        report("[mesh-on] persistent state: StatefulSets with volumeClaimTemplates for the 6 stateful services",
               [] if len(ss) == 6 and all(s["spec"].get("volumeClaimTemplates") for s in ss) else [f"{len(ss)} StatefulSets"])
        pods = [o for o in mesh_on if o["kind"] == "Pod"]
        hooks = [p for p in pods if p["metadata"].get("annotations", {}).get("helm.sh/hook") == "test"]
        report("[mesh-on] helm test hooks: gRPC health and smoke rent",
               [] if {p["metadata"]["name"] for p in hooks} == {f"{RELEASE}-test-health", f"{RELEASE}-test-smoke-rent"}
               else [f"hooks: {[p['metadata']['name'] for p in hooks]}"])

    # Variants that must change the policy output.
    try:
        objs = parse(render([], ["tests.enabled=false"]))
        report("[tests off] test principal disappears from the AuthorizationPolicies",
               check_authorization(objs, tests_enabled=False))
    except RuntimeError as e:
        report("[tests off] renders", [str(e)])

    # NATS credentials: the same users on the servers; from values or a Secret.
    report("[nats-values] the NATS servers have the users and permissions of tools/nats_auth.sh",
           check_nats_values())
    stateful = ("rental", "payment", "returns", "view", "notification", "delivery")
    creds = ["nats.auth.existingSecret=", *[f"nats.auth.credentials.{svc}.user={svc}" for svc in stateful],
             *[f"nats.auth.credentials.{svc}.password=pw-{svc}-0123456789abcdef" for svc in stateful]]
    try:
        objs = parse(render([], creds))
        sec = find(objs, "Secret", f"{RELEASE}-nats-credentials")
        problems = check_nats_credentials(objs, secret=f"{RELEASE}-nats-credentials")
        data = (sec or {}).get("stringData", {})
        if sorted(data) != ["delivery.creds", "notification.creds", "payment.creds", "rental.creds",
                            "returns.creds", "view.creds"]:
            problems.append(f"Secret keys {sorted(data)}")
        else:
            for svc in ("view", "delivery"):
                if f"user={svc}\npassword=pw-{svc}-0123456789abcdef\ninbox=_INBOX_{svc}" not in data[f"{svc}.creds"]:
                    problems.append(f"{svc}.creds: {data[f'{svc}.creds']!r}")
        report("[nats auth] credentials from values make the Secret the services mount", problems)
    except RuntimeError as e:
        report("[nats auth] credentials from values render", [str(e)])
    try:
        objs = parse(render([], ["services.notification.webhook.url=http://hooks.example:8081/rentmesh",
                                 "services.notification.webhook.existingSecret=notification-webhook"]))
        flags = find(objs, "ConfigMap", f"{RELEASE}-config")["data"]["notification.flags"]
        problems = [f"notification: lacks {want}" for want in (
            "--webhook_url=http://hooks.example:8081/rentmesh",
            "--webhook_secret_file=/etc/rentmesh/webhook/secret") if want not in flags]
        w = find(objs, "Deployment", name("notification")) or find(objs, "StatefulSet", name("notification"))
        vols = {v["name"]: v for v in w["spec"]["template"]["spec"].get("volumes", [])}
        if vols.get("webhook-secret", {}).get("secret", {}).get("secretName") != "notification-webhook":
            problems.append("notification: webhook secret not mounted")
        default_flags = find(parse(render([], [])), "ConfigMap", f"{RELEASE}-config")["data"]["notification.flags"]
        if "--webhook" in default_flags:
            problems.append("notification: webhook flags without a webhook")
        report("[notification] webhook URL and signing secret only when configured", problems)
    except RuntimeError as e:
        report("[notification] webhook values render", [str(e)])
    # Delivery: courier and region flags from values; switched off, nothing
    # of it renders and rental runs without --delivery_address.
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump({"services": {"delivery": {"flags": {
            "couriers": "kim@seoul,lee@busan", "customer_regions": "alice=seoul,bob=busan",
            "default_region": "central"}}}}, f)
        delivery_values = f.name
    try:
        objs = parse(render([delivery_values]))
        flags = find(objs, "ConfigMap", f"{RELEASE}-config")["data"]["delivery.flags"]
        problems = [f"delivery: lacks {want}" for want in (
            "--couriers=kim@seoul,lee@busan", "--customer_regions=alice=seoul,bob=busan",
            "--default_region=central") if want not in flags]
        default_flags = find(parse(render([], [])), "ConfigMap", f"{RELEASE}-config")["data"]["delivery.flags"]
        if "--default_region=central" not in default_flags:
            problems.append("delivery: default flags lack --default_region=central")
        report("[delivery] couriers and regions from values reach the flag file", problems)
    except RuntimeError as e:
        report("[delivery] courier values render", [str(e)])
    finally:
        os.unlink(delivery_values)
    for prof in ("default", "mesh-off"):
        try:
            objs = parse(render(PROFILES[prof], ["services.delivery.enabled=false"]))
            problems = [f"rendered {o['kind']}/{o['metadata']['name']}" for o in objs
                        if o["metadata"]["name"].startswith(name("delivery"))]
            cm = find(objs, "ConfigMap", f"{RELEASE}-config")["data"]
            if "delivery.flags" in cm:
                problems.append("delivery.flags rendered")
            if "--delivery_address" in cm["rental.flags"]:
                problems.append("rental: --delivery_address without delivery")
            if "DeliveryService" in json.dumps([o for o in objs if o["kind"] in ISTIO_KINDS]):
                problems.append("Istio resources still name DeliveryService")
            sc = find(objs, "Sidecar", name("rental"))
            if sc and f"./{host('delivery')}" in sc["spec"]["egress"][0]["hosts"]:
                problems.append("rental's Sidecar still reaches delivery")
            for svc in ("rental", "payment"):
                if not (find(objs, "Deployment", name(svc)) or find(objs, "StatefulSet", name(svc))):
                    problems.append(f"{svc}: gone too")
            report(f"[delivery off, {prof}] no delivery objects, rental without --delivery_address", problems)
        except RuntimeError as e:
            report(f"[delivery off, {prof}] renders", [str(e)])
    try:
        objs = parse(render([], ["nats.auth.enabled=false"]))
        flags = find(objs, "ConfigMap", f"{RELEASE}-config")["data"]["rental.flags"]
        report("[nats auth] off: no credentials flag",
               ["--nats_credentials still set"] if "--nats_credentials" in flags else [])
    except RuntimeError as e:
        report("[nats auth] off renders", [str(e)])
    try:
        objs = parse(render([], ["nats.url=tls://nats.nats.svc.cluster.local:4222", "nats.tls.enabled=true",
                                 "nats.tls.existingSecret=nats-client-tls", "nats.tls.clientCertificate=true"]))
        problems = check_nats_credentials(objs, tls=True)
        flags = find(objs, "ConfigMap", f"{RELEASE}-config")["data"]["payment.flags"]
        for want in ("--nats_tls_cert=", "--nats_tls_key="):
            if want not in flags:
                problems.append(f"payment: lacks {want}")
        report("[nats tls] CA and client certificate mounted and flagged", problems)
    except RuntimeError as e:
        report("[nats tls] renders", [str(e)])
    without_view = [x for x in creds if not x.startswith("nats.auth.credentials.view.")]
    without_delivery = [x for x in creds if not x.startswith("nats.auth.credentials.delivery.")]
    for desc, sets in [("NATS credentials in values without view's", without_view),
                       ("NATS credentials in values without delivery's", without_delivery),
                       ("a NATS password with a quote",
                        without_view + ["nats.auth.credentials.view.user=view",
                                        'nats.auth.credentials.view.password=abc"defghijklmnopq']),
                       ("a short NATS password",
                        without_view + ["nats.auth.credentials.view.user=view",
                                        "nats.auth.credentials.view.password=short"]),
                       ("TLS to NATS without the CA Secret", ["nats.tls.enabled=true"])]:
        try:
            render([], sets)
            report(f"[schema] refuses {desc}", ["rendered anyway"])
        except RuntimeError:
            report(f"[schema] refuses {desc}", [])

    # Schema: bad values are refused before anything renders.
    for desc, sets in [("port as text", ["services.rental.grpcPort=abc"]),
                       ("unknown state mode", ["state.mode=hostPath"]),
                       ("delivery port as text", ["services.delivery.grpcPort=abc"]),
                       ("an unknown delivery setting", ["services.delivery.courier=kim@seoul"]),
                       ("auth disabled inside the mesh", ["auth.disabled=true"]),
                       ("unknown top-level key", ["replicaCount=3"]),
                       ("fault abort with an HTTP status", ["mesh.faultInjection.abort.grpcStatus=503"])]:
        try:
            render([], sets)
            report(f"[schema] refuses {desc}", ["rendered anyway"])
        except RuntimeError:
            report(f"[schema] refuses {desc}", [])

    # Negative self-tests: the checks must catch broken input.
    _, base = get("default")
    if base:
        broken = copy.deepcopy([o for o in base if o["kind"] in ("Deployment", "DestinationRule", "VirtualService")])
        dep = next(o for o in broken if o["kind"] == "Deployment")
        c = dep["spec"]["template"]["spec"]["containers"][0]
        c["readinesProbe"] = c.pop("readinessProbe")
        dr = next(o for o in broken if o["kind"] == "DestinationRule")
        dr["spec"]["trafficPolicy"]["tls"]["mode"] = "ISTIO_MUTUAL_TYPO"
        vs = next(o for o in broken if o["kind"] == "VirtualService")
        vs["spec"]["http"][0]["timeout"] = 5
        errs = validate(broken)
        bad_ids = {k.split(":", 1)[1] for k in errs}
        want = {f"Deployment/{dep['metadata']['name']}", f"DestinationRule/{dr['metadata']['name']}",
                f"VirtualService/{vs['metadata']['name']}"}
        report("[self-test] validator rejects an unknown field, a bad enum and a wrong type",
               [] if want <= bad_ids else [f"accepted: {sorted(want - bad_ids)}"])
        good = validate([o for o in base if o["kind"] == "Service"])
        report("[self-test] validator accepts the untouched Services", [f"{k}: {v}" for k, v in good.items()])

        mutated = copy.deepcopy(base)
        ap = find(mutated, "AuthorizationPolicy", name("payment"))
        for rule in ap["spec"]["rules"]:
            if principal("rental") in rule["from"][0]["source"].get("principals", []):
                rule["to"][0]["operation"]["paths"].append("/rentmesh.payment.v1.PaymentService/Refund")
        report("[self-test] policy check catches rental -> payment Refund",
               [] if check_authorization(mutated) else ["not detected"])
        mutated = copy.deepcopy(base)
        ap = find(mutated, "AuthorizationPolicy", name("delivery"))
        for rule in ap["spec"]["rules"]:
            if principal("rental") in rule["from"][0]["source"].get("principals", []):
                rule["to"][0]["operation"]["paths"].append("/rentmesh.delivery.v1.DeliveryService/CompleteDelivery")
        report("[self-test] policy check catches rental -> delivery CompleteDelivery",
               [] if check_authorization(mutated) else ["not detected"])
        mutated = copy.deepcopy(base)
        find(mutated, "ConfigMap", f"{RELEASE}-config")["data"]["rental.flags"] = "\n".join(
            l for l in find(base, "ConfigMap", f"{RELEASE}-config")["data"]["rental.flags"].splitlines()
            if not l.startswith("--delivery_address="))
        report("[self-test] config check catches rental without --delivery_address",
               [] if check_config(mutated, "nats://nats.nats.svc.cluster.local:4222") else ["not detected"])
        mutated = copy.deepcopy(base)
        find(mutated, "AuthorizationPolicy", name("view"))["spec"]["rules"].append(
            {"to": [{"operation": {"ports": ["50054"]}}]})
        report("[self-test] policy check catches an allow-from-anyone rule",
               [] if check_authorization(mutated) else ["not detected"])
        mutated = copy.deepcopy(base)
        mutated = [o for o in mutated if not (o["kind"] == "AuthorizationPolicy" and o["spec"] == {})]
        report("[self-test] policy check catches a missing deny-all",
               [] if check_authorization(mutated) else ["not detected"])
        mutated = copy.deepcopy(base)
        d = find(mutated, "DestinationRule", name("payment"))
        del d["spec"]["trafficPolicy"]["outlierDetection"]
        report("[self-test] DestinationRule check catches a missing outlierDetection",
               [] if check_destination_rules(mutated) else ["not detected"])
        mutated = copy.deepcopy(base)
        for r in find(mutated, "VirtualService", name("view"))["spec"]["http"]:
            if r.get("name") == "WatchMyPage":
                r["retries"] = {"attempts": 3, "retryOn": "unavailable"}
        report("[self-test] VirtualService check catches retries on the WatchMyPage stream",
               [] if check_virtual_services(mutated, get("default")[0]) else ["not detected"])
        mutated = copy.deepcopy(base)
        for r in find(mutated, "VirtualService", name("rental"))["spec"]["http"]:
            r.pop("retries", None)
        report("[self-test] VirtualService check catches routes left to Istio's default retries",
               [] if check_virtual_services(mutated, get("default")[0]) else ["not detected"])
        mutated = copy.deepcopy(base)
        mutated = [o for o in mutated if not (o["kind"] == "PodDisruptionBudget" and o["metadata"]["name"] == name("returns"))]
        report("[self-test] PDB check catches a missing PodDisruptionBudget",
               [] if check_pdb_hpa(mutated) else ["not detected"])
        mutated = copy.deepcopy(base)
        find(mutated, "Service", name("rental"))["spec"]["ports"][0]["name"] = "api"
        report("[self-test] Service check catches an unnamed-protocol port",
               [] if check_services(mutated) else ["not detected"])
    # A method someone marks retryable that the architecture does not call idempotent.
    try:
        text = render([], ["routes.payment.Capture.timeout=1s", "routes.payment.Capture.retry=true",
                           "routes.payment.Capture.idempotentBy=nothing"])
        report("[self-test] VirtualService check catches retries on a method not known to be idempotent",
               [] if check_virtual_services(parse(text), text) else ["not detected"])
    except RuntimeError as e:
        report("[self-test] renders a chart with an extra route", [str(e)])

    # mesh/rendered/ must match what the chart renders now.
    repo = os.path.dirname(os.path.dirname(HERE))
    r = subprocess.run(["bash", os.path.join(repo, "mesh", "render.sh")], capture_output=True, text=True,
                       env={**os.environ, "HELM": HELM})
    diff = subprocess.run(["git", "-C", repo, "status", "--porcelain", "--", "mesh/rendered"],
                          capture_output=True, text=True)
    tracked = subprocess.run(["git", "-C", repo, "ls-files", "mesh/rendered"], capture_output=True, text=True)
    stale = [l for l in diff.stdout.splitlines() if tracked.stdout.strip() and not l.startswith("??")]
    report("mesh/rendered/ is up to date with the chart (mesh/render.sh)",
           ([r.stderr] if r.returncode else []) + [f"changed: {l}" for l in stale])

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
