package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

// readValues reads a values file as Helm does (sigs.k8s.io/yaml: through
// JSON, so numbers are float64 and keys strings).
func readValues(file string, optional bool) (map[string]interface{}, error) {
	data, err := readLocalFile(file)
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

// valueOptions are the values flags of `helm template`/`helm install`.
type valueOptions struct {
	files, sets, setStrings, setFiles []string
}

// userValues builds the user's values as Helm's values.Options.MergeValues
// does: the -f files deep-merged in order, then every --set, --set-string
// and --set-file in that order (whatever their order on the command line),
// each assigned into what came before. (--set-json and --set-literal are
// not implemented.)
func userValues(opts valueOptions) (map[string]interface{}, error) {
	base := map[string]interface{}{}
	for _, f := range opts.files {
		v, err := readValues(f, false)
		if err != nil {
			return nil, err
		}
		base = mergeMaps(base, v)
	}
	steps := []struct {
		flag string
		args []string
		read valueReader
	}{
		{"--set", opts.sets, typedValue},
		{"--set-string", opts.setStrings, stringValue},
		{"--set-file", opts.setFiles, fileValue},
	}
	for _, step := range steps {
		for _, arg := range step.args {
			if err := parseSet(arg, base, step.read); err != nil {
				return nil, fmt.Errorf("failed parsing %s data %q: %v", step.flag, arg, err)
			}
		}
	}
	return base, nil
}

// readLocalFile reads a --set-file or -f path ("-" is standard input).
func readLocalFile(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(path)
}
