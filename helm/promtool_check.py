#!/usr/bin/env python3
"""Checks the chart's PromQL with Prometheus' own promtool.

For each rendered stream with a PrometheusRule or a Grafana dashboard:
 - `promtool check rules` parses every rule of the PrometheusRule (the
   chart's alerts and additionalRules) and every query of the dashboard
   (Grafana's variables replaced by values, each query made a recording
   rule);
 - `promtool test rules` runs the chart's four alerts on made-up series of
   one release: PersistStoreNotWritable fires once persist_store_writable
   is 0 and not before; PersistdRestarting on a container restart;
   PersistShrinkFailing on a failed Shrink; PersistWalNotShrinking after an
   hour of many records per live key in a file past the size auto-shrink
   waits for, and not for a small file or a low ratio. Labels and the
   expanded annotations must be exactly those expected.

  helm/promtool_check.py PROMTOOL RENDERED.yaml...
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

GRAFANA_VALUES = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h",
                  "namespace": "persist-ci", "pod": ".+", "datasource": "prometheus"}


def fail(message):
    sys.exit(f"promtool_check: {message}")


def promtool(binary, *args):
    result = subprocess.run([binary, *args], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"promtool {' '.join(args)}:\n{result.stdout}{result.stderr}")
    return result.stdout


def grafana_expand(expr):
    def value(match):
        name = match.group(1) or match.group(2)
        if name not in GRAFANA_VALUES:
            fail(f"dashboard query uses ${name}, which this check has no value for")
        return GRAFANA_VALUES[name]
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, expr)


def expand(template, labels, value):
    """Prometheus' expansion of the annotations the chart writes."""
    text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], template)
    text = re.sub(r'\{\{ \$value \| printf "([^"]*)" \}\}', lambda m: m.group(1) % value, text)
    if "{{" in text:
        fail(f"an annotation this check cannot expand: {template}")
    return text


def alert_tests(rule_file, groups, labels, restart_labels):
    """promtool's unit tests of the chart's alerts for one pod's labels."""
    rules = {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}
    small = dict(labels, pod=labels["pod"][:-1] + "1", instance="10.0.0.2:9090")
    low = dict(labels, pod=labels["pod"][:-1] + "2", instance="10.0.0.3:9090")

    def series(name, lbl, values):
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(lbl.items()))
        return {"series": f"{name}{{{inner}}}", "values": values}

    def fired(alert, lbl, value):
        rule = rules[alert]
        return {"exp_labels": dict(lbl, **rule["labels"]),
                "exp_annotations": {k: expand(v, lbl, value)
                                    for k, v in rule["annotations"].items()}}
    keys = {"map": "users", "type": "example.v1.User"}
    mib = 1 << 20
    tests = [{
        "interval": "1m",
        "input_series": [
            series("persist_store_writable", labels, "1 1 0 0 0"),
            series("persist_shrink_failures_total", labels, "0 0 1 1 1"),
            series("kube_pod_container_status_restarts_total", restart_labels, "0 0 1 1 1"),
        ],
        "alert_rule_test": [
            {"eval_time": "1m", "alertname": "PersistStoreNotWritable", "exp_alerts": []},
            {"eval_time": "3m", "alertname": "PersistStoreNotWritable",
             "exp_alerts": [fired("PersistStoreNotWritable", labels, 0)]},
            {"eval_time": "1m", "alertname": "PersistShrinkFailing", "exp_alerts": []},
            {"eval_time": "3m", "alertname": "PersistShrinkFailing",
             "exp_alerts": [fired("PersistShrinkFailing", labels, 1)]},
            {"eval_time": "1m", "alertname": "PersistdRestarting", "exp_alerts": []},
            {"eval_time": "3m", "alertname": "PersistdRestarting",
             "exp_alerts": [fired("PersistdRestarting", restart_labels, 1)]},
        ],
    }, {
        # 10 records per live key in a large file fires after the hour;
        # the same in a 1 MiB file, or 1.5 per key, never does.
        "interval": "1m",
        "input_series": [
            series("persist_wal_records", labels, "1000000+0x70"),
            series("persist_map_live_keys", dict(labels, **keys), "100000+0x70"),
            series("persist_wal_file_bytes", labels, f"{64 * mib}+0x70"),
            series("persist_wal_records", small, "1000000+0x70"),
            series("persist_map_live_keys", dict(small, **keys), "100000+0x70"),
            series("persist_wal_file_bytes", small, f"{mib}+0x70"),
            series("persist_wal_records", low, "150000+0x70"),
            series("persist_map_live_keys", dict(low, **keys), "100000+0x70"),
            series("persist_wal_file_bytes", low, f"{64 * mib}+0x70"),
        ],
        "alert_rule_test": [
            {"eval_time": "30m", "alertname": "PersistWalNotShrinking", "exp_alerts": []},
            {"eval_time": "65m", "alertname": "PersistWalNotShrinking",
             "exp_alerts": [fired("PersistWalNotShrinking", labels, 10.0)]},
        ],
    }]
    return {"rule_files": [rule_file], "evaluation_interval": "1m", "tests": tests}


def check(binary, rendered, scratch):
    documents = [d for d in yaml.safe_load_all(open(rendered)) if d]
    name = os.path.basename(rendered)
    done = []
    for rule in (d for d in documents if d["kind"] == "PrometheusRule"):
        rule_file = os.path.join(scratch, f"{name}.rules.yaml")
        groups = rule["spec"]["groups"]
        yaml.safe_dump({"groups": groups}, open(rule_file, "w"))
        promtool(binary, "check", "rules", rule_file)
        count = sum(len(g["rules"]) for g in groups)
        done.append(f"{count} rules parse")
        metrics = next(d for d in documents if d["kind"] == "Service"
                       and d["metadata"]["labels"].get("app.kubernetes.io/component") == "metrics")
        statefulset = next(d for d in documents if d["kind"] == "StatefulSet")
        namespace = metrics["metadata"]["namespace"]
        selector = f'job="{metrics["metadata"]["name"]}",namespace="{namespace}"'
        if not all(selector in r["expr"] for g in groups for r in g["rules"]
                   if r.get("alert") in ("PersistStoreNotWritable", "PersistShrinkFailing")):
            done.append("alert tests skipped (a custom selector)")
            continue
        pod = f'{statefulset["metadata"]["name"]}-0'
        labels = {"job": metrics["metadata"]["name"], "namespace": namespace,
                  "pod": pod, "instance": "10.0.0.1:9090"}
        restart_labels = {"job": "kube-state-metrics", "namespace": namespace,
                          "pod": pod, "container": "persistd"}
        test_file = os.path.join(scratch, f"{name}.test.yaml")
        yaml.safe_dump(alert_tests(os.path.basename(rule_file), groups, labels,
                                   restart_labels), open(test_file, "w"))
        promtool(binary, "test", "rules", test_file)
        done.append("the 4 chart alerts pass their unit tests")
    for cm in (d for d in documents if d["kind"] == "ConfigMap"
               and "grafana_dashboard" in (d["metadata"].get("labels") or {})):
        for key, text in cm["data"].items():
            dashboard = json.loads(text)
            rules = [{"record": f"dashboard:panel{p['id']}:{t['refId']}",
                      "expr": grafana_expand(t["expr"])}
                     for p in dashboard["panels"] for t in p.get("targets", [])]
            rule_file = os.path.join(scratch, f"{name}.{key}.rules.yaml")
            yaml.safe_dump({"groups": [{"name": key, "rules": rules}]}, open(rule_file, "w"))
            promtool(binary, "check", "rules", rule_file)
            done.append(f"{len(rules)} dashboard queries parse")
    return done


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="promtool-check-") as scratch:
        for rendered in sys.argv[2:]:
            done = check(binary, rendered, scratch)
            if done:
                print(f"promtool_check: {os.path.basename(rendered)}: {', '.join(done)}")


if __name__ == "__main__":
    main()
