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
	var opts valueOptions
	for _, f := range []string{"f", "values"} {
		flag.Var((*stringList)(&opts.files), f, "a values file, merged over values.yaml (repeatable; later wins)")
	}
	flag.Var((*stringList)(&opts.sets), "set", "key=value[,key=value] as helm --set (repeatable)")
	flag.Var((*stringList)(&opts.setStrings), "set-string", "as --set, every value a string")
	flag.Var((*stringList)(&opts.setFiles), "set-file", "key=path: the file's content as the value")
	flag.Parse()
	if *chartDir == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: render --chart DIR [--name N] [--namespace NS] [-f values.yaml]... "+
			"[--set k=v]... [--set-string k=v]... [--set-file k=path]... [-o out.yaml]")
		os.Exit(2)
	}
	stream, err := render(*chartDir, *name, *namespace, opts)
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

// The parts of a chart that are not .Files.
func isChartPart(name string) bool {
	switch name {
	case "Chart.yaml", "Chart.lock", "values.yaml", "values.schema.json", "requirements.yaml", "requirements.lock":
		return true
	}
	return strings.HasPrefix(name, "templates/") || strings.HasPrefix(name, "charts/")
}

func render(chartDir, name, namespace string, opts valueOptions) (string, error) {
	meta, err := loadMetadata(chartDir)
	if err != nil {
		return "", err
	}
	all, err := chartFiles(chartDir)
	if err != nil {
		return "", err
	}
	for n := range all {
		if strings.HasPrefix(n, "charts/") || n == "requirements.yaml" {
			return "", fmt.Errorf("%s: subcharts are not implemented", n)
		}
	}
	defaults := map[string]interface{}{}
	if data, ok := all["values.yaml"]; ok {
		if err := yaml.Unmarshal(data, &defaults); err != nil {
			return "", fmt.Errorf("failed to parse values.yaml: %v", err)
		}
		if defaults == nil {
			defaults = map[string]interface{}{}
		}
	}
	user, err := userValues(opts)
	if err != nil {
		return "", err
	}
	values := coalesce(user, defaults)
	if schema, ok := all["values.schema.json"]; ok {
		if err := validateValues(meta.Name, schema, values); err != nil {
			return "", err
		}
	}
	files := Files{}
	for n, data := range all {
		if !isChartPart(n) {
			files[n] = data
		}
	}

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
		"Files":        files,
	}

	// Every file under templates/, named "<chart>/templates/<path>" as Helm
	// names them.
	var names []string
	sources := map[string]string{}
	for _, n := range sortedKeys(all) {
		if strings.HasPrefix(n, "templates/") {
			full := path.Join(meta.Name, n)
			names = append(names, full)
			sources[full] = string(all[n])
		}
	}

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
	// Documents with a helm.sh/hook annotation are hooks (tests among
	// them): helm template prints them after the release's manifests.
	var manifests, hooks []manifest
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
				Kind     string `json:"kind"`
				Metadata struct {
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				return "", fmt.Errorf("YAML parse error on %s: %v", n, err)
			}
			m := manifest{n, doc, head.Kind}
			if _, ok := head.Metadata.Annotations["helm.sh/hook"]; ok {
				hooks = append(hooks, m)
			} else {
				manifests = append(manifests, m)
			}
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
	byKind := func(ms []manifest) {
		sort.SliceStable(ms, func(i, j int) bool {
			a, b := rank(ms[i].kind), rank(ms[j].kind)
			if a == b && a == len(installOrder) {
				return ms[i].kind < ms[j].kind
			}
			return a < b
		})
	}
	byKind(manifests)
	byKind(hooks)
	var stream strings.Builder
	for _, m := range append(manifests, hooks...) {
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
