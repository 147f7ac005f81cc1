"""The chart's rendered workloads, run in containers, and the checks on them.

Run by tests/containers/run.sh (which builds the images and renders the chart);
closes with "N passed, M failed".
"""

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time

import grpc
import yaml

import kube
from kube import log, pm

RESULTS = []
FIGURES = []


def check(name):
    def wrap(fn):
        def run(*a, **kw):
            t0 = time.time()
            log(f"=== check: {name}")
            try:
                detail = fn(*a, **kw) or ""
                RESULTS.append((name, True, detail))
                log(f"=== PASS {name} ({time.time() - t0:.0f}s) {detail}")
                return True
            except Exception as e:  # a failed check is reported, the others still run
                RESULTS.append((name, False, str(e)))
                log(f"=== FAIL {name} ({time.time() - t0:.0f}s): {e}")
                return False
        return run
    return wrap


def figure(key, value):
    FIGURES.append((key, value))
    log(f"FIGURE {key} = {value}")


# --- NATS, as the official chart deploys it from helm/nats-values.yaml ----------

# Keys of the values' config.merge that Debian's nats-server 2.9.10 refuses.
NATS_UNSUPPORTED = {("jetstream", "sync_interval")}


def nats_conf(values, replicas):
    cfg = values.get("config", {})
    js = cfg.get("jetstream", {})
    fs = js.get("fileStore", {})
    conf = {
        "server_name": "<< $POD_NAME >>",
        "port": 4222,
        "http_port": 8222,
        "lame_duck_duration": "30s",
        "lame_duck_grace_period": "10s",
    }
    if cfg.get("cluster", {}).get("enabled"):
        conf["cluster"] = {
            "name": "nats",
            "port": 6222,
            "no_advertise": True,
            "routes": [f"nats://nats-{i}.nats-headless:6222" for i in range(replicas)],
        }
    if js.get("enabled"):
        conf["jetstream"] = {
            "store_dir": fs.get("dir", "/data"),
            "max_memory_store": 0 if not js.get("memoryStore", {}).get("enabled") else js["memoryStore"].get("maxSize", "1Gi"),
            "max_file_store": fs.get("pvc", {}).get("size", "10Gi"),
        }
    dropped = []
    for k, v in (cfg.get("merge") or {}).items():
        if isinstance(v, dict):
            for k2, v2 in v.items():
                if (k, k2) in NATS_UNSUPPORTED:
                    dropped.append(f"{k}.{k2}")
                    continue
                conf.setdefault(k, {})[k2] = v2
        else:
            conf[k] = v

    def render(v, ind=""):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return str(v)
        if isinstance(v, list):
            return "[\n" + "".join(f"{ind}  {render(x, ind + '  ')}\n" for x in v) + ind + "]"
        if isinstance(v, dict):
            return "{\n" + "".join(f"{ind}  {k}: {render(x, ind + '  ')}\n" for k, x in v.items()) + ind + "}"
        s = str(v)
        # The official chart's << raw >> values (e.g. << $RENTAL_USER >>).
        if s.startswith("<<") and s.endswith(">>"):
            return s[2:-2].strip()
        # Sizes (18Gi) stay unquoted, as nats-server wants them.
        if (s[:-2].isdigit() and s[-2:] in ("Ki", "Mi", "Gi", "Ti")) or s[:-1].replace(".", "").isdigit():
            return s
        return json.dumps(s)

    return "".join(f"{k}: {render(v)}\n" for k, v in conf.items()), dropped


def nats_pods(cluster, values, image, datadir):
    replicas = values.get("config", {}).get("cluster", {}).get("replicas", 1)
    conf, dropped = nats_conf(values, replicas)
    if dropped:
        log(f"nats: not passed to nats-server 2.9.10 (unknown there): {', '.join(dropped)}")
    cluster.objects.by_kind.setdefault("ConfigMap", []).append(
        {"kind": "ConfigMap", "metadata": {"name": "nats-config"}, "data": {"nats.conf": conf}})
    store = values.get("config", {}).get("jetstream", {}).get("fileStore", {}).get("dir", "/data")
    # What the official chart's StatefulSet sets on the container (probes on
    # the monitor port's /healthz, the config file, the data PVC).
    tpl = {
        "metadata": {"labels": {"app.kubernetes.io/name": "nats"}},
        "spec": {
            "terminationGracePeriodSeconds": 60,
            "containers": [{
                "name": "nats",
                "image": image,
                "command": ["nats-server", "--config", "/etc/nats-config/nats.conf"],
                "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
                + [dict(name=k, **v) for k, v in ((values.get("container") or {}).get("env") or {}).items()],
                "ports": [{"name": "nats", "containerPort": 4222}, {"name": "cluster", "containerPort": 6222},
                          {"name": "monitor", "containerPort": 8222}],
                "startupProbe": {"httpGet": {"path": "/healthz", "port": 8222}, "periodSeconds": 10,
                                 "timeoutSeconds": 5, "failureThreshold": 90},
                "readinessProbe": {"httpGet": {"path": "/healthz?js-server-only=true", "port": 8222},
                                   "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3},
                "livenessProbe": {"httpGet": {"path": "/healthz?js-enabled-only=true", "port": 8222},
                                  "periodSeconds": 30, "timeoutSeconds": 5, "failureThreshold": 3},
                "volumeMounts": [{"name": "config", "mountPath": "/etc/nats-config"},
                                 {"name": "data", "mountPath": store}],
            }],
            "volumes": [{"name": "config", "configMap": {"name": "nats-config"}}],
        },
    }
    pods = []
    for i in range(replicas):
        name = f"nats-{i}"
        claim = os.path.join(datadir, f"data-{name}")
        os.makedirs(claim, exist_ok=True)
        aliases = [f"{name}.nats-headless", f"{name}.nats-headless.nats.svc.cluster.local",
                   "nats", "nats.nats", "nats.nats.svc", "nats.nats.svc.cluster.local"]
        p = kube.Pod(cluster, name, "nats", tpl, aliases, claims={"data": claim})
        p.create()
        pods.append(p)
    return pods


# --- gRPC clients (stubs generated from proto/ at run time) ----------------------


def load_stubs(repo, outdir):
    os.makedirs(outdir, exist_ok=True)
    from grpc_tools import protoc
    gapi = "/usr/share/gocode/src/github.com/gogo/googleapis"
    rc = protoc.main(["protoc", f"-I{repo}/proto", f"-I{gapi}", "-I/usr/include", f"--python_out={outdir}",
                      f"--grpc_python_out={outdir}", "rentmesh/common/v1/common.proto",
                      "rentmesh/rental/v1/rental.proto", "google/api/annotations.proto", "google/api/http.proto"])
    if rc != 0:
        raise RuntimeError("protoc failed")
    sys.path.insert(0, outdir)
    from rentmesh.rental.v1 import rental_pb2, rental_pb2_grpc
    from rentmesh.common.v1 import common_pb2
    rental_pb2.Money = common_pb2.Money
    return rental_pb2, rental_pb2_grpc


RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED,
             grpc.StatusCode.ABORTED, grpc.StatusCode.CANCELLED, grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL}


# --- server reflection (raw wire format; grpc.reflection.v1alpha as gRPC 1.51 serves it)


def _varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def _ld(num, payload):
    return _varint((num << 3) | 2) + _varint(len(payload)) + payload


def _fields(buf):
    i = 0
    while i < len(buf):
        tag, shift = 0, 0
        while True:
            b = buf[i]; i += 1
            tag |= (b & 0x7F) << shift; shift += 7
            if not b & 0x80:
                break
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            while buf[i] & 0x80:
                i += 1
            i += 1
            yield num, None
        elif wt == 2:
            ln, shift = 0, 0
            while True:
                b = buf[i]; i += 1
                ln |= (b & 0x7F) << shift; shift += 7
                if not b & 0x80:
                    break
            yield num, buf[i:i + ln]
            i += ln
        else:
            raise ValueError(f"wire type {wt}")


def _reflect(target, request):
    ch = grpc.insecure_channel(target)
    try:
        for name in ("grpc.reflection.v1alpha", "grpc.reflection.v1"):
            fn = ch.stream_stream(f"/{name}.ServerReflection/ServerReflectionInfo")
            try:
                return list(fn(iter([request]), timeout=5))
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.UNIMPLEMENTED:
                    raise
        raise RuntimeError("no reflection service")
    finally:
        ch.close()


def reflection_list(target):
    names = []
    for resp in _reflect(target, _ld(7, b"")):
        for num, v in _fields(resp):
            if num == 6:  # list_services_response
                for n2, sv in _fields(v):
                    if n2 == 1:
                        names += [x.decode() for n3, x in _fields(sv) if n3 == 1]
    return names


def reflection_methods(target, service):
    from google.protobuf import descriptor_pb2
    methods = []
    for resp in _reflect(target, _ld(4, service.encode())):
        for num, v in _fields(resp):
            if num == 4:  # file_descriptor_response
                for n2, fdp in _fields(v):
                    f = descriptor_pb2.FileDescriptorProto.FromString(fdp)
                    for s in f.service:
                        if f"{f.package}.{s.name}" == service:
                            methods += [m.name for m in s.method]
    return methods


class RentalClient:
    """Calls rental through the ready endpoints of its Service (what a
    ClusterIP would pick), retrying retryable codes with the same request."""

    def __init__(self, cluster, service, pb, pbg, token=""):
        self.c, self.svc, self.pb, self.pbg = cluster, service, pb, pbg
        # The services verify their callers (no mesh): a librarian's token.
        self.md = [("authorization", f"Bearer {token}")] if token else []
        self.channels = {}
        self.lock = threading.Lock()

    def stub(self, ep):
        with self.lock:
            if ep not in self.channels:
                ch = grpc.insecure_channel(ep, options=[("grpc.enable_retries", 0),
                                                        ("grpc.initial_reconnect_backoff_ms", 200),
                                                        ("grpc.max_reconnect_backoff_ms", 1000)])
                self.channels[ep] = self.pbg.RentalServiceStub(ch)
            return self.channels[ep]

    def call(self, method, req, attempts=12, timeout=6.0, budget=60.0):
        """Returns (response, attempts used); raises the last error."""
        last = None
        end = time.time() + budget
        for i in range(attempts):
            eps = self.c.endpoints(self.svc, 50051)
            if not eps:
                time.sleep(0.5)
                continue
            ep = random.choice(eps)
            try:
                return getattr(self.stub(ep), method)(req, timeout=timeout, metadata=self.md), i + 1
            except grpc.RpcError as e:
                last = e
                if e.code() not in RETRYABLE or time.time() > end:
                    raise
                time.sleep(min(2.0, 0.2 * (2 ** i)) * random.uniform(0.5, 1.0))
        raise last or RuntimeError("no ready endpoints")


class Load:
    """Light rent load: RentBook with a request_id per operation."""

    def __init__(self, client, books, acked, rate=4.0, workers=2):
        self.client, self.books, self.rate, self.workers = client, books, rate, workers
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.ops = self.ok = self.first_try = self.failed = self.renewed = 0
        self.renew_reasons = []
        self.acked = acked  # rental_id -> (book_id, status), shared by every load of the run
        self.errors = []
        self.threads = []

    def _worker(self, wid):
        pb = self.client.pb
        n = 0
        period = self.workers / self.rate
        while not self.stop.is_set():
            t0 = time.time()
            n += 1
            book = random.choice(self.books)
            try:
                for renew in range(4):
                    rid = f"ct-{self.client.c.run_id}-{wid}-{n}-{random.randrange(1 << 30)}"
                    req = pb.RentBookRequest(customer_id=f"cust-{wid}-{n % 7}", book_id=book, days=3, request_id=rid)
                    try:
                        r, tries = self.client.call("RentBook", req)
                        break
                    except grpc.RpcError as e:
                        # The API's word: "abandoned ... nothing was charged. Rent
                        # again with a new request_id".
                        if renew == 3 or e.code() != grpc.StatusCode.FAILED_PRECONDITION or "abandoned" not in (e.details() or ""):
                            raise
                        with self.lock:
                            self.renewed += 1
                            self.renew_reasons.append(e.details())
                with self.lock:
                    self.ops += 1
                    self.ok += 1
                    self.first_try += tries == 1 and renew == 0
                    self.acked[r.rental_id] = (book, r.status)
            except Exception as e:
                with self.lock:
                    self.ops += 1
                    self.failed += 1
                    self.errors.append(str(getattr(e, "code", lambda: e)()) + " " + str(getattr(e, "details", lambda: "")()))
            self.stop.wait(max(0.0, period - (time.time() - t0)))

    def start(self):
        for w in range(self.workers):
            t = threading.Thread(target=self._worker, args=(w,), daemon=True)
            t.start()
            self.threads.append(t)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=120)
        return self

    def summary(self):
        ratio = self.ok / self.ops if self.ops else 0.0
        return (f"{self.ok}/{self.ops} succeeded after retries ({ratio:.2%}), {self.first_try} on the first try, "
                f"{self.failed} failed" + (f" (e.g. {self.errors[:3]})" if self.errors else "")
                + (f"; {self.renewed} attempts abandoned by rental and rented again with a new request_id"
                   f" (e.g. {self.renew_reasons[0][:160]!r})" if self.renewed else ""))


class RestLoad(Load):
    """The same rent load through the REST gateway with a customer JWT (gateway ->
    rental -> payment), each followed by a read of the customer's page (view)."""

    def __init__(self, cluster, gateway, token, customer, books, acked, rate=2.0, workers=1):
        super().__init__(None, books, acked, rate, workers)
        self.c, self.gw, self.token, self.customer = cluster, gateway, token, customer

    def _http(self, method, path, body=None, attempts=12, budget=60.0):
        import urllib.error
        import urllib.request
        end = time.time() + budget
        last = None
        for i in range(attempts):
            eps = self.c.endpoints(self.gw, 8080)
            if not eps:
                time.sleep(0.5)
                continue
            req = urllib.request.Request(f"http://{random.choice(eps)}{path}", method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": f"Bearer {self.token}",
                                                  "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=8) as r:
                    return json.load(r), i + 1
            except urllib.error.HTTPError as e:
                last = f"HTTP {e.code} {e.read()[:200]!r}"
                if e.code not in (429, 500, 502, 503, 504) or time.time() > end:
                    raise RuntimeError(last)
            except (OSError, ValueError) as e:  # refused, reset, timed out
                last = repr(e)
                if time.time() > end:
                    raise RuntimeError(last)
            time.sleep(min(2.0, 0.2 * (2 ** i)) * random.uniform(0.5, 1.0))
        raise RuntimeError(last or "no ready gateway endpoints")

    def _worker(self, wid):
        n = 0
        period = self.workers / self.rate
        while not self.stop.is_set():
            t0 = time.time()
            n += 1
            book = random.choice(self.books)
            try:
                for renew in range(4):
                    rid = f"ctr-{self.c.run_id}-{wid}-{n}-{random.randrange(1 << 30)}"
                    try:
                        r, tries = self._http("POST", "/v1/rentals", {"customerId": self.customer, "bookId": book,
                                                                      "days": 3, "requestId": rid})
                        break
                    except RuntimeError as e:
                        if renew == 3 or "abandoned" not in str(e) or '"code":9' not in str(e):
                            raise
                        with self.lock:
                            self.renewed += 1
                            self.renew_reasons.append(str(e))
                tries += renew
                _, tries2 = self._http("GET", f"/v1/customers/{self.customer}/rentals?pageSize=5")
                with self.lock:
                    self.ops += 1
                    self.ok += 1
                    self.first_try += tries == 1 and tries2 == 1
                    self.acked[r["rentalId"]] = (book, None)
            except Exception as e:
                with self.lock:
                    self.ops += 1
                    self.failed += 1
                    self.errors.append(str(e))
            self.stop.wait(max(0.0, period - (time.time() - t0)))


def audit(client, books, acked, copies):
    """Every acknowledged rental is still there; per book, copies add up:
    copies - available == rentals in RENTED (asked of every rental replica,
    each of which must agree once caught up)."""
    pb = client.pb
    deadline = time.time() + 60
    while True:
        problems = []
        for rid, (book, _) in acked.items():
            try:
                r, _ = client.call("GetRental", pb.GetRentalRequest(rental_id=rid))
                if r.book_id != book:
                    problems.append(f"rental {rid}: book {r.book_id} != {book}")
                acked[rid] = (book, r.status)
            except grpc.RpcError as e:
                problems.append(f"rental {rid}: {e.code()} {e.details()}")
        rented = {b: 0 for b in books}
        for _, (b, st) in acked.items():
            if st == pb.RENTAL_STATUS_RENTED:
                rented[b] += 1
        for ep in client.c.endpoints(client.svc, 50051):
            for b in books:
                try:
                    bk = client.stub(ep).GetBook(pb.GetBookRequest(book_id=b), timeout=5)
                    if bk.copies != copies or bk.copies - bk.copies_available != rented[b]:
                        problems.append(f"{ep} book {b}: copies {bk.copies}, available {bk.copies_available}, "
                                        f"acknowledged rentals {rented[b]}")
                except grpc.RpcError as e:
                    problems.append(f"{ep} book {b}: {e.code()}")
        if not problems:
            return f"{len(acked)} acknowledged rentals all present; copies add up on every rental replica for {len(books)} books"
        if time.time() > deadline:
            raise RuntimeError(f"audit: {len(problems)} problems, e.g. {problems[:5]}")
        time.sleep(2)


# --- main -------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rendered", required=True)
    ap.add_argument("--namespace", default="rentmesh")
    ap.add_argument("--release", default="rentmesh")
    ap.add_argument("--nats-values", required=True)
    ap.add_argument("--nats-image", default="localhost/rentmesh-nats:local")
    ap.add_argument("--image", default="localhost/rentmesh:local")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--jwt-dir", required=True)
    ap.add_argument("--rentctl", default="")
    ap.add_argument("--extra-objects", default="", help="YAML applied next to the chart (the NATS credential Secrets)")
    ap.add_argument("--skip", default="", help="comma-separated checks to skip: liveness,chaos,rolling")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))

    docs = list(yaml.safe_load_all(open(a.rendered)))
    if a.extra_objects:
        docs += list(yaml.safe_load_all(open(a.extra_objects)))
    objects = kube.Objects(docs, a.namespace)
    run_id = f"{os.getpid()}"
    cluster = kube.Cluster(objects, os.path.join(a.workdir, "run"), run_id)
    rel = a.release
    t_start = time.time()
    try:
        cluster.start()
        nats = nats_pods(cluster, yaml.safe_load(open(a.nats_values)), a.nats_image, os.path.join(a.workdir, "run", "pvc"))

        @check("NATS: 3-node JetStream cluster from helm/nats-values.yaml")
        def c_nats():
            if not cluster.wait_ready(nats, 180):
                raise RuntimeError("NATS pods not ready:\n" + "\n".join(p.logs(10) for p in nats))
            # Every server sees the others as routes, and JetStream has a meta leader.
            deadline = time.time() + 60
            while True:
                info = []
                for p in nats:
                    import urllib.request
                    with urllib.request.urlopen(f"http://{p.host(8222)}/jsz", timeout=5) as r:
                        jsz = json.load(r)
                    with urllib.request.urlopen(f"http://{p.host(8222)}/routez", timeout=5) as r:
                        routes = json.load(r)["num_routes"]
                    info.append((p.name, routes, (jsz.get("meta_cluster") or {}).get("leader", "")))
                if all(r >= len(nats) - 1 and ldr for _, r, ldr in info):
                    figure("nats_ready_seconds", round(max(p.ready_at for p in nats) - t_start, 1))
                    return f"routes and meta leader: {info}"
                if time.time() > deadline:
                    raise RuntimeError(f"cluster not formed: {info}")
                time.sleep(2)

        if not c_nats():
            return finish(cluster)

        t_apps = time.time()
        deps = objects.workloads()
        pods = []
        for d in deps:
            pods += cluster.apply_deployment(d)

        @check("every Deployment of the chart ready (startup and readiness probes as rendered)")
        def c_ready():
            if not cluster.wait_ready(pods, 600):
                bad = [p for p in pods if not p.ready]
                raise RuntimeError("not ready: " + ", ".join(p.name for p in bad) + "\n" + "\n".join(
                    f"--- {p.name}\n{p.logs(15)}" for p in bad[:3]))
            figure("start_to_ready_seconds (all Deployments, after NATS)", round(max(p.ready_at for p in pods) - t_apps, 1))
            figure("start_to_ready_seconds (NATS and every Deployment, from nothing)", round(max(p.ready_at for p in pods) - t_start, 1))
            per = sorted(round(p.ready_at - p.created_at, 1) for p in pods)
            figure("pod_create_to_ready_seconds (min/median/max)", f"{per[0]}/{per[len(per) // 2]}/{per[-1]}")
            # Streams: 3 replicas, as the services create them.
            import urllib.request
            with urllib.request.urlopen(f"http://{nats[0].host(8222)}/jsz?streams=true&config=true", timeout=5) as r:
                jsz = json.load(r)
            streams = {}
            for acc in jsz.get("account_details", []):
                for s in acc.get("stream_detail", []):
                    streams[s["name"]] = s["config"]["num_replicas"]
            if not streams or any(n != 3 for n in streams.values()):
                raise RuntimeError(f"stream replicas: {streams}")
            return f"{len(pods)} pods of {len(deps)} Deployments; streams {streams}"

        if not c_ready():
            return finish(cluster)

        @check("the security context as rendered (user, read-only root, no capabilities)")
        def c_secctx():
            out = []
            for p in pods:
                i = json.loads(pm("inspect", p.name).stdout)[0]
                hc = i["HostConfig"]
                user = i["Config"]["User"]
                if not hc.get("ReadonlyRootfs") or not user.startswith("10001"):
                    raise RuntimeError(f"{p.name}: user {user} read-only {hc.get('ReadonlyRootfs')}")
                if i.get("EffectiveCaps"):
                    raise RuntimeError(f"{p.name}: capabilities {i['EffectiveCaps']}")
                out.append(p.name)
            r = pm("exec", pods[0].name, "sh", "-c", "id -u; touch /probe-write 2>&1 || true", check=False)
            if "Read-only file system" not in r.stdout + r.stderr:
                raise RuntimeError(f"root filesystem writable? {r.stdout} {r.stderr}")
            return f"{len(out)} containers: uid 10001, read-only root ({r.stdout.split()[0]}), no capabilities"

        c_secctx()

        @check("helm test pods run and pass")
        def c_helm_test():
            hooks = [o for o in objects.hooks("test") if o["kind"] == "Pod"]
            hooks.sort(key=lambda o: int((o["metadata"].get("annotations") or {}).get("helm.sh/hook-weight", "0")))
            if not hooks:
                raise RuntimeError("no test hooks rendered")
            done = []
            for h in hooks:
                p = kube.Pod(cluster, h["metadata"]["name"], "helm-test", h, [])
                p.create()
                code = p.wait_exit(120)
                out = p.logs(60)
                log(f"{p.name} exit {code}:\n{out.strip()}")
                if code != 0:
                    raise RuntimeError(f"{p.name} exited {code}")
                done.append(p.name)
                p.delete(grace=0)
            return ", ".join(done)

        c_helm_test()

        gw_http = cluster.endpoints(f"{rel}-gateway", 8080)[0]

        @check("README curl walkthrough through the gateway container with a JWT")
        def c_curl():
            jwt = os.path.join(a.repo, "tools/dev/jwt.sh")
            env = dict(os.environ, JWT_DIR=a.jwt_dir)
            lib = subprocess.run(["bash", jwt, "librarian"], env=env, capture_output=True, text=True, check=True).stdout.strip()
            cust = subprocess.run(["bash", jwt, "customer", "alice"], env=env, capture_output=True, text=True, check=True).stdout.strip()
            base = f"http://{gw_http}"

            def curl(token, *args):
                cmd = ["curl", "-s", "-w", "\n%{http_code}", "--max-time", "10"]
                if token:
                    cmd += ["-H", f"Authorization: Bearer {token}"]
                r = subprocess.run(cmd + list(args), capture_output=True, text=True)
                body, _, code = r.stdout.rpartition("\n")
                return int(code or 0), body

            code, body = curl(None, "-X", "POST", f"{base}/v1/rentals", "-d", '{"customerId":"alice","bookId":"dune","days":3}')
            if code != 401:
                raise RuntimeError(f"no token: {code} {body}")
            code, body = curl(lib, "-X", "POST", f"{base}/v1/books",
                              "-d", '{"bookId":"dune","title":"Dune","copies":2,"dailyFee":{"currency":"KRW","amountMinor":"1500"}}')
            if code not in (200, 201):
                raise RuntimeError(f"add book: {code} {body}")
            code, body = curl(cust, "-X", "POST", f"{base}/v1/rentals", "-d", '{"customerId":"alice","bookId":"dune","days":3}')
            if code not in (200, 201):
                raise RuntimeError(f"rent: {code} {body}")
            rental = json.loads(body)
            rid = rental.get("rentalId") or rental.get("rental_id")
            code, body2 = curl(cust, f"{base}/v1/rentals/{rid}")
            if code != 200 or rid not in body2:
                raise RuntimeError(f"get rental: {code} {body2}")
            return f"401 without token; book added; rental {rid} status {rental.get('status')}"

        c_curl()

        @check("gRPC with reflection through every container's published port")
        def c_grpc():
            names = []
            for p in pods:
                port = p.ctr["ports"][0]["containerPort"]
                svc = p.owner.replace(f"{rel}-", "")
                listed = reflection_list(p.host(port))
                if "grpc.health.v1.Health" not in listed:
                    raise RuntimeError(f"{p.name}: reflection lists {listed}")
                want = {"rental": "rentmesh.rental.v1.RentalService", "payment": "rentmesh.payment.v1.PaymentService",
                        "returns": "rentmesh.returns.v1.ReturnService", "view": "rentmesh.view.v1.ViewService",
                        "notification": "rentmesh.notification.v1.NotificationService"}.get(svc)
                if want:
                    if want not in listed:
                        raise RuntimeError(f"{p.name}: {want} not listed: {listed}")
                    methods = reflection_methods(p.host(port), want)
                    if not methods:
                        raise RuntimeError(f"{p.name}: no methods described for {want}")
                    names.append(f"{svc}: {len(methods)} methods")
                if kube.grpc_health(p.host(port), "", 5) != 1:
                    raise RuntimeError(f"{p.name}: health not SERVING")
            return f"{len(pods)} containers list their services by reflection and serve health; " + ", ".join(sorted(set(names)))

        c_grpc()

        pb, pbg = load_stubs(a.repo, os.path.join(a.workdir, "run", "py"))
        lib_token = subprocess.run(["bash", os.path.join(a.repo, "tools/dev/jwt.sh"), "librarian"],
                                   env=dict(os.environ, JWT_DIR=a.jwt_dir), capture_output=True,
                                   text=True, check=True).stdout.strip()
        client = RentalClient(cluster, f"{rel}-rental", pb, pbg, lib_token)
        copies = 100000
        books = [f"ct-book-{i}" for i in range(4)]
        acked = {}
        cust_token = subprocess.run(["bash", os.path.join(a.repo, "tools/dev/jwt.sh"), "customer", "ct-rest"],
                                    env=dict(os.environ, JWT_DIR=a.jwt_dir), capture_output=True, text=True,
                                    check=True).stdout.strip()
        for b in books:
            try:
                client.call("AddBook", pb.AddBookRequest(book_id=b, title=b, copies=copies,
                                                    daily_fee=pb.Money(currency="KRW", amount_minor=100)))
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.ALREADY_EXISTS:
                    raise

        if "liveness" not in skip:
            @check("a container failing liveness is restarted (frozen, probes time out)")
            def c_liveness():
                victim = cluster.deployment_pods(f"{rel}-view")[0]
                before = victim.restarts
                lp = victim.ctr["livenessProbe"]
                pm("pause", victim.name)
                t0 = time.time()
                limit = lp["periodSeconds"] * (lp["failureThreshold"] + 1) + lp["timeoutSeconds"] * lp["failureThreshold"] + 60
                while victim.restarts == before and time.time() - t0 < limit:
                    time.sleep(1)
                if victim.restarts == before:
                    pm("unpause", victim.name, check=False)
                    raise RuntimeError("not restarted")
                t_restart = time.time() - t0
                if not cluster.wait_ready([victim], 300):
                    raise RuntimeError("not ready after restart")
                return f"{victim.name} restarted {t_restart:.0f}s after it froze, ready again after {time.time() - t0:.0f}s"

            c_liveness()

        if "chaos" not in skip:
            @check("kill a service container and a NATS container under light load: they come back, nothing lost")
            def c_chaos():
                load = Load(client, books, acked)
                load.start()
                time.sleep(10)
                victim = cluster.deployment_pods(f"{rel}-rental")[0]
                r0 = victim.restarts
                pm("kill", victim.name)
                t0 = time.time()
                while victim.restarts == r0 and time.time() - t0 < 60:
                    time.sleep(0.5)
                if not cluster.wait_ready([victim], 300):
                    raise RuntimeError(f"{victim.name} did not come back:\n{victim.logs()}")
                back_svc = time.time() - t0
                time.sleep(5)
                nv = nats[1]
                n0 = nv.restarts
                pm("kill", nv.name)
                t1 = time.time()
                while nv.restarts == n0 and time.time() - t1 < 60:
                    time.sleep(0.5)
                if not cluster.wait_ready([nv], 300):
                    raise RuntimeError(f"{nv.name} did not come back:\n{nv.logs()}")
                back_nats = time.time() - t1
                time.sleep(10)
                load.finish()
                figure("chaos_load", load.summary())
                if load.failed:
                    raise RuntimeError(load.summary())
                a_ = audit(client, books, load.acked, copies)
                return f"{victim.name} ready again in {back_svc:.0f}s, {nv.name} in {back_nats:.0f}s; {load.summary()}; {a_}"

            c_chaos()

        if "rolling" not in skip:
            @check("rolling replacement of every Deployment under load: every operation succeeds after retries")
            def c_rolling():
                load = Load(client, books, acked)
                load.start()
                rest = RestLoad(cluster, f"{rel}-gateway", cust_token, "ct-rest", books, acked)
                rest.start()
                n_del = len(cluster.deletions)
                t0 = time.time()
                for d in objects.workloads():
                    log(f"rolling {d['metadata']['name']}")
                    cluster.rolling_replace(d)
                load.finish()
                rest.finish()
                took = time.time() - t0
                figure("rolling_update_seconds (all 5 Deployments, one pod at a time)", round(took))
                figure("rolling_update_success (gRPC RentBook to rental)", load.summary())
                figure("rolling_update_success (REST rent + my-page read through the gateway)", rest.summary())
                if load.failed or not load.ops or rest.failed or not rest.ops:
                    raise RuntimeError(f"gRPC: {load.summary()}; REST: {rest.summary()}")
                a_ = audit(client, books, load.acked, copies)
                # Each replaced pod: preStop sleep, then SIGTERM and a clean exit
                # (0) well inside the grace period, not a SIGKILL (137).
                dels = cluster.deletions[n_del:]
                pre = min(int(d["spec"]["template"]["spec"]["containers"][0]["lifecycle"]["preStop"]["exec"]["command"][-1])
                          for d in objects.workloads())
                bad = [x for x in dels if x[2] != "0" or x[1] < pre or x[1] >= x[3]]
                if bad or len(dels) != sum(d["spec"].get("replicas", 1) for d in objects.workloads()):
                    raise RuntimeError(f"deletions: {dels}")
                secs = sorted(round(x[1], 1) for x in dels)
                figure("pod_delete_seconds (preStop + SIGTERM drain; min/max)", f"{secs[0]}/{secs[-1]}")
                return f"gRPC: {load.summary()}; REST: {rest.summary()}; {len(dels)} pods left with exit 0 after preStop {pre}s + SIGTERM in {secs[0]}-{secs[-1]}s; {a_}"

            c_rolling()
    except Exception as e:
        RESULTS.append(("runner", False, repr(e)))
        log(f"runner error: {e!r}")
    return finish(cluster)


def finish(cluster):
    log("cleaning up containers, network and volumes")
    cluster.cleanup()
    print()
    for name, ok, detail in RESULTS:
        print(f"{'PASS' if ok else 'FAIL'}  {name}" + (f"\n      {detail}" if detail else ""))
    print()
    for k, v in FIGURES:
        print(f"figure: {k}: {v}")
    passed = sum(1 for _, ok, _ in RESULTS if ok)
    failed = len(RESULTS) - passed
    print(f"containers checks: {passed} passed, {failed} failed")
    return 0 if failed == 0 and passed else 1


if __name__ == "__main__":
    sys.exit(main())
