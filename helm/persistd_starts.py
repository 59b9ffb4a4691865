#!/usr/bin/env python3
"""Starts the real persistd on what a rendered chart would give its pod.

For each rendered stream: lays out the StatefulSet's mounts in a scratch
folder (the ConfigMap's files where its projected volume puts them; made-up
TLS certificates and a tokens file for the Secrets; an empty data folder),
points persistd.json's paths there and its addresses at free loopback
ports, starts build/release/service/persistd with the container's args, and
checks that it serves every map the config names, answers its health check
on the port the readiness probe uses, and stops with exit 0 on SIGTERM.

  helm/persistd_starts.py PERSISTD RENDERED.yaml...
"""
import base64
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

import yaml


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
    container = pod["containers"][0]
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


def check(persistd, rendered, certificates, root):
    documents = [d for d in yaml.safe_load_all(open(rendered)) if d]
    container = lay_out(documents, root, certificates)
    args = container.get("args", [])
    config_arg = next(a for a in args if a.startswith("--config="))
    config_path = root + config_arg.split("=", 1)[1]
    config = json.load(open(config_path))
    json.dump(relocate(config, root), open(config_path, "w"))
    args = [f"--config={config_path}" if a == config_arg else a for a in args]
    process = subprocess.Popen([persistd, *args], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
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
    marker = {"health": r"health on ([0-9.]+:[0-9]+)",
              "grpc": r"serving ([0-9.]+:[0-9]+)"}[named[probe_port]]
    address = re.search(marker, output).group(1)
    health = subprocess.run(
        [os.path.join(os.path.dirname(persistd), "../clients/cli/persistctl"),
         f"--addr={address}", "health"], capture_output=True, text=True)
    # Plaintext, as the kubelet probes: a TLS main port must not be probed.
    if health.returncode != 0 or "SERVING" not in health.stdout:
        process.kill()
        fail(f"{rendered}: health on {address} ({named[probe_port]} port): "
             f"{health.stdout}{health.stderr}")
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=60)
    if process.returncode != 0:
        fail(f"{rendered}: persistd exited {process.returncode} on SIGTERM:\n"
             f"{output}{rest}")
    return f"{os.path.basename(rendered)}: persistd served {', '.join(maps)}" \
           f" and answered health on its {named[probe_port]} port"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    persistd = sys.argv[1]
    if not os.access(persistd, os.X_OK):
        fail(f"{persistd} is not built; run scripts/test.sh (or cmake "
             "--build --preset release) first")
    with tempfile.TemporaryDirectory(prefix="persistd-starts-") as scratch:
        certificates = make_certificates(scratch)
        for number, rendered in enumerate(sys.argv[2:]):
            root = os.path.join(scratch, str(number))
            result = check(persistd, rendered, certificates, root)
            print(f"persistd_starts: {result}")


if __name__ == "__main__":
    main()
