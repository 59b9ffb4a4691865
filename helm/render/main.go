// Command render renders a Helm chart the way `helm template` does, without
// Helm: the same template engine (text/template with missingkey=zero, sprig's
// TxtFuncMap without env/expandenv, and Helm's include, tpl, required, fail,
// toYaml, fromYaml, fromYamlArray, toJson, fromJson, fromJsonArray, lookup),
// the same values (values.yaml coalesced with -f files, which are
// deep-merged in order; a null in a -f file deletes the chart's default; YAML
// numbers are float64, as Helm reads them through sigs.k8s.io/yaml), the same
// .Release, .Chart, .Capabilities and .Template, and the same output: a
// multi-document YAML stream in Helm's install order, each document headed
// "# Source: <chart>/templates/<file>", empty documents dropped, NOTES.txt and
// _*.tpl files not emitted. Not implemented: --set, .Files, subcharts,
// hooks, toToml, values.schema.json and the "<no value>" strict mode.
//
// Built in GOPATH mode from Debian's packages (scripts/check-helm-chart.sh):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o render ./helm/render
//	render --chart helm/persist --name persist --namespace default -f x.yaml
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/semver"
	"github.com/Masterminds/sprig"
	"sigs.k8s.io/yaml"
)

// The Kubernetes version .Capabilities reports and Chart.yaml's kubeVersion
// is checked against: the version of the validator's API schemas
// (helm/validate: kubernetes-models 4.5.1 is Kubernetes v1.33.0).
const kubeVersion = "v1.33.0"

// Metadata is Chart.yaml, as Helm's chart.Metadata (a struct: a field it
// does not have is a template error, as in Helm).
type Metadata struct {
	Name         string                   `json:"name,omitempty"`
	Home         string                   `json:"home,omitempty"`
	Sources      []string                 `json:"sources,omitempty"`
	Version      string                   `json:"version,omitempty"`
	Description  string                   `json:"description,omitempty"`
	Keywords     []string                 `json:"keywords,omitempty"`
	Maintainers  []map[string]interface{} `json:"maintainers,omitempty"`
	Icon         string                   `json:"icon,omitempty"`
	APIVersion   string                   `json:"apiVersion,omitempty"`
	Condition    string                   `json:"condition,omitempty"`
	Tags         string                   `json:"tags,omitempty"`
	AppVersion   string                   `json:"appVersion,omitempty"`
	Deprecated   bool                     `json:"deprecated,omitempty"`
	Annotations  map[string]string        `json:"annotations,omitempty"`
	KubeVersion  string                   `json:"kubeVersion,omitempty"`
	Dependencies []interface{}            `json:"dependencies,omitempty"`
	Type         string                   `json:"type,omitempty"`
}

// KubeVersion and VersionSet mirror Helm's chartutil types.
type KubeVersion struct {
	Version string
	Major   string
	Minor   string
}

func (k KubeVersion) String() string { return k.Version }

// GitVersion is Helm's deprecated alias of Version.
func (k KubeVersion) GitVersion() string { return k.Version }

type VersionSet []string

func (v VersionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions VersionSet
	HelmVersion map[string]string
}

// Helm's releaseutil.InstallOrder; other kinds come after, by name.
var installOrder = []string{
	"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota",
	"LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
	"ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
	"PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition",
	"ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
	"ClusterRoleBindingList", "Role", "RoleList", "RoleBinding",
	"RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController",
	"ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet",
	"Job", "CronJob", "IngressClass", "Ingress", "APIService",
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	chartDir := flag.String("chart", "", "the chart's folder (with Chart.yaml)")
	name := flag.String("name", "release-name", "the release name")
	namespace := flag.String("namespace", "default", "the release namespace")
	out := flag.String("o", "", "write the stream here instead of stdout")
	var valueFiles stringList
	flag.Var(&valueFiles, "f", "a values file, merged over values.yaml (repeatable; later wins)")
	flag.Parse()
	if *chartDir == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: render --chart DIR [--name N] [--namespace NS] [-f values.yaml]... [-o out.yaml]")
		os.Exit(2)
	}
	stream, err := render(*chartDir, *name, *namespace, valueFiles)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
	if *out == "" {
		os.Stdout.WriteString(stream)
		return
	}
	if err := os.WriteFile(*out, []byte(stream), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
}

func render(chartDir, name, namespace string, valueFiles []string) (string, error) {
	meta, err := loadMetadata(chartDir)
	if err != nil {
		return "", err
	}
	defaults, err := readValues(filepath.Join(chartDir, "values.yaml"), true)
	if err != nil {
		return "", err
	}
	user := map[string]interface{}{}
	for _, f := range valueFiles {
		v, err := readValues(f, false)
		if err != nil {
			return "", err
		}
		user = mergeMaps(user, v)
	}
	values := coalesce(user, defaults)

	caps := &Capabilities{
		KubeVersion: KubeVersion{Version: kubeVersion, Major: "1", Minor: "33"},
		APIVersions: VersionSet{"v1", "apps/v1", "policy/v1", "batch/v1",
			"networking.k8s.io/v1", "rbac.authorization.k8s.io/v1",
			"autoscaling/v2", "storage.k8s.io/v1"},
		HelmVersion: map[string]string{"Version": "v3-compatible (helm/render)"},
	}
	if meta.KubeVersion != "" {
		c, err := semver.NewConstraint(meta.KubeVersion)
		if err != nil {
			return "", fmt.Errorf("Chart.yaml: kubeVersion %q: %v", meta.KubeVersion, err)
		}
		if !c.Check(semver.MustParse(kubeVersion)) {
			return "", fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", meta.KubeVersion, kubeVersion)
		}
	}
	top := map[string]interface{}{
		"Values": values,
		"Release": map[string]interface{}{
			"Name": name, "Namespace": namespace, "IsUpgrade": false,
			"IsInstall": true, "Revision": 1, "Service": "Helm",
		},
		"Chart":        meta,
		"Capabilities": caps,
	}

	// Every file under templates/, named "<chart>/templates/<path>" as Helm
	// names them.
	var names []string
	sources := map[string]string{}
	tdir := filepath.Join(chartDir, "templates")
	err = filepath.Walk(tdir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(tdir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n := path.Join(meta.Name, "templates", filepath.ToSlash(rel))
		names = append(names, n)
		sources[n] = string(data)
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)

	root := template.New("gotpl")
	root.Option("missingkey=zero")
	includedNames := map[string]int{}
	root.Funcs(funcMap(root, includedNames))
	for _, n := range names {
		if _, err := root.New(n).Parse(sources[n]); err != nil {
			return "", fmt.Errorf("parse error in %s: %v", n, err)
		}
	}

	type manifest struct {
		source, content, kind string
	}
	var manifests []manifest
	for _, n := range names {
		base := path.Base(n)
		if strings.HasPrefix(base, "_") {
			continue // partials define templates only
		}
		vals := map[string]interface{}{}
		for k, v := range top {
			vals[k] = v
		}
		vals["Template"] = map[string]interface{}{
			"Name": n, "BasePath": path.Join(meta.Name, "templates"),
		}
		var buf strings.Builder
		if err := root.ExecuteTemplate(&buf, n, vals); err != nil {
			return "", cleanupError(err)
		}
		if base == "NOTES.txt" {
			continue // rendered (its errors count) but not a manifest
		}
		rendered := strings.ReplaceAll(buf.String(), "<no value>", "")
		for _, doc := range splitManifests(rendered) {
			var head struct {
				Kind string `json:"kind"`
			}
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				return "", fmt.Errorf("YAML parse error on %s: %v", n, err)
			}
			manifests = append(manifests, manifest{n, doc, head.Kind})
		}
	}
	rank := func(kind string) int {
		for i, k := range installOrder {
			if k == kind {
				return i
			}
		}
		return len(installOrder)
	}
	sort.SliceStable(manifests, func(i, j int) bool {
		a, b := rank(manifests[i].kind), rank(manifests[j].kind)
		if a == b && a == len(installOrder) {
			return manifests[i].kind < manifests[j].kind
		}
		return a < b
	})
	var stream strings.Builder
	for _, m := range manifests {
		fmt.Fprintf(&stream, "---\n# Source: %s\n%s\n", m.source, m.content)
	}
	return stream.String(), nil
}

func loadMetadata(chartDir string) (*Metadata, error) {
	data, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	meta := &Metadata{}
	if err := yaml.UnmarshalStrict(data, meta); err != nil {
		return nil, fmt.Errorf("Chart.yaml: %v", err)
	}
	switch {
	case meta.APIVersion != "v2":
		return nil, fmt.Errorf("Chart.yaml: apiVersion must be v2, not %q", meta.APIVersion)
	case meta.Name == "":
		return nil, errors.New("Chart.yaml: name is required")
	case meta.Name != filepath.Base(filepath.Clean(chartDir)):
		return nil, fmt.Errorf("Chart.yaml: name %q is not the chart folder's name", meta.Name)
	}
	if _, err := semver.StrictNewVersion(meta.Version); err != nil {
		return nil, fmt.Errorf("Chart.yaml: version %q is not SemVer 2: %v", meta.Version, err)
	}
	if meta.Type != "" && meta.Type != "application" {
		return nil, fmt.Errorf("Chart.yaml: type %q: only application charts render", meta.Type)
	}
	return meta, nil
}

// readValues reads a values file as Helm does (sigs.k8s.io/yaml: through
// JSON, so numbers are float64 and keys strings).
func readValues(file string, optional bool) (map[string]interface{}, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		if optional && os.IsNotExist(err) {
			return map[string]interface{}{}, nil
		}
		return nil, err
	}
	vals := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &vals); err != nil {
		return nil, fmt.Errorf("failed to parse %s: %v", file, err)
	}
	if vals == nil {
		vals = map[string]interface{}{}
	}
	return vals, nil
}

// mergeMaps is Helm's merge of -f files: b over a, tables merged deeply.
func mergeMaps(a, b map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if vm, ok := v.(map[string]interface{}); ok {
			if bv, ok := out[k].(map[string]interface{}); ok {
				out[k] = mergeMaps(bv, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// coalesce is Helm's CoalesceValues for a chart without dependencies: the
// user's values win; tables are coalesced deeply; a user's null removes the
// chart's default; a table is never replaced by a scalar or the reverse
// (Helm warns and keeps the user's value).
func coalesce(user, defaults map[string]interface{}) map[string]interface{} {
	dst := deepCopy(user).(map[string]interface{})
	coalesceTables(dst, deepCopy(defaults).(map[string]interface{}), "")
	return dst
}

func coalesceTables(dst, src map[string]interface{}, prefix string) {
	for key, val := range src {
		full := strings.TrimPrefix(prefix+"."+key, ".")
		dv, ok := dst[key]
		switch {
		case ok && dv == nil:
			delete(dst, key)
		case !ok:
			dst[key] = val
		case isTable(val):
			if isTable(dv) {
				coalesceTables(dv.(map[string]interface{}), val.(map[string]interface{}), full)
			} else {
				fmt.Fprintf(os.Stderr, "coalesce.go: warning: cannot overwrite table with non table for %s (%v)\n", full, val)
			}
		case isTable(dv) && val != nil:
			fmt.Fprintf(os.Stderr, "coalesce.go: warning: destination for %s is a table. Ignoring non-table value (%v)\n", full, val)
		}
	}
}

func isTable(v interface{}) bool {
	_, ok := v.(map[string]interface{})
	return ok
}

func deepCopy(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		m := make(map[string]interface{}, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []interface{}:
		l := make([]interface{}, len(t))
		for i, x := range t {
			l[i] = deepCopy(x)
		}
		return l
	}
	return v
}

// Helm's releaseutil.SplitManifests.
var sep = regexp.MustCompile("(?:^|\\s*\n)---\\s*")

func splitManifests(s string) []string {
	var docs []string
	for _, d := range sep.Split(strings.TrimSpace(s), -1) {
		if d = strings.TrimSpace(d); d != "" {
			docs = append(docs, d)
		}
	}
	return docs
}

const recursionMax = 1000

func funcMap(t *template.Template, includedNames map[string]int) template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	extra := template.FuncMap{
		"toYaml":        toYAML,
		"fromYaml":      fromYAML,
		"fromYamlArray": fromYAMLArray,
		"toJson":        toJSON,
		"fromJson":      fromJSON,
		"fromJsonArray": fromJSONArray,
		"include":       includeFun(t, includedNames),
		"tpl":           tplFun(t, includedNames),
		"required": func(warn string, val interface{}) (interface{}, error) {
			if val == nil {
				return val, errors.New(warn)
			} else if s, ok := val.(string); ok && s == "" {
				return val, errors.New(warn)
			}
			return val, nil
		},
		"fail": func(msg string) (string, error) { return "", errors.New(msg) },
		// helm template has no cluster: lookup finds nothing.
		"lookup": func(string, string, string, string) (map[string]interface{}, error) {
			return map[string]interface{}{}, nil
		},
	}
	for k, v := range extra {
		f[k] = v
	}
	return f
}

func includeFun(t *template.Template, includedNames map[string]int) func(string, interface{}) (string, error) {
	return func(name string, data interface{}) (string, error) {
		if includedNames[name] > recursionMax {
			return "", fmt.Errorf("unable to execute template: rendering template has a nested reference name: %s", name)
		}
		includedNames[name]++
		defer func() { includedNames[name]-- }()
		var buf strings.Builder
		err := t.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
}

func tplFun(parent *template.Template, includedNames map[string]int) func(string, interface{}) (string, error) {
	return func(text string, vals interface{}) (string, error) {
		t, err := parent.Clone()
		if err != nil {
			return "", fmt.Errorf("cannot clone template: %v", err)
		}
		t.Option("missingkey=zero")
		t.Funcs(template.FuncMap{
			"include": includeFun(t, includedNames),
			"tpl":     tplFun(t, includedNames),
		})
		t, err = t.New(parent.Name()).Parse(text)
		if err != nil {
			return "", fmt.Errorf("cannot parse template %q: %v", text, err)
		}
		var buf strings.Builder
		if err := t.Execute(&buf, vals); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %v", text, err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
}

// Helm's toYaml: sigs.k8s.io/yaml, trailing newline trimmed, "" on error.
func toYAML(v interface{}) string {
	data, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

func fromYAML(str string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(str), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromYAMLArray(str string) []interface{} {
	a := []interface{}{}
	if err := yaml.Unmarshal([]byte(str), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

func toJSON(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(data)
}

func fromJSON(str string) map[string]interface{} {
	m := make(map[string]interface{})
	if err := json.Unmarshal([]byte(str), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromJSONArray(str string) []interface{} {
	a := []interface{}{}
	if err := json.Unmarshal([]byte(str), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

// cleanupError reports a fail or required the way Helm does:
// "execution error at (<template>:<line>:<col>): <message>", naming the
// innermost template (text/template nests the errors of include).
var (
	location = regexp.MustCompile(`template: ([^:]+:\d+:\d+): executing`)
	called   = regexp.MustCompile(`error calling (?:fail|required): `)
)

func cleanupError(err error) error {
	msg := err.Error()
	calls := called.FindAllStringIndex(msg, -1)
	if len(calls) == 0 {
		return err
	}
	text := msg[calls[len(calls)-1][1]:]
	locs := location.FindAllStringSubmatch(msg, -1)
	return fmt.Errorf("execution error at (%s): %s", locs[len(locs)-1][1], text)
}
