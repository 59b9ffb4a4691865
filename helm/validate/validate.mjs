// Validates rendered Helm output (a multi-document YAML stream) for the
// persist chart, without a cluster:
//
//  1. Each object against the Kubernetes API schemas: kubernetes-models'
//     validate() (ajv validators compiled from the official OpenAPI schemas
//     of Kubernetes v1.33.0; @kubernetes-models/prometheus-operator for
//     ServiceMonitor and PrometheusRule), picked by apiVersion and kind; an
//     unknown kind is an error.
//  2. Strict fields: those validators ignore fields the schema does not
//     have, as the API server's non-strict decoding would silently drop
//     them. Each field is therefore replaced in turn by a value no schema
//     accepts (a Symbol); a field the schema knows then fails validation, a
//     field it does not know passes, and is reported.
//  3. The chart's wiring: persistd.json (the ConfigMap key that the
//     persistd container's --config names) is JSON with only
//     persist.v1.ServerConfig fields of the right types (read from
//     proto/persist/v1/config.proto; durations in either of the forms
//     persistd reads, "0.5s" or "500ms"); the files it names are mounted;
//     its listen ports are the container's ports; the probes call a
//     declared port (the plaintext health port when TLS is on); the
//     Services, the PodDisruptionBudget, the NetworkPolicy and the
//     ServiceMonitor select what they should; no Service reachable from
//     outside the cluster (NodePort, LoadBalancer) carries more than gRPC;
//     the NetworkPolicy admits every port persistd serves; the helm test
//     pod calls addresses that reach persistd; the PrometheusRule's rules
//     are well formed; the Grafana dashboard is JSON whose panels have
//     unique ids and queries, using only variables it defines.
//
// YAML is read as YAML 1.1, as the API server reads it (sigs.k8s.io/yaml).
//
//   node validate.mjs --proto-dir ../../proto out.yaml...   exit 1 on problems
//   node validate.mjs --proto-dir ../../proto --self-test out.yaml...
//       breaks valid streams in known ways and fails unless each is caught
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";

const SCHEMA_VERSION = "Kubernetes v1.33.0";

// ---------------------------------------------------------------- models

const modelCache = new Map();

// The model class for apiVersion/kind, or null when the packages have none.
async function modelFor(apiVersion, kind) {
  const key = `${apiVersion}/${kind}`;
  if (modelCache.has(key)) return modelCache.get(key);
  let spec;
  if (typeof apiVersion !== "string" || typeof kind !== "string" ||
      !/^[A-Za-z0-9]+$/.test(kind)) {
    spec = null;
  } else if (apiVersion === "v1") {
    spec = `kubernetes-models/v1/${kind}`;
  } else if (apiVersion.startsWith("monitoring.coreos.com/")) {
    spec = `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  } else if (/^[a-z0-9.-]+\/v[0-9a-z]+$/.test(apiVersion)) {
    spec = `kubernetes-models/${apiVersion}/${kind}`;
  } else {
    spec = null;
  }
  let model = null;
  if (spec) {
    try {
      const mod = await import(spec);
      const cls = mod[kind];
      // Only top-level kinds carry apiVersion and kind (not, say, PodSpec).
      if (cls && cls.apiVersion === apiVersion && cls.kind === kind) model = cls;
    } catch {
      model = null;
    }
  }
  modelCache.set(key, model);
  return model;
}

function schemaErrors(Model, obj) {
  try {
    new Model(obj).validate();
    return [];
  } catch (e) {
    if (Array.isArray(e.errors)) {
      return e.errors.map((x) => `${x.instancePath || "/"} ${x.message}`);
    }
    return [String(e.message || e)];
  }
}

const POISON = Symbol("no schema accepts this");

function pointer(parts) {
  return "/" + parts.map((p) => String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("/");
}

const errorKey = (Model, obj) => schemaErrors(Model, obj).join("\n");

// Fields of obj that the schema does not know: replacing a known field by
// POISON changes what validation reports, replacing an unknown one does not
// (so this works on objects with schema errors too).
function unknownFields(Model, obj) {
  const baseline = errorKey(Model, obj);
  const unknown = [];
  const walk = (node, parts) => {
    if (Array.isArray(node)) {
      node.forEach((x, i) => walk(x, [...parts, i]));
      return;
    }
    if (node === null || typeof node !== "object") return;
    for (const key of Object.keys(node)) {
      const saved = node[key];
      node[key] = POISON;
      const known = errorKey(Model, obj) !== baseline;
      node[key] = saved;
      if (known) walk(saved, [...parts, key]);
      else unknown.push(pointer([...parts, key]));
    }
  };
  walk(obj, []);
  return unknown;
}

// ------------------------------------------------------- ServerConfig

// Messages of a .proto file: {Name: {jsonName: {type, repeated}}}; enums:
// {Name: [values]}. Enough for config.proto (flat messages, scalar, enum,
// message and google.protobuf.Duration fields).
function readProto(file) {
  const text = readFileSync(file, "utf8").replace(/\/\/.*$/gm, "");
  const messages = {};
  const enums = {};
  for (const m of text.matchAll(/\bmessage\s+(\w+)\s*\{([^}]*)\}/g)) {
    const fields = {};
    for (const f of m[2].matchAll(/(repeated\s+)?([\w.]+)\s+(\w+)\s*=\s*\d+\s*;/g)) {
      const json = f[3].replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
      fields[json] = { type: f[2], repeated: Boolean(f[1]) };
    }
    messages[m[1]] = fields;
  }
  for (const e of text.matchAll(/\benum\s+(\w+)\s*\{([^}]*)\}/g)) {
    enums[e[1]] = [...e[2].matchAll(/(\w+)\s*=\s*\d+\s*;/g)].map((v) => v[1]);
  }
  return { messages, enums };
}

function loadServerConfigSchema(protoDir) {
  const config = readProto(path.join(protoDir, "persist/v1/config.proto"));
  const api = readProto(path.join(protoDir, "persist/v1/persist.proto"));
  const schema = { messages: config.messages, enums: { ...api.enums, ...config.enums } };
  if (!schema.messages.ServerConfig || !schema.enums.Durability) {
    throw new Error(`no ServerConfig or Durability in ${protoDir}/persist/v1`);
  }
  return schema;
}

const PROTO_DURATION = /^-?[0-9]{1,12}(\.[0-9]{1,9})?s$/;
const ABSL_DURATION = /^[-+]?(0|inf|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|ms|s|m|h))+)$/;

const INT_RANGES = {
  int32: [-(2 ** 31), 2 ** 31 - 1], uint32: [0, 2 ** 32 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

// Problems of value as proto3 JSON of message `type` (as the chart writes
// it: lowerCamel field names).
function checkMessage(schema, type, value, where, problems) {
  const fields = schema.messages[type];
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    problems.push(`${where}: expected a ${type} object`);
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    const field = fields[key];
    const at = where ? `${where}.${key}` : key;
    if (!field) {
      problems.push(`${at}: not a ${type} field (known: ${Object.keys(fields).join(", ")})`);
      continue;
    }
    if (field.repeated) {
      if (!Array.isArray(v)) problems.push(`${at}: expected a list`);
      else v.forEach((x, i) => checkValue(schema, field.type, x, `${at}[${i}]`, problems));
    } else {
      checkValue(schema, field.type, v, at, problems);
    }
  }
}

function checkValue(schema, type, v, at, problems) {
  if (schema.messages[type]) return checkMessage(schema, type, v, at, problems);
  if (schema.enums[type]) {
    if (!schema.enums[type].includes(v)) {
      problems.push(`${at}: ${JSON.stringify(v)} is not a ${type} (${schema.enums[type].join(", ")})`);
    }
    return;
  }
  const bad = (what) => problems.push(`${at}: ${JSON.stringify(v)} is not ${what}`);
  switch (type) {
    case "string":
      if (typeof v !== "string") bad("a string");
      return;
    case "bool":
      if (typeof v !== "boolean") bad("a bool");
      return;
    case "double":
    case "float":
      if (typeof v !== "number") bad("a number");
      return;
    case "google.protobuf.Duration":
      // persistd reads both protobuf JSON ("1.5s") and abseil's
      // ParseDuration form ("1500ms", "1m30s", "0", "inf").
      if (typeof v !== "string" || !(PROTO_DURATION.test(v) || ABSL_DURATION.test(v))) {
        bad('a duration ("1.5s", or numbers with units ns, us, ms, s, m, h such as "1500ms")');
      }
      return;
    default:
      if (INT_RANGES[type]) {
        const n = typeof v === "string" && /^-?[0-9]+$/.test(v) ? Number(v) : v;
        const [lo, hi] = INT_RANGES[type];
        if (!Number.isInteger(n) || n < lo || n > hi) bad(`an ${type}`);
        return;
      }
      problems.push(`${at}: field type ${type} is not known to this check`);
  }
}

// ---------------------------------------------------------- wiring

const portOf = (hostPort) => Number(String(hostPort).match(/:(\d+)$/)?.[1]);

function selects(selector, labels) {
  return Boolean(selector) && Object.keys(selector).length > 0 &&
    Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function checkWiring(objects, schema, problems, stats) {
  const byKind = (kind) => objects.filter((o) => o.kind === kind);
  const configMaps = new Map(byKind("ConfigMap").map((o) => [o.metadata.name, o]));
  const services = byKind("Service");
  for (const sts of byKind("StatefulSet")) {
    const name = `StatefulSet ${sts.metadata.name}`;
    const pod = sts.spec.template;
    const podLabels = pod.metadata?.labels || {};
    if (!selects(sts.spec.selector.matchLabels, podLabels)) {
      problems.push(`${name}: its selector does not match its pod labels`);
    }
    const headless = services.find((s) => s.metadata.name === sts.spec.serviceName);
    if (!headless || headless.spec.clusterIP !== "None") {
      problems.push(`${name}: serviceName ${sts.spec.serviceName} is not a rendered headless Service`);
    }
    const claims = new Set((sts.spec.volumeClaimTemplates || []).map((c) => c.metadata.name));
    const volumes = new Map((pod.spec.volumes || []).map((v) => [v.name, v]));
    const persistd = pod.spec.containers.filter((c) => c.name === "persistd");
    if (persistd.length !== 1) problems.push(`${name}: ${persistd.length} containers named persistd, not 1`);
    // Sidecars are checked against the schemas only; the pod's ports are
    // every container's.
    const podPorts = pod.spec.containers.flatMap((c) => c.ports || []);
    for (const c of persistd) {
      const where = `${name} container ${c.name}`;
      const ports = c.ports || [];
      const portNumbers = new Set(ports.map((p) => p.containerPort));
      const portByName = new Map(ports.map((p) => [p.name, p.containerPort]));
      stats.pods.push({ sts, labels: podLabels, portByName, portNumbers, podPorts, where });
      // Files the container sees: path -> {kind, name, key}; writable dirs.
      const files = new Map();
      const writable = [];
      for (const m of c.volumeMounts || []) {
        if (claims.has(m.name) && !volumes.has(m.name)) {
          if (!m.readOnly) writable.push(m.mountPath);
          continue;
        }
        const v = volumes.get(m.name);
        if (!v) {
          problems.push(`${where}: volumeMount ${m.name} has no volume or claim template`);
          continue;
        }
        if (v.emptyDir || v.persistentVolumeClaim) {
          if (!m.readOnly) writable.push(m.mountPath);
        }
        const sources = v.projected ? v.projected.sources : [v.configMap ? { configMap: v.configMap } : { secret: v.secret }];
        for (const s of sources) {
          const src = s.configMap ? { kind: "configMap", name: s.configMap.name, items: s.configMap.items }
            : s.secret ? { kind: "secret", name: s.secret.name || s.secret.secretName, items: s.secret.items } : null;
          for (const it of src?.items || []) {
            files.set(path.posix.join(m.mountPath, it.path), { kind: src.kind, name: src.name, key: it.key });
          }
        }
      }
      for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
        const p = c[probe];
        if (!p) {
          problems.push(`${where}: no ${probe}`);
          continue;
        }
        const action = p.grpc || p.httpGet || p.tcpSocket;
        const port = action?.port;
        const declared = typeof port === "string" ? portByName.has(port) : portNumbers.has(port);
        if (!declared) problems.push(`${where}: ${probe} port ${port} is not a port the container declares`);
      }
      // persistd.json: the file --config names, from a rendered ConfigMap.
      const arg = (c.args || []).find((a) => a.startsWith("--config="));
      if (!arg) {
        problems.push(`${where}: no --config argument`);
        continue;
      }
      const configPath = arg.slice("--config=".length);
      const file = files.get(configPath);
      const cm = file?.kind === "configMap" ? configMaps.get(file.name) : undefined;
      const text = cm?.data?.[file.key];
      if (text === undefined) {
        problems.push(`${where}: ${configPath} is not mounted from a key of a rendered ConfigMap`);
        continue;
      }
      let cfg;
      try {
        cfg = JSON.parse(text);
      } catch (e) {
        problems.push(`${where}: ${configPath} is not JSON: ${e.message}`);
        continue;
      }
      const before = problems.length;
      checkMessage(schema, "ServerConfig", cfg, "", problems);
      for (let i = before; i < problems.length; i++) problems[i] = `${configPath}: ${problems[i]}`;
      stats.configFields += Object.keys(cfg).length;
      // Its ports are the container's named ports.
      for (const [field, portName] of [["listen", "grpc"], ["metricsListen", "metrics"], ["healthListen", "health"]]) {
        if (cfg[field] && portOf(cfg[field]) !== portByName.get(portName)) {
          problems.push(`${where}: ${field} ${cfg[field]} is not the container port named ${portName}`);
        }
        if (!cfg[field] && portByName.has(portName) && portName !== "grpc") {
          problems.push(`${where}: declares port ${portName} but persistd.json sets no ${field}`);
        }
      }
      if (cfg.tls) {
        for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
          if (c[probe]?.grpc?.port !== portOf(cfg.healthListen)) {
            problems.push(`${where}: with TLS, ${probe} must call the plaintext healthListen port (${cfg.healthListen || "unset"})`);
          }
        }
      }
      // Every file it names is mounted (and a ConfigMap's key exists).
      const needFile = (p, what) => {
        const f = files.get(p);
        if (!f) {
          problems.push(`${where}: ${what} ${p} is not mounted`);
        } else if (f.kind === "configMap") {
          const m = configMaps.get(f.name);
          if (m?.data?.[f.key] === undefined && m?.binaryData?.[f.key] === undefined) {
            problems.push(`${where}: ${what} ${p}: ConfigMap ${f.name} has no key ${f.key}`);
          }
        }
      };
      const mount = (p) => writable.some((w) => p.startsWith(w.replace(/\/?$/, "/")));
      if (!cfg.dataFile || !mount(cfg.dataFile)) {
        problems.push(`${where}: dataFile ${cfg.dataFile} is not in a writable volume (Shrink renames a temporary file there)`);
      }
      if (cfg.schema?.descriptorSet) needFile(cfg.schema.descriptorSet, "schema.descriptorSet");
      for (const p of cfg.schema?.protoFiles || []) {
        const dirs = (cfg.schema.includePaths || []).filter((d) => d !== "/usr/include");
        if (!dirs.some((d) => files.has(path.posix.join(d, p)))) {
          problems.push(`${where}: schema.protoFiles ${p} is in none of the mounted include paths`);
        } else {
          needFile(path.posix.join(dirs.find((d) => files.has(path.posix.join(d, p))), p), "schema.protoFiles");
        }
      }
      if (cfg.schema?.protoFiles?.length && !(cfg.schema.includePaths || []).includes("/usr/include")) {
        problems.push(`${where}: schema.includePaths lacks /usr/include (google/protobuf/*.proto)`);
      }
      for (const [field, v] of Object.entries(cfg.tls || {})) needFile(v, `tls.${field}`);
      if (cfg.tokensFile) needFile(cfg.tokensFile, "tokensFile");
      // Services reach this pod's ports.
      for (const svc of services) {
        if (!selects(svc.spec.selector, podLabels)) continue;
        for (const sp of svc.spec.ports) {
          const t = sp.targetPort ?? sp.port;
          if (typeof t === "string" ? !portByName.has(t) : !portNumbers.has(t)) {
            problems.push(`Service ${svc.metadata.name}: port ${sp.name} targets ${t}, which the pod does not declare`);
          }
        }
      }
    }
  }
  const pods = byKind("StatefulSet").map((s) => s.spec.template.metadata?.labels || {});
  for (const svc of services) {
    if (!pods.some((l) => selects(svc.spec.selector, l))) {
      problems.push(`Service ${svc.metadata.name}: selects no rendered pod`);
    }
    // What leaves the cluster: gRPC only (metrics have no authentication).
    if (["NodePort", "LoadBalancer"].includes(svc.spec.type)) {
      for (const sp of svc.spec.ports) {
        if ((sp.targetPort ?? sp.port) !== "grpc") {
          problems.push(`Service ${svc.metadata.name}: type ${svc.spec.type} exposes port ${sp.name} (${sp.targetPort ?? sp.port}) outside the cluster; only grpc belongs there`);
        }
      }
    }
    if (objects.some((o) => o.kind === "Pod" && selects(svc.spec.selector, o.metadata.labels))) {
      problems.push(`Service ${svc.metadata.name}: selects a hook Pod (the helm test pod)`);
    }
  }
  checkNetworkPolicies(byKind("NetworkPolicy"), stats.pods, problems);
  checkTestPods(byKind("Pod"), services, stats.pods, problems);
  checkPrometheusRules(byKind("PrometheusRule"), problems);
  checkDashboards(byKind("ConfigMap"), problems, stats);
  for (const pdb of byKind("PodDisruptionBudget")) {
    if (!pods.some((l) => selects(pdb.spec.selector?.matchLabels, l))) {
      problems.push(`PodDisruptionBudget ${pdb.metadata.name}: selects no rendered pod`);
    }
  }
  for (const sm of byKind("ServiceMonitor")) {
    const matched = services.filter((s) => selects(sm.spec.selector?.matchLabels, s.metadata.labels));
    if (matched.length !== 1) {
      problems.push(`ServiceMonitor ${sm.metadata.name}: selects ${matched.length} Services, not 1`);
    }
    for (const ep of sm.spec.endpoints || []) {
      if (!matched.every((s) => s.spec.ports.some((p) => p.name === ep.port))) {
        problems.push(`ServiceMonitor ${sm.metadata.name}: endpoint port ${ep.port} is not a port of the Service`);
      }
    }
  }
}

// The policy selects the pods and admits each port persistd serves (else it
// cuts off clients, Prometheus or the probes); its named ports are the pod's.
function checkNetworkPolicies(policies, pods, problems) {
  for (const np of policies) {
    const where = `NetworkPolicy ${np.metadata.name}`;
    const selected = pods.filter((p) => selects(np.spec.podSelector?.matchLabels, p.labels));
    if (selected.length === 0) problems.push(`${where}: selects no rendered pod`);
    const rules = np.spec.ingress || [];
    for (const pod of selected) {
      const names = new Set(pod.podPorts.map((p) => p.name));
      for (const rule of rules) {
        for (const port of rule.ports || []) {
          if (typeof port.port === "string" && !names.has(port.port)) {
            problems.push(`${where}: ingress port ${port.port} is not a port of the pod`);
          }
        }
      }
      for (const [portName, number] of pod.portByName) {
        const admits = rules.some((r) => !r.ports || r.ports.some((p) => p.port === portName || p.port === number));
        if (!admits) problems.push(`${where}: no ingress rule admits persistd's ${portName} port`);
      }
    }
  }
}

// Each container of a helm test pod calls persistctl --addr=HOST:PORT; the
// address must reach persistd: a Service's port that targets a port of
// persistd, or a pod's own name under the headless Service and a port
// persistd declares.
function checkTestPods(testPods, services, pods, problems) {
  for (const tp of testPods) {
    const where = `Pod ${tp.metadata.name}`;
    if (tp.metadata.annotations?.["helm.sh/hook"] !== "test") {
      problems.push(`${where}: a Pod that is not a helm test hook`);
      continue;
    }
    for (const c of tp.spec.containers) {
      const addr = (c.args || []).find((a) => a.startsWith("--addr="))?.slice("--addr=".length);
      const m = addr?.match(/^([a-z0-9.-]+):(\d+)$/);
      if (!m) {
        problems.push(`${where} container ${c.name}: no --addr=HOST:PORT`);
        continue;
      }
      const [host, port] = [m[1], Number(m[2])];
      const labels = host.split(".");
      let reaches = false;
      for (const pod of pods) {
        const ns = pod.sts.metadata.namespace;
        for (const svc of services) {
          const hostSvc = labels.length === 3 && labels[0] === svc.metadata.name && labels[1] === ns && labels[2] === "svc";
          if (hostSvc && svc.spec.clusterIP !== "None" && selects(svc.spec.selector, pod.labels)) {
            const sp = svc.spec.ports.find((p) => p.port === port);
            const t = sp?.targetPort ?? sp?.port;
            if (sp && (typeof t === "string" ? pod.portByName.has(t) : pod.portNumbers.has(t))) reaches = true;
          }
        }
        const ordinal = labels[0].match(new RegExp(`^${pod.sts.metadata.name}-(\\d+)$`));
        const headless = labels.length === 4 && labels[1] === pod.sts.spec.serviceName && labels[2] === ns && labels[3] === "svc";
        if (ordinal && headless && Number(ordinal[1]) < (pod.sts.spec.replicas ?? 1) && pod.portNumbers.has(port)) reaches = true;
      }
      if (!reaches) problems.push(`${where} container ${c.name}: ${addr} reaches no port of persistd`);
    }
  }
}

// Names, expressions and `for` of each rule; alert names unique.
function checkPrometheusRules(rules, problems) {
  for (const pr of rules) {
    const where = `PrometheusRule ${pr.metadata.name}`;
    const seen = new Set();
    for (const g of pr.spec.groups || []) {
      if (!g.rules?.length) problems.push(`${where}: group ${g.name} has no rules`);
      for (const r of g.rules || []) {
        const id = r.alert || r.record;
        if (!id || (r.alert && r.record)) problems.push(`${where}: a rule needs an alert or a record name, not both`);
        if (r.alert && seen.has(r.alert)) problems.push(`${where}: alert ${r.alert} twice`);
        seen.add(r.alert);
        const expr = String(r.expr ?? "");
        let depth = 0;
        for (const ch of expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
          depth += "({[".includes(ch) ? 1 : ")}]".includes(ch) ? -1 : 0;
          if (depth < 0) break;
        }
        if (!expr.trim() || depth !== 0) problems.push(`${where}: ${id}: expr is empty or its brackets do not balance: ${expr}`);
        if (r.alert && !r.labels?.severity) problems.push(`${where}: ${id} has no severity label`);
      }
    }
  }
}

const GRAFANA_BUILTINS = new Set(["__rate_interval", "__interval", "__interval_ms", "__range",
  "__range_s", "__range_ms", "__from", "__to", "__dashboard", "__name", "__org", "__user"]);

// A ConfigMap labelled for Grafana's dashboard sidecar: each .json key a
// dashboard with a uid and title, panels with unique ids, and queries that
// use only the variables it defines.
function checkDashboards(configMaps, problems, stats) {
  for (const cm of configMaps.filter((c) => c.metadata.labels?.grafana_dashboard !== undefined)) {
    for (const [key, text] of Object.entries(cm.data || {})) {
      const where = `ConfigMap ${cm.metadata.name} ${key}`;
      if (!key.endsWith(".json")) {
        problems.push(`${where}: the dashboard sidecar loads only .json keys`);
        continue;
      }
      let d;
      try {
        d = JSON.parse(text);
      } catch (e) {
        problems.push(`${where}: not JSON: ${e.message}`);
        continue;
      }
      if (!d.uid || !d.title || !Array.isArray(d.panels)) problems.push(`${where}: needs uid, title and panels`);
      const vars = new Set((d.templating?.list || []).map((v) => v.name));
      const ids = new Set();
      for (const p of d.panels || []) {
        if (ids.has(p.id)) problems.push(`${where}: panel id ${p.id} twice`);
        ids.add(p.id);
        if (!p.gridPos || !p.type) problems.push(`${where}: panel ${p.id} needs type and gridPos`);
        if (p.type === "row") continue;
        if (!p.targets?.length) problems.push(`${where}: panel ${p.id} (${p.title}) has no queries`);
        for (const t of p.targets || []) {
          if (!t.expr || !t.refId) problems.push(`${where}: panel ${p.id} (${p.title}): a target needs expr and refId`);
          stats.dashboardQueries++;
        }
      }
      const used = [...text.matchAll(/\$\{?(\w+)/g)].map((m) => m[1]);
      for (const v of new Set(used)) {
        if (!vars.has(v) && !GRAFANA_BUILTINS.has(v)) problems.push(`${where}: uses $${v}, which it does not define`);
      }
    }
  }
}

// ------------------------------------------------------------- driver

function parseStream(text, file) {
  const objects = [];
  const problems = [];
  for (const doc of parseAllDocuments(text, { version: "1.1", uniqueKeys: true })) {
    for (const e of [...doc.errors, ...doc.warnings]) problems.push(`${file}: YAML: ${e.message}`);
    const obj = doc.toJS();
    if (obj === null || obj === undefined) continue; // empty or comments only
    objects.push(obj);
  }
  return { objects, problems };
}

async function validateObjects(objects, schema) {
  const problems = [];
  const stats = { validated: 0, configFields: 0, kinds: {}, pods: [], dashboardQueries: 0 };
  const seen = new Set();
  for (const obj of objects) {
    const id = `${obj?.kind} ${obj?.metadata?.name}`;
    const Model = await modelFor(obj?.apiVersion, obj?.kind);
    if (!Model) {
      problems.push(`${id}: unknown kind ${obj?.apiVersion}/${obj?.kind} (no model in kubernetes-models or prometheus-operator)`);
      continue;
    }
    if (seen.has(`${obj.apiVersion}/${id}`)) problems.push(`${id}: rendered twice`);
    seen.add(`${obj.apiVersion}/${id}`);
    const errors = schemaErrors(Model, obj);
    for (const e of errors) problems.push(`${id}: ${e}`);
    const unknown = unknownFields(Model, obj);
    for (const u of unknown) problems.push(`${id}: unknown field ${u}`);
    if (errors.length || unknown.length) continue;
    stats.validated++;
    stats.kinds[obj.kind] = (stats.kinds[obj.kind] || 0) + 1;
  }
  if (problems.length === 0) checkWiring(objects, schema, problems, stats);
  return { problems, stats };
}

// Ways to break a valid stream, each of which must be reported: [what,
// the report expected, the kinds the stream must have, the breakage].
const BREAKAGES = [
  ["a misspelled probe field (periodSecond)", /unknown field .*livenessProbe\/periodSecond$/, [],
    (o) => { const p = sts(o).livenessProbe; p.periodSecond = p.periodSeconds; delete p.periodSeconds; }],
  ["a string where an integer belongs (grpc.port)", /readinessProbe\/grpc\/port must be integer/, [],
    (o) => { sts(o).readinessProbe.grpc.port = String(sts(o).readinessProbe.grpc.port); }],
  ["an unknown securityContext field (runAsNonroot)", /unknown field .*securityContext\/runAsNonroot$/, [],
    (o) => { sts(o).securityContext.runAsNonroot = true; }],
  ["a value outside an enum (imagePullPolicy Sometimes)", /imagePullPolicy must be equal to one of/, [],
    (o) => { sts(o).imagePullPolicy = "Sometimes"; }],
  ["an unknown kind (StatefullSet)", /unknown kind apps\/v1\/StatefullSet/, [],
    (o) => { o.find((x) => x.kind === "StatefulSet").kind = "StatefullSet"; }],
  ["a probe on a port the container does not declare", /livenessProbe port 50099 is not a port the container declares/, [],
    (o) => { sts(o).livenessProbe.grpc.port = 50099; }],
  ["a field persistd does not know in persistd.json", /metricsListn: not a ServerConfig field/, [],
    (o) => { editConfig(o, (c) => { c.metricsListn = c.metricsListen; }); }],
  ["a duration persistd cannot read (soon)", /syncInterval: "soon" is not a duration/, [],
    (o) => { editConfig(o, (c) => { c.syncInterval = "soon"; }); }],
  ["persistd.json that is not JSON", /is not JSON/, [],
    (o) => { const cm = o.find((x) => x.kind === "ConfigMap"); cm.data["persistd.json"] += ","; }],
  ["a Service port that targets an undeclared container port", /targets grpcc, which the pod does not declare/, [],
    (o) => { o.find((x) => x.kind === "Service").spec.ports[0].targetPort = "grpcc"; }],
  ["the metrics port on a LoadBalancer Service", /type LoadBalancer exposes port metrics \(metrics\) outside the cluster/, [],
    (o) => {
      const svc = o.find((x) => x.kind === "Service");
      svc.spec.type = "LoadBalancer";
      svc.spec.ports.push({ name: "metrics", port: 9090, targetPort: "metrics", protocol: "TCP" });
    }],
  ["a ServiceMonitor on the client Service (no metrics port)", /endpoint port metrics is not a port of the Service/, ["ServiceMonitor"],
    (o) => { o.find((x) => x.kind === "ServiceMonitor").spec.selector.matchLabels["app.kubernetes.io/component"] = "api"; }],
  ["a NetworkPolicy that shuts out the metrics port", /no ingress rule admits persistd's metrics port/, ["NetworkPolicy"],
    (o) => { const np = o.find((x) => x.kind === "NetworkPolicy"); np.spec.ingress = np.spec.ingress.filter((r) => !r.ports?.some((p) => p.port === "metrics")); }],
  ["a NetworkPolicy on a port the pod does not have", /ingress port grpcc is not a port of the pod/, ["NetworkPolicy"],
    (o) => { o.find((x) => x.kind === "NetworkPolicy").spec.ingress[0].ports[0].port = "grpcc"; }],
  ["a test pod calling a port persistd does not serve", /reaches no port of persistd/, ["Pod"],
    (o) => { const c = o.find((x) => x.kind === "Pod").spec.containers[0]; c.args[0] = c.args[0].replace(/:\d+$/, ":1"); }],
  ["a PrometheusRule whose expression does not close", /brackets do not balance/, ["PrometheusRule"],
    (o) => { const r = o.find((x) => x.kind === "PrometheusRule").spec.groups[0].rules[0]; r.expr = `(${r.expr}`; }],
  ["a PrometheusRule field misspelled (exprr)", /unknown field .*rules\/0\/exprr$/, ["PrometheusRule"],
    (o) => { const r = o.find((x) => x.kind === "PrometheusRule").spec.groups[0].rules[0]; r.exprr = r.expr; }],
  ["a dashboard that is not JSON", /persist\.json: not JSON/, ["ConfigMap"],
    (o) => { dashboard(o).data["persist.json"] += "}"; }],
  ["a dashboard query using an undefined variable", /uses \$cluster, which it does not define/, ["ConfigMap"],
    (o) => {
      const cm = dashboard(o);
      const d = JSON.parse(cm.data["persist.json"]);
      d.panels.find((p) => p.targets).targets[0].expr += ' * on() group_left() up{cluster="$cluster"}';
      cm.data["persist.json"] = JSON.stringify(d);
    }],
];

function sts(objects) {
  return objects.find((x) => x.kind === "StatefulSet").spec.template.spec.containers.find((c) => c.name === "persistd");
}

function dashboard(objects) {
  return objects.find((x) => x.kind === "ConfigMap" && x.metadata.labels?.grafana_dashboard !== undefined);
}

function editConfig(objects, edit) {
  const cm = objects.find((x) => x.kind === "ConfigMap");
  const cfg = JSON.parse(cm.data["persistd.json"]);
  edit(cfg);
  cm.data["persistd.json"] = JSON.stringify(cfg);
}

// Each breakage goes to the first stream that has what it breaks (the
// kinds it names, and a dashboard for the dashboard's).
async function selfTest(streams, schema) {
  for (const { file, objects } of streams) {
    const clean = await validateObjects(structuredClone(objects), schema);
    if (clean.problems.length) {
      console.error(clean.problems.join("\n"));
      throw new Error(`self-test: the unbroken ${file} does not validate`);
    }
  }
  let failed = 0;
  for (const [what, expected, kinds, breakIt] of BREAKAGES) {
    const target = streams.find(({ objects }) => kinds.every((k) => objects.some((x) => x.kind === k)) &&
      (!what.startsWith("a dashboard") || dashboard(objects)));
    if (!target) {
      failed++;
      console.error(`self-test: no stream has what "${what}" breaks (${kinds.join(", ")})`);
      continue;
    }
    const broken = structuredClone(target.objects);
    breakIt(broken);
    const { problems } = await validateObjects(broken, schema);
    if (!problems.some((p) => expected.test(p))) {
      failed++;
      console.error(`self-test: NOT caught: ${what}; reported: ${problems.join("; ") || "nothing"}`);
    }
  }
  if (failed) throw new Error(`self-test: ${failed} of ${BREAKAGES.length} broken manifests not caught`);
  console.log(`self-test: ${BREAKAGES.length} passed, 0 failed`);
}

async function main() {
  const args = process.argv.slice(2);
  let protoDir = null;
  let self = false;
  const files = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--proto-dir") protoDir = args[++i];
    else if (args[i] === "--self-test") self = true;
    else files.push(args[i]);
  }
  if (!protoDir || files.length === 0) {
    console.error("usage: node validate.mjs --proto-dir DIR [--self-test] rendered.yaml...");
    process.exit(2);
  }
  const schema = loadServerConfigSchema(protoDir);
  let bad = 0;
  const streams = [];
  for (const file of files) {
    const { objects, problems } = parseStream(readFileSync(file, "utf8"), file);
    if (problems.length) {
      console.error(problems.join("\n"));
      bad++;
      continue;
    }
    if (self) {
      streams.push({ file, objects });
      continue;
    }
    const result = await validateObjects(objects, schema);
    if (result.problems.length) {
      for (const p of result.problems) console.error(`${file}: ${p}`);
      bad++;
      continue;
    }
    const kinds = Object.entries(result.stats.kinds).map(([k, n]) => (n > 1 ? `${n} ${k}` : k)).join(", ");
    const queries = result.stats.dashboardQueries ? `; dashboard: ${result.stats.dashboardQueries} queries` : "";
    console.log(`${path.basename(file)}: ${objects.length} objects, ${result.stats.validated} validated against ${SCHEMA_VERSION} (strict fields; ${kinds}); persistd.json: ${result.stats.configFields} ServerConfig fields, wiring checked${queries}`);
  }
  if (self && !bad) await selfTest(streams, schema);
  process.exit(bad ? 1 : 0);
}

main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
