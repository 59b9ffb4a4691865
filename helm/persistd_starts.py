#!/usr/bin/env python3
"""Starts the real persistd on what a rendered chart would give its pod.

For each rendered stream: lays out the persistd container's mounts in a
scratch folder (the ConfigMap's files where its projected volume puts them;
made-up TLS certificates and a tokens file for the Secrets; empty folders
for the data and any other volume), points persistd.json's paths there and
its addresses at free loopback ports, starts PERSISTD with the container's
args and plain env values, and checks that it serves every map the config
names, answers its health check on the port the readiness probe uses, and
stops with exit 0 on SIGTERM. While it runs:
 - the helm test pod's containers run their persistctl commands, with the
   Service or pod address each names mapped to the port it reaches;
 - with metrics on, /metrics is fetched, and every metric that the Grafana
   dashboard's queries and the PrometheusRule's expressions name must be
   on it (the alerts may also use kube-state-metrics' restart counter), with
   only label names persistd gives that metric or Prometheus adds, and
   grouping only by labels some series has.

  helm/persistd_starts.py [--persistctl PERSISTCTL] PERSISTD RENDERED.yaml...

PERSISTCTL defaults to ../clients/cli/persistctl beside PERSISTD.
"""
import argparse
import base64
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import urllib.request

import yaml

# Labels Prometheus adds to every scraped series (target labels, with the
# Prometheus Operator's), and `le` of histogram buckets.
TARGET_LABELS = {"job", "instance", "namespace", "pod", "service", "container",
                 "endpoint", "le"}
# Series the alerts may use that persistd does not export (kube-state-metrics).
EXTERNAL_METRICS = {"kube_pod_container_status_restarts_total": {
    "namespace", "pod", "container"}}
PROMQL_WORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on",
                "ignoring", "group_left", "group_right", "inf", "nan", "atan2"}


def fail(message):
    sys.exit(f"persistd_starts: {message}")


def make_certificates(folder):
    """A CA and a localhost certificate it signed: tls.crt, tls.key, ca.crt."""
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *args: subprocess.run(args, cwd=folder, check=True,
                                       capture_output=True)
    run("openssl", "req", "-x509", *key, "-days", "1", "-subj", "/CN=ci-ca",
        "-keyout", "ca.key", "-out", "ca.crt")
    run("openssl", "req", *key, "-subj", "/CN=localhost", "-keyout",
        "tls.key", "-out", "tls.csr")
    run("openssl", "x509", "-req", "-in", "tls.csr", "-CA", "ca.crt",
        "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-out", "tls.crt")
    return {name: open(os.path.join(folder, name), "rb").read()
            for name in ("tls.crt", "tls.key", "ca.crt")}


def lay_out(documents, root, certificates):
    """Writes the pod's mounts under `root`; returns the container."""
    by_kind = {}
    for document in documents:
        by_kind.setdefault(document["kind"], []).append(document)
    pod = by_kind["StatefulSet"][0]["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == "persistd")
    config_maps = {c["metadata"]["name"]: c for c in by_kind["ConfigMap"]}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    claims = {c["metadata"]["name"] for c in
              by_kind["StatefulSet"][0]["spec"].get("volumeClaimTemplates", [])}
    for mount in container["volumeMounts"]:
        target = root + mount["mountPath"]
        os.makedirs(target, exist_ok=True)
        if mount["name"] in claims:
            continue
        volume = volumes[mount["name"]]
        sources = volume.get("projected", {}).get("sources", [])
        for source in sources:
            if "configMap" in source:
                config_map = config_maps[source["configMap"]["name"]]
                for item in source["configMap"]["items"]:
                    if item["key"] in config_map.get("data", {}):
                        content = config_map["data"][item["key"]].encode()
                    else:
                        content = base64.b64decode(
                            config_map["binaryData"][item["key"]])
                    write(os.path.join(target, item["path"]), content)
            elif "secret" in source:
                for item in source["secret"]["items"]:
                    # TLS files from made-up certificates; any other key is
                    # the tokens file.
                    content = certificates.get(item["key"],
                                               b"ci-token write\n")
                    write(os.path.join(target, item["path"]), content)
    return container


def write(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as out:
        out.write(content)


def relocate(value, root):
    """Paths into the scratch folder, addresses to free loopback ports."""
    if isinstance(value, dict):
        return {k: relocate_field(k, v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [relocate(v, root) for v in value]
    if isinstance(value, str) and value.startswith(("/etc/persist", "/data")):
        return root + value
    return value


def relocate_field(name, value, root):
    if name in ("listen", "metricsListen", "healthListen"):
        return "127.0.0.1:0"
    return relocate(value, root)


def scrape(output):
    """{metric: label names} from the /metrics page persistd logged."""
    url = re.search(r"metrics on (http://[0-9.:]+/metrics)", output).group(1)
    page = urllib.request.urlopen(url, timeout=10).read().decode()
    metrics = {}
    for line in page.splitlines():
        match = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ", line)
        if match and not line.startswith("#"):
            labels = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', match.group(3) or ""))
            metrics.setdefault(match.group(1), set()).update(labels)
    return metrics


def promql_names(expr):
    """(metric, label names of its matchers) for each series expr selects."""
    expr = re.sub(r"\$\{?\w+\}?", "x", expr)  # Grafana's variables
    found = []
    for match in re.finditer(
            r'([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{((?:[^}"]|"(?:[^"\\]|\\.)*")*)\}', expr):
        if match.group(1) and match.group(1) not in PROMQL_WORDS:
            found.append((match.group(1), set(
                re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*[!=]~?", match.group(2)))))
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", bare)
    bare = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)",
                  " ", bare)
    selected = {name for name, _ in found}
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", bare):
        name = match.group(1)
        if not match.group(2) and name not in PROMQL_WORDS \
                and name not in selected:
            found.append((name, set()))
    return found


def monitoring_queries(documents):
    """(where, PromQL expression, may use EXTERNAL_METRICS) of the stream."""
    queries = []
    for document in documents:
        if document["kind"] == "PrometheusRule":
            for group in document["spec"]["groups"]:
                for rule in group["rules"]:
                    name = rule.get("alert") or rule.get("record")
                    queries.append((f"PrometheusRule {name}", rule["expr"], True))
        labels = document["metadata"].get("labels") or {}
        if document["kind"] == "ConfigMap" and "grafana_dashboard" in labels:
            for key, text in document["data"].items():
                dashboard = json.loads(text)
                for panel in dashboard["panels"]:
                    for target in panel.get("targets", []):
                        queries.append((f"{key} panel {panel['title']!r}",
                                        target["expr"], False))
                for variable in dashboard["templating"]["list"]:
                    query = variable.get("query")
                    query = query.get("query") if isinstance(query, dict) else None
                    values = re.match(r"label_values\((.*),\s*(\w+)\)$", query or "")
                    if values:
                        queries.append((f"{key} variable {variable['name']}",
                                        values.group(1), False))
    return queries


def check_metric_names(queries, metrics, rendered):
    """Every series a query selects is one persistd exports, with its labels."""
    for where, expr, external_ok in queries:
        for name, labels in promql_names(expr):
            known = metrics.get(name)
            if known is None and external_ok:
                known = EXTERNAL_METRICS.get(name)
            if known is None:
                fail(f"{rendered}: {where}: {name} is not a metric persistd "
                     f"exports (its /metrics has: {', '.join(sorted(metrics))})")
            unknown = labels - known - TARGET_LABELS
            if unknown:
                fail(f"{rendered}: {where}: {name} has no label "
                     f"{', '.join(sorted(unknown))} (it has: "
                     f"{', '.join(sorted(known | TARGET_LABELS))})")
        # Labels it groups by: some series must have them.
        every = set().union(*metrics.values(), *EXTERNAL_METRICS.values())
        for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
            for label in re.findall(r"\w+", group):
                if label not in every | TARGET_LABELS:
                    fail(f"{rendered}: {where}: groups by {label}, a label no"
                         " series of persistd has")


def run_test_pod(documents, persistctl, addresses, rendered):
    """Runs each helm test container's persistctl against the local persistd.

    `addresses` maps persistd's port names to where it listens here."""
    services = [d for d in documents if d["kind"] == "Service"]
    statefulset = next(d for d in documents if d["kind"] == "StatefulSet")
    container = next(c for c in statefulset["spec"]["template"]["spec"]["containers"]
                     if c["name"] == "persistd")
    port_names = {p["containerPort"]: p["name"] for p in container["ports"]}
    ran = 0
    for pod in (d for d in documents if d["kind"] == "Pod"):
        for test in pod["spec"]["containers"]:
            args = test["args"]
            address = next(a for a in args if a.startswith("--addr="))
            host, port = address[len("--addr="):].rsplit(":", 1)
            name = host.split(".")[0]
            target = None
            for service in services:
                if service["metadata"]["name"] == name:
                    target = next(p["targetPort"] for p in service["spec"]["ports"]
                                  if p["port"] == int(port))
            if target is None:  # <pod>.<headless>...: a container port
                target = port_names[int(port)]
            local = [f"--addr={addresses[target]}" if a == address else a
                     for a in args]
            result = subprocess.run([persistctl, *local], capture_output=True,
                                    text=True)
            if result.returncode != 0 or "SERVING" not in result.stdout:
                fail(f"{rendered}: helm test container {test['name']} "
                     f"({' '.join(args)}): {result.stdout}{result.stderr}")
            ran += 1
    return ran


def check(persistd, persistctl, rendered, certificates, root):
    documents = [d for d in yaml.safe_load_all(open(rendered)) if d]
    container = lay_out(documents, root, certificates)
    args = container.get("args", [])
    config_arg = next(a for a in args if a.startswith("--config="))
    config_path = root + config_arg.split("=", 1)[1]
    config = json.load(open(config_path))
    json.dump(relocate(config, root), open(config_path, "w"))
    args = [f"--config={config_path}" if a == config_arg else a for a in args]
    env = dict(os.environ)
    env.update({e["name"]: e["value"] for e in container.get("env", [])
                if "value" in e})
    process = subprocess.Popen([persistd, *args], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=env)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "serving " in line:
            break
    output = "".join(lines)
    if process.poll() is not None or "serving " not in output:
        process.kill()
        fail(f"{rendered}: persistd did not start:\n{output}"
             f"{process.stdout.read()}")
    maps = [m["name"] for m in config.get("maps", [])] or ["users"]
    for name in maps:
        if f"{name} (" not in output:
            fail(f"{rendered}: persistd serves no map {name}:\n{output}")
    # The readiness probe's port: the plaintext health port or the main one.
    probe_port = container["readinessProbe"]["grpc"]["port"]
    named = {p["containerPort"]: p["name"] for p in container["ports"]}
    markers = {"health": r"health on ([0-9.]+:[0-9]+)",
               "grpc": r"serving ([0-9.]+:[0-9]+)"}
    addresses = {name: re.search(marker, output).group(1)
                 for name, marker in markers.items()
                 if re.search(marker, output)}
    address = addresses[named[probe_port]]
    health = subprocess.run([persistctl, f"--addr={address}", "health"],
                            capture_output=True, text=True)
    # Plaintext, as the kubelet probes: a TLS main port must not be probed.
    if health.returncode != 0 or "SERVING" not in health.stdout:
        process.kill()
        fail(f"{rendered}: health on {address} ({named[probe_port]} port): "
             f"{health.stdout}{health.stderr}")
    extra = ""
    try:
        tests = run_test_pod(documents, persistctl, addresses, rendered)
        if tests:
            extra += f"; helm test: {tests} persistctl health passed"
        queries = monitoring_queries(documents)
        if queries:
            metrics = scrape(output)
            check_metric_names(queries, metrics, rendered)
            extra += (f"; the {len(queries)} dashboard and alert queries use"
                      f" only metrics and labels on its /metrics")
    except BaseException:
        process.kill()
        raise
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=60)
    if process.returncode != 0:
        fail(f"{rendered}: persistd exited {process.returncode} on SIGTERM:\n"
             f"{output}{rest}")
    return f"{os.path.basename(rendered)}: persistd served {', '.join(maps)}" \
           f" and answered health on its {named[probe_port]} port{extra}"


def main():
    parser = argparse.ArgumentParser(usage=__doc__)
    parser.add_argument("--persistctl")
    parser.add_argument("persistd")
    parser.add_argument("rendered", nargs="+")
    options = parser.parse_args()
    persistd = options.persistd
    persistctl = options.persistctl or os.path.join(
        os.path.dirname(persistd), "../clients/cli/persistctl")
    for binary in (persistd, persistctl):
        if not os.access(binary, os.X_OK):
            fail(f"{binary} is not built; run scripts/test.sh (or cmake "
                 "--build --preset release) first")
    with tempfile.TemporaryDirectory(prefix="persistd-starts-") as scratch:
        certificates = make_certificates(scratch)
        for number, rendered in enumerate(options.rendered):
            root = os.path.join(scratch, str(number))
            result = check(persistd, persistctl, rendered, certificates, root)
            print(f"persistd_starts: {result}")


if __name__ == "__main__":
    main()
