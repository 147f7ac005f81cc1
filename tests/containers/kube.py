"""A small runner of rendered Kubernetes objects on podman.

It runs what `helm template` produced, as Kubernetes would, for the fields the
rentmesh chart uses: Deployments (replicas, RollingUpdate with maxSurge /
maxUnavailable, minReadySeconds) and pods with their command, args, env
(values and secretKeyRef / configMapKeyRef), ConfigMap / Secret / emptyDir /
PVC volumes, securityContext (user, group, fsGroup, runAsNonRoot, read-only
root filesystem, dropped capabilities, no privilege escalation), resource
limits, startup / readiness / liveness probes (grpc, httpGet, tcpSocket, exec)
at their periods, timeouts and thresholds, restart on exit or failed liveness
(restartPolicy Always, with back-off), and deletion with the preStop hook,
SIGTERM and the termination grace period. Services become network aliases
(<name>, <name>.<ns>, <name>.<ns>.svc, <name>.<ns>.svc.cluster.local) on every
pod their selector matches. Fields it does not know fail loudly, so a chart
change that this runner cannot honour is noticed.

Only 127.0.0.1 (published ports) and the network this runner creates are used.
"""

import base64
import hashlib
import json
import os
import random
import shutil
import socket
import string
import subprocess
import threading
import time
import urllib.request

import grpc

PM_BASE = ["podman", "--root", os.environ.get("RM_PM_ROOT", ""), "--runroot", os.environ.get("RM_PM_RUNROOT", "")]


def log(msg):
    print(f"[kube {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def pm(*args, check=True, timeout=120, capture=True):
    r = subprocess.run(PM_BASE + list(args), capture_output=capture, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args[:3])}...: rc {r.returncode}: {(r.stderr or '').strip()[-800:]}")
    return r


def parse_quantity(q):
    """Kubernetes quantity -> float (bytes for memory, cores for cpu)."""
    q = str(q)
    units = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4, "k": 1e3, "M": 1e6, "G": 1e9, "m": 1e-3}
    for u, f in units.items():
        if q.endswith(u):
            return float(q[: -len(u)]) * f
    return float(q)


# --- gRPC health, raw bytes (no generated code needed) -----------------------


def _health_request(service):
    b = service.encode()
    return (b"\x0a" + bytes([len(b)]) + b) if b else b""


def grpc_health(target, service, timeout):
    """Returns the grpc.health.v1 status number (1 = SERVING) or raises."""
    ch = grpc.insecure_channel(target, options=[("grpc.enable_retries", 0)])
    try:
        fn = ch.unary_unary("/grpc.health.v1.Health/Check")
        resp = fn(_health_request(service), timeout=timeout)
        # HealthCheckResponse{status = 1 (varint)}; empty = UNKNOWN.
        return resp[1] if len(resp) >= 2 and resp[0] == 0x08 else 0
    finally:
        ch.close()


# --- objects -------------------------------------------------------------------


class Objects:
    def __init__(self, docs, namespace):
        self.ns = namespace
        self.by_kind = {}
        for d in docs:
            if d:
                self.by_kind.setdefault(d["kind"], []).append(d)

    def kind(self, k):
        return self.by_kind.get(k, [])

    def get(self, kind, name):
        for o in self.kind(kind):
            if o["metadata"]["name"] == name:
                return o
        raise KeyError(f"{kind}/{name} is not in the rendered objects")

    def secret_data(self, name):
        s = self.get("Secret", name)
        out = {k: base64.b64decode(v) for k, v in (s.get("data") or {}).items()}
        out.update({k: v.encode() for k, v in (s.get("stringData") or {}).items()})
        return out

    def configmap_data(self, name):
        c = self.get("ConfigMap", name)
        return {k: v.encode() for k, v in (c.get("data") or {}).items()}

    def hooks(self, hook):
        return [o for o in sum(self.by_kind.values(), []) if hook in (o["metadata"].get("annotations") or {}).get("helm.sh/hook", "")]

    def workloads(self):
        return [o for o in self.kind("Deployment") + self.kind("StatefulSet") if not o["metadata"].get("annotations", {}).get("helm.sh/hook")]


# --- pods ----------------------------------------------------------------------

KNOWN_CONTAINER_KEYS = {
    "name", "image", "imagePullPolicy", "command", "args", "ports", "env", "startupProbe", "readinessProbe",
    "livenessProbe", "lifecycle", "resources", "securityContext", "volumeMounts",
}
KNOWN_POD_KEYS = {
    "serviceAccountName", "automountServiceAccountToken", "enableServiceLinks", "terminationGracePeriodSeconds",
    "securityContext", "containers", "volumes", "restartPolicy", "topologySpreadConstraints", "imagePullSecrets",
    "nodeSelector", "tolerations", "affinity",
}


class Pod:
    """One pod = one container (the chart's pods have one), supervised like a kubelet would."""

    def __init__(self, cluster, name, owner, template, aliases, claims=None):
        self.c = cluster
        self.name = name
        self.owner = owner
        self.meta = template.get("metadata", {})
        self.spec = template["spec"]
        self.aliases = aliases
        self.claims = claims or {}
        unknown = set(self.spec) - KNOWN_POD_KEYS
        if unknown:
            raise ValueError(f"pod {name}: fields this runner does not honour: {sorted(unknown)}")
        if len(self.spec["containers"]) != 1:
            raise ValueError(f"pod {name}: exactly one container supported")
        self.ctr = self.spec["containers"][0]
        unknown = set(self.ctr) - KNOWN_CONTAINER_KEYS
        if unknown:
            raise ValueError(f"pod {name}: container fields this runner does not honour: {sorted(unknown)}")
        self.restart_policy = self.spec.get("restartPolicy", "Always")
        self.ports = {}  # containerPort -> host port on 127.0.0.1
        self.started = False
        self.ready = False
        self.terminating = False
        self.restarts = 0
        self.created_at = time.time()
        self.ready_at = None
        self.exit_code = None
        self.state = "created"
        self._stop = threading.Event()
        self._thread = None
        self.events = []

    # -- creation
    def _volume_dirs(self):
        base = os.path.join(self.c.workdir, "pods", self.name)
        os.makedirs(base, exist_ok=True)
        return base

    def run_args(self):
        psc = self.spec.get("securityContext") or {}
        csc = self.ctr.get("securityContext") or {}
        uid = csc.get("runAsUser", psc.get("runAsUser"))
        gid = csc.get("runAsGroup", psc.get("runAsGroup"))
        fs_group = psc.get("fsGroup")
        non_root = csc.get("runAsNonRoot", psc.get("runAsNonRoot", False))
        if non_root and not uid:
            # The kubelet refuses to start it unless the image's user is numeric non-root.
            img_user = pm("image", "inspect", "--format", "{{.Config.User}}", self.ctr["image"]).stdout.strip()
            if not img_user or img_user.split(":")[0] in ("0", "root"):
                raise ValueError(f"pod {self.name}: runAsNonRoot but the image runs as root")
        args = ["run", "-d", "--name", self.name, "--hostname", self.name[:63], "--pull", "never",
                "--label", f"rentmesh.run={self.c.run_id}", "--label", f"rentmesh.owner={self.owner}",
                "--network", self.c.network, "--network-alias", self.name]
        for a in self.aliases:
            args += ["--network-alias", a]
        if uid is not None:
            args += ["--user", f"{uid}:{gid if gid is not None else uid}"]
        if fs_group is not None:
            args += ["--group-add", str(fs_group)]
        if csc.get("readOnlyRootFilesystem"):
            args += ["--read-only", "--read-only-tmpfs=false"]
        if csc.get("allowPrivilegeEscalation") is False:
            args += ["--security-opt", "no-new-privileges"]
        if csc.get("privileged"):
            args += ["--privileged"]
        caps = csc.get("capabilities") or {}
        for cap in caps.get("drop", []):
            args += ["--cap-drop", cap]
        for cap in caps.get("add", []):
            args += ["--cap-add", cap]
        seccomp = (csc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type", "RuntimeDefault")
        if seccomp == "Unconfined":
            args += ["--security-opt", "seccomp=unconfined"]
        limits = (self.ctr.get("resources") or {}).get("limits") or {}
        if "memory" in limits:
            args += ["--memory", str(int(parse_quantity(limits["memory"])))]
        if "cpu" in limits and self.c.cpu_limits:
            args += ["--cpus", str(parse_quantity(limits["cpu"]))]
        grace = self.spec.get("terminationGracePeriodSeconds", 30)
        args += ["--stop-timeout", str(grace)]
        # Environment.
        for e in self.ctr.get("env") or []:
            if "value" in e:
                val = str(e["value"])
            else:
                vf = e["valueFrom"]
                if "secretKeyRef" in vf:
                    r = vf["secretKeyRef"]
                    val = self.c.objects.secret_data(r["name"])[r["key"]].decode()
                elif "configMapKeyRef" in vf:
                    r = vf["configMapKeyRef"]
                    val = self.c.objects.configmap_data(r["name"])[r["key"]].decode()
                elif "fieldRef" in vf:
                    fp = vf["fieldRef"]["fieldPath"]
                    val = {"metadata.name": self.name, "metadata.namespace": self.c.objects.ns}[fp]
                else:
                    raise ValueError(f"pod {self.name}: env {e['name']}: unsupported valueFrom {vf}")
            args += ["--env", f"{e['name']}={val}"]
        # Volumes.
        base = self._volume_dirs()
        vols = {v["name"]: v for v in self.spec.get("volumes") or []}
        owner_uid = uid if uid is not None else 0
        owner_gid = fs_group if fs_group is not None else (gid if gid is not None else 0)
        for m in self.ctr.get("volumeMounts") or []:
            if m.get("subPath"):
                raise ValueError(f"pod {self.name}: subPath mounts not supported")
            ro = ":ro" if m.get("readOnly") else ""
            if m["name"] in self.claims:
                args += ["-v", f"{self.claims[m['name']]}:{m['mountPath']}{ro}"]
                continue
            v = vols[m["name"]]
            path = os.path.join(base, m["name"])
            if "emptyDir" in v:
                ed = v["emptyDir"] or {}
                if ed.get("medium") == "Memory":
                    size = int(parse_quantity(ed.get("sizeLimit", "64Mi")))
                    args += ["--tmpfs", f"{m['mountPath']}:rw,size={size},mode=1777"]
                    continue
                os.makedirs(path, exist_ok=True)
                os.chown(path, owner_uid, owner_gid)
                os.chmod(path, 0o2775 if fs_group is not None else 0o777)
                args += ["-v", f"{path}:{m['mountPath']}{ro}"]
            elif "configMap" in v or "secret" in v:
                if "configMap" in v:
                    src, data = v["configMap"], self.c.objects.configmap_data(v["configMap"]["name"])
                else:
                    src, data = v["secret"], self.c.objects.secret_data(v["secret"]["secretName"])
                os.makedirs(path, exist_ok=True)
                items = src.get("items") or [{"key": k, "path": k} for k in data]
                mode = src.get("defaultMode", 0o644)
                for it in items:
                    f = os.path.join(path, it["path"])
                    os.makedirs(os.path.dirname(f), exist_ok=True)
                    with open(f, "wb") as fh:
                        fh.write(data[it["key"]])
                    os.chmod(f, it.get("mode", mode))
                    if fs_group is not None:
                        os.chown(f, 0, fs_group)
                args += ["-v", f"{path}:{m['mountPath']}:ro"]
            else:
                raise ValueError(f"pod {self.name}: volume {m['name']}: unsupported type {sorted(v)}")
        # As the kubelet does for configMap/secret volumes (MakeNestedMountpoints):
        # a mount below another one gets its mount point made in the outer volume.
        mounts = self.ctr.get("volumeMounts") or []
        for outer in mounts:
            ov = vols.get(outer["name"], {})
            if "configMap" not in ov and "secret" not in ov:
                continue
            for inner in mounts:
                mp, op = inner["mountPath"].rstrip("/"), outer["mountPath"].rstrip("/")
                if inner is not outer and mp.startswith(op + "/"):
                    os.makedirs(os.path.join(base, outer["name"], mp[len(op) + 1:]), exist_ok=True)
        # Ports: every containerPort published on 127.0.0.1 (the test's view of the pod IP).
        for p in self.ctr.get("ports") or []:
            hp = self.c.alloc_port()
            self.ports[p["containerPort"]] = hp
            if p.get("name"):
                self.ports[p["name"]] = hp
            args += ["-p", f"127.0.0.1:{hp}:{p['containerPort']}"]
        cmd = self.ctr.get("command")
        if cmd:
            args += ["--entrypoint", json.dumps(cmd)]
        args += [self.ctr["image"]] + [str(a) for a in self.ctr.get("args") or []]
        return args

    def create(self):
        self.last_start = time.time()
        pm(*self.run_args())
        self.state = "running"
        self.c.register(self)
        self._thread = threading.Thread(target=self._supervise, daemon=True, name=self.name)
        self._thread.start()

    def host(self, port):
        return f"127.0.0.1:{self.ports[port]}"

    # -- probes
    def _probe(self, probe):
        timeout = probe.get("timeoutSeconds", 1)
        try:
            if "grpc" in probe:
                g = probe["grpc"]
                return grpc_health(self.host(g["port"]), g.get("service", ""), timeout) == 1
            if "httpGet" in probe:
                h = probe["httpGet"]
                url = f"http://{self.host(h['port'])}{h.get('path', '/')}"
                with urllib.request.urlopen(url, timeout=timeout) as r:
                    return 200 <= r.status < 400
            if "tcpSocket" in probe:
                with socket.create_connection(("127.0.0.1", self.ports[probe["tcpSocket"]["port"]]), timeout=timeout):
                    return True
            if "exec" in probe:
                r = pm("exec", self.name, *probe["exec"]["command"], check=False, timeout=timeout + 5)
                return r.returncode == 0
        except Exception:
            return False
        raise ValueError(f"pod {self.name}: unsupported probe {sorted(probe)}")

    def _event(self, what):
        self.events.append((time.time(), what))
        log(f"{self.name}: {what}")

    def _kill_for_restart(self, reason):
        self._event(f"restarting: {reason}")
        self.restarts += 1
        self.started = self.ready = False
        self.c.restarts += 1
        pre = ((self.ctr.get("lifecycle") or {}).get("preStop") or {}).get("exec")
        grace = self.spec.get("terminationGracePeriodSeconds", 30)
        t0 = time.time()
        if pre and pm("inspect", "--format", "{{.State.Status}}", self.name, check=False).stdout.strip() == "running":
            pm("exec", self.name, *pre["command"], check=False, timeout=grace + 5)
        left = max(1, int(grace - (time.time() - t0)))
        if pm("stop", "-t", str(left), self.name, check=False, timeout=grace + 30).returncode != 0:
            pm("unpause", self.name, check=False)
            pm("kill", self.name, check=False)
        self._start_again()

    def _start_again(self):
        # CrashLoopBackOff: immediately the first time, then 10 s doubling to 5 min.
        n = self.restarts
        delay = 0 if n <= 1 else min(300, 10 * 2 ** (n - 2))
        if delay:
            self._event(f"back-off {delay}s")
            if self._stop.wait(delay):
                return
        self.last_start = time.time()
        pm("start", self.name, check=False)
        self.state = "running"
        self.started = self.ready = False

    def _supervise(self):
        c = self.ctr
        sp, rp, lp = c.get("startupProbe"), c.get("readinessProbe"), c.get("livenessProbe")
        next_t = {"startup": time.time() + (sp or {}).get("initialDelaySeconds", 0),
                  "readiness": 0.0, "liveness": 0.0}
        fails = {"startup": 0, "readiness": 0, "liveness": 0}
        succ = {"readiness": 0}
        while not self._stop.is_set():
            now = time.time()
            st = self.c.states.get(self.name)
            if st and st[0] == "exited" and st[2] > self.last_start and not self.terminating:
                self.exit_code = st[1]
                self.started = self.ready = False
                if self.restart_policy == "Never" or (self.restart_policy == "OnFailure" and st[1] == 0):
                    self.state = "exited"
                    return
                self.restarts += 1
                self.c.restarts += 1
                self._event(f"exited with {st[1]}; restarting (restart {self.restarts})")
                self.c.states.pop(self.name, None)
                self._start_again()
                fails = {k: 0 for k in fails}
                next_t = {"startup": time.time(), "readiness": 0.0, "liveness": 0.0}
                continue
            if not self.started:
                if not sp:
                    self.started = True
                elif now >= next_t["startup"]:
                    next_t["startup"] = now + sp.get("periodSeconds", 10)
                    if self._probe(sp):
                        self.started = True
                        self._event(f"started ({time.time() - self.created_at:.1f}s after creation)")
                        next_t["readiness"] = next_t["liveness"] = now
                    else:
                        fails["startup"] += 1
                        if fails["startup"] >= sp.get("failureThreshold", 3):
                            fails["startup"] = 0
                            self._kill_for_restart("startup probe failed")
                            next_t["startup"] = time.time()
            else:
                if rp and now >= next_t["readiness"]:
                    next_t["readiness"] = now + rp.get("periodSeconds", 10)
                    ok = self._probe(rp)
                    if ok:
                        fails["readiness"] = 0
                        succ["readiness"] += 1
                        if not self.ready and succ["readiness"] >= rp.get("successThreshold", 1):
                            self.ready = True
                            self.ready_at = self.ready_at or time.time()
                            self._event(f"ready ({time.time() - self.created_at:.1f}s after creation)")
                    else:
                        succ["readiness"] = 0
                        fails["readiness"] += 1
                        if self.ready and fails["readiness"] >= rp.get("failureThreshold", 3):
                            self.ready = False
                            self._event("not ready")
                elif not rp and not self.ready:
                    self.ready, self.ready_at = True, self.ready_at or time.time()
                if lp and now >= next_t["liveness"]:
                    next_t["liveness"] = now + lp.get("periodSeconds", 10)
                    if self._probe(lp):
                        fails["liveness"] = 0
                    else:
                        fails["liveness"] += 1
                        if fails["liveness"] >= lp.get("failureThreshold", 3):
                            fails = {k: 0 for k in fails}
                            self._kill_for_restart("liveness probe failed")
                            next_t = {"startup": time.time(), "readiness": 0.0, "liveness": 0.0}
            self._stop.wait(0.25)

    # -- deletion: endpoints drop it, preStop, SIGTERM, grace, SIGKILL
    def delete(self, grace=None):
        self.terminating = True
        self.ready = False
        self._stop.set()
        grace = self.spec.get("terminationGracePeriodSeconds", 30) if grace is None else grace
        t0 = time.time()
        pre = ((self.ctr.get("lifecycle") or {}).get("preStop") or {}).get("exec")
        if pre and grace > 0:
            pm("exec", self.name, *pre["command"], check=False, timeout=grace + 5)
        left = max(0, int(round(grace - (time.time() - t0))))
        r = pm("stop", "-t", str(left), self.name, check=False, timeout=grace + 30)
        code = pm("inspect", "--format", "{{.State.ExitCode}}", self.name, check=False).stdout.strip()
        pm("rm", "-f", self.name, check=False)
        shutil.rmtree(os.path.join(self.c.workdir, "pods", self.name), ignore_errors=True)
        self.c.unregister(self)
        took = time.time() - t0
        self.c.deletions.append((self.name, took, code, grace))
        self._event(f"deleted in {took:.1f}s (grace {grace}s, exit code {code}{'' if r.returncode == 0 else ', stop failed'})")
        return took, code

    def wait_exit(self, timeout):
        end = time.time() + timeout
        while time.time() < end:
            if self.state == "exited":
                return self.exit_code
            time.sleep(0.5)
        return None

    def logs(self, tail=40):
        return pm("logs", "--tail", str(tail), self.name, check=False).stdout + pm(
            "logs", "--tail", str(tail), self.name, check=False).stderr


class Cluster:
    def __init__(self, objects, workdir, run_id, port_range=(18100, 18999), cpu_limits=True):
        self.objects = objects
        self.workdir = workdir
        self.run_id = run_id
        self.network = f"rentmesh-ct-{run_id}"
        self.cpu_limits = cpu_limits
        self.pods = {}
        self.states = {}
        self.restarts = 0
        self._ports = iter(range(*port_range))
        self._lock = threading.Lock()
        self._mon_stop = threading.Event()
        self.deployments = {}
        self.deletions = []  # (pod, seconds, exit code, grace) of every pod deleted

    def alloc_port(self):
        with self._lock:
            while True:
                p = next(self._ports)
                with socket.socket() as s:
                    try:
                        s.bind(("127.0.0.1", p))
                        return p
                    except OSError:
                        continue

    def register(self, pod):
        with self._lock:
            self.pods[pod.name] = pod

    def unregister(self, pod):
        with self._lock:
            self.pods.pop(pod.name, None)

    def start(self):
        pm("network", "create", "--label", f"rentmesh.run={self.run_id}", self.network)
        threading.Thread(target=self._monitor, daemon=True).start()

    def _monitor(self):
        while not self._mon_stop.is_set():
            t_obs = time.time()
            r = pm("ps", "-a", "--filter", f"label=rentmesh.run={self.run_id}", "--format",
                   "{{.Names}}|{{.State}}|{{.ExitCode}}", check=False, timeout=60)
            for line in r.stdout.splitlines():
                name, state, code = line.split("|")
                state = state.lower()
                if state.startswith("exited") or state.startswith("stopped"):
                    self.states[name] = ("exited", int(code or 0), t_obs)
                else:
                    self.states.pop(name, None)
            self._mon_stop.wait(1.0)

    # Services -> aliases of the pods they select.
    def aliases_for(self, labels):
        out = []
        ns = self.objects.ns
        for s in self.objects.kind("Service"):
            sel = s["spec"].get("selector") or {}
            if sel and all(labels.get(k) == v for k, v in sel.items()):
                n = s["metadata"]["name"]
                out += [n, f"{n}.{ns}", f"{n}.{ns}.svc", f"{n}.{ns}.svc.cluster.local"]
        return out

    def endpoints(self, service, port):
        """host:port of every ready, non-terminating pod the Service selects (like its Endpoints)."""
        s = self.objects.get("Service", service)
        sel = s["spec"]["selector"]
        target = port
        for p in s["spec"]["ports"]:
            if p["port"] == port:
                target = p.get("targetPort", port)
        with self._lock:
            pods = list(self.pods.values())
        return [p.host(target) for p in pods
                if p.ready and not p.terminating and all((p.meta.get("labels") or {}).get(k) == v for k, v in sel.items())
                and target in p.ports]

    # Deployments.
    def deployment_pods(self, name):
        with self._lock:
            return [p for p in self.pods.values() if p.owner == name and not p.terminating]

    def new_pod(self, dep, template_hash=None):
        tpl = dep["spec"]["template"]
        h = template_hash or hashlib.sha256(json.dumps(tpl, sort_keys=True).encode()).hexdigest()[:10]
        name = f"{dep['metadata']['name']}-{h}-{''.join(random.choices(string.ascii_lowercase + string.digits, k=5))}"
        pod = Pod(self, name, dep["metadata"]["name"], tpl, self.aliases_for(tpl["metadata"].get("labels") or {}))
        pod.create()
        return pod

    def apply_deployment(self, dep):
        if dep["kind"] != "Deployment":
            raise ValueError(f"{dep['kind']} {dep['metadata']['name']}: only Deployments are run from the chart (state.mode emptyDir)")
        n = dep["spec"].get("replicas", 1)
        return [self.new_pod(dep) for _ in range(n)]

    def wait_ready(self, pods, timeout):
        end = time.time() + timeout
        while time.time() < end:
            if all(p.ready for p in pods):
                return True
            time.sleep(0.5)
        return False

    def rolling_replace(self, dep, timeout_per_pod=300):
        """RollingUpdate as the Deployment controller does it with its maxSurge,
        maxUnavailable and minReadySeconds: a new pod must be ready for
        minReadySeconds before an old one is deleted."""
        name = dep["metadata"]["name"]
        ru = (dep["spec"].get("strategy") or {}).get("rollingUpdate") or {}
        surge, unavailable = int(ru.get("maxSurge", 1)), int(ru.get("maxUnavailable", 0))
        if surge < 1 or unavailable != 0:
            raise ValueError(f"{name}: this runner rolls with maxSurge>=1, maxUnavailable=0 only")
        min_ready = dep["spec"].get("minReadySeconds", 0)
        old = self.deployment_pods(name)
        # A new template hash, as a changed pod template would have.
        h = hashlib.sha256(f"{time.time()}".encode()).hexdigest()[:10]
        for o in old:
            p = self.new_pod(dep, h)
            if not self.wait_ready([p], timeout_per_pod):
                raise RuntimeError(f"{p.name} did not become ready:\n{p.logs()}")
            time.sleep(min_ready)
            o.delete()

    def cleanup(self):
        self._mon_stop.set()
        with self._lock:
            pods = list(self.pods.values())
        for p in pods:
            p._stop.set()
        names = pm("ps", "-a", "-q", "--filter", f"label=rentmesh.run={self.run_id}", check=False).stdout.split()
        if names:
            pm("rm", "-f", "-t", "0", *names, check=False, timeout=300)
        pm("network", "rm", "-f", self.network, check=False)
        shutil.rmtree(self.workdir, ignore_errors=True)
