// Command render renders a Helm chart the way `helm template` does, without
// Helm: the same template engine (text/template with missingkey=zero, sprig's
// TxtFuncMap without env/expandenv, and Helm's include, tpl, required, fail,
// toYaml, fromYaml, fromYamlArray, toJson, fromJson, fromJsonArray, lookup),
// the same values (values.yaml coalesced with the user's values: -f files
// deep-merged in order, then --set, --set-string and --set-file assigned
// into them with Helm's syntax and types; a null deletes the chart's
// default; YAML numbers are float64, as Helm reads them through
// sigs.k8s.io/yaml), values.schema.json applied to the result with Helm's
// library and messages, the same .Release, .Chart, .Capabilities, .Template
// and .Files (the chart's other files, less what .helmignore ignores), and
// the same output: a multi-document YAML stream in Helm's install order,
// hooks (helm test pods among them) after the rest, each document headed
// "# Source: <chart>/templates/<file>", empty documents dropped, NOTES.txt
// and _*.tpl files not emitted. Not implemented: --set-json,
// --set-literal, subcharts, toToml and the "<no value>" strict mode.
//
// Built in GOPATH mode from Debian's packages (scripts/check-helm-chart.sh):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o render ./helm/render
//	render --chart helm/persist --name persist --namespace default -f x.yaml \
//	  --set image.tag=1.2 --set-file 'schema.protoFiles[0].content=a.proto'
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

// chart is a chart folder as Helm's loader reads it.
type chart struct {
	meta      *Metadata
	defaults  map[string]interface{} // values.yaml
	schema    []byte                 // values.schema.json, or nil
	templates map[string]string      // by "<chart>/templates/<path>"
	files     Files                  // the rest: .Files
}

func loadChart(chartDir string) (*chart, error) {
	meta, err := loadMetadata(chartDir)
	if err != nil {
		return nil, err
	}
	all, err := chartFiles(chartDir)
	if err != nil {
		return nil, err
	}
	c := &chart{meta: meta, defaults: map[string]interface{}{}, schema: all["values.schema.json"],
		templates: map[string]string{}, files: Files{}}
	for _, n := range sortedKeys(all) {
		switch {
		case strings.HasPrefix(n, "charts/") || n == "requirements.yaml":
			return nil, fmt.Errorf("%s: subcharts are not implemented", n)
		case n == "values.yaml":
			if err := yaml.Unmarshal(all[n], &c.defaults); err != nil {
				return nil, fmt.Errorf("failed to parse values.yaml: %v", err)
			}
			if c.defaults == nil {
				c.defaults = map[string]interface{}{}
			}
		case strings.HasPrefix(n, "templates/"):
			c.templates[path.Join(meta.Name, n)] = string(all[n])
		case n != "Chart.yaml" && n != "Chart.lock" && n != "values.schema.json":
			c.files[n] = all[n]
		}
	}
	return c, nil
}

func render(chartDir, name, namespace string, opts valueOptions) (string, error) {
	c, err := loadChart(chartDir)
	if err != nil {
		return "", err
	}
	user, err := userValues(opts)
	if err != nil {
		return "", err
	}
	values := coalesce(user, c.defaults)
	if c.schema != nil {
		if err := validateValues(c.meta.Name, c.schema, values); err != nil {
			return "", err
		}
	}
	if c.meta.KubeVersion != "" {
		k, err := semver.NewConstraint(c.meta.KubeVersion)
		if err != nil {
			return "", fmt.Errorf("Chart.yaml: kubeVersion %q: %v", c.meta.KubeVersion, err)
		}
		if !k.Check(semver.MustParse(kubeVersion)) {
			return "", fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", c.meta.KubeVersion, kubeVersion)
		}
	}
	top := map[string]interface{}{
		"Values": values,
		"Release": map[string]interface{}{
			"Name": name, "Namespace": namespace, "IsUpgrade": false,
			"IsInstall": true, "Revision": 1, "Service": "Helm",
		},
		"Chart": c.meta,
		"Capabilities": &Capabilities{
			KubeVersion: KubeVersion{Version: kubeVersion, Major: "1", Minor: "33"},
			APIVersions: VersionSet{"v1", "apps/v1", "policy/v1", "batch/v1",
				"networking.k8s.io/v1", "rbac.authorization.k8s.io/v1",
				"autoscaling/v2", "storage.k8s.io/v1"},
			HelmVersion: map[string]string{"Version": "v3-compatible (helm/render)"},
		},
		"Files": c.files,
	}
	manifests, hooks, err := execute(c, top)
	if err != nil {
		return "", err
	}
	byKind(manifests)
	byKind(hooks)
	var stream strings.Builder
	for _, m := range append(manifests, hooks...) {
		fmt.Fprintf(&stream, "---\n# Source: %s\n%s\n", m.source, m.content)
	}
	return stream.String(), nil
}

type manifest struct {
	source, content, kind string
}

// execute runs every template but the partials and splits the output into
// documents: the release's, and hooks (those with a helm.sh/hook
// annotation, helm test pods among them), in template order.
func execute(c *chart, top map[string]interface{}) (manifests, hooks []manifest, err error) {
	names := make([]string, 0, len(c.templates))
	for n := range c.templates {
		names = append(names, n)
	}
	sort.Strings(names)
	root := template.New("gotpl")
	root.Option("missingkey=zero")
	includedNames := map[string]int{}
	root.Funcs(funcMap(root, includedNames))
	for _, n := range names {
		if _, err := root.New(n).Parse(c.templates[n]); err != nil {
			return nil, nil, fmt.Errorf("parse error in %s: %v", n, err)
		}
	}
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
			"Name": n, "BasePath": path.Join(c.meta.Name, "templates"),
		}
		var buf strings.Builder
		if err := root.ExecuteTemplate(&buf, n, vals); err != nil {
			return nil, nil, cleanupError(err)
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
				return nil, nil, fmt.Errorf("YAML parse error on %s: %v", n, err)
			}
			m := manifest{n, doc, head.Kind}
			if _, ok := head.Metadata.Annotations["helm.sh/hook"]; ok {
				hooks = append(hooks, m)
			} else {
				manifests = append(manifests, m)
			}
		}
	}
	return manifests, hooks, nil
}

// byKind sorts in Helm's install order, stable within a kind; kinds it does
// not list come last, by name.
func byKind(ms []manifest) {
	rank := func(kind string) int {
		for i, k := range installOrder {
			if k == kind {
				return i
			}
		}
		return len(installOrder)
	}
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := rank(ms[i].kind), rank(ms[j].kind)
		if a == b && a == len(installOrder) {
			return ms[i].kind < ms[j].kind
		}
		return a < b
	})
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
