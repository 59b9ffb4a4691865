package main

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// The fixture chart exercises what Helm does and a naive renderer would not:
// -f files deep-merged in order over values.yaml, a null deleting a default,
// --set assigning after every -f file whatever the order (with its types:
// int64, bool, "007" a string, gaps in lists null), --set-string and
// --set-file, values.schema.json applied to the result, missing values
// printing "" (missingkey=zero and the "<no value>" cleanup), values numbers
// being float64 (1000000 prints as 1e+06 unless piped to int), toYaml
// without its trailing newline, tpl, include, required, fromYaml, .Files
// (Get, Glob with ** and {a,b}, Lines, AsConfig) without the chart's own
// files or what .helmignore ignores, partials and NOTES.txt and empty
// documents not emitted, Helm's install order (ServiceAccount, ConfigMap,
// Service, then other kinds), stable within a kind, hooks after everything
// else, and Helm's quirk with a document that renders empty between two
// "---": its separator regexp eats the newline before the second one, which
// stays at the head of the next document.
func TestRenderMatchesHelm(t *testing.T) {
	got, err := render("testdata/fixture", "rel", "ns", valueOptions{
		files:      []string{"testdata/override1.yaml", "testdata/override2.yaml"},
		sets:       []string{"replaced=three,nested.d=4", "flag=true,count=007,n=12,setList[2]=x"},
		setStrings: []string{"str=true"},
		setFiles:   []string{"file=testdata/setfile.txt"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/expected.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("render differs from testdata/expected.yaml:\n--- got\n%s", got)
	}
}

func TestValuesSchemaRefusesAsHelmDoes(t *testing.T) {
	_, err := render("testdata/fixture", "rel", "ns", valueOptions{
		sets: []string{"keep=5,nested.x=no"},
	})
	// One line per violation, in no particular order (as in Helm).
	head := "values don't meet the specifications of the schema(s) in the following chart(s):\nfixture:\n"
	want := map[string]bool{
		"- keep: Invalid type. Expected: string, given: integer":     true,
		"- nested.x: Invalid type. Expected: integer, given: string": true,
	}
	if err == nil || !strings.HasPrefix(err.Error(), head) {
		t.Fatalf("got error %v", err)
	}
	got := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(err.Error(), head), "\n"), "\n") {
		got[line] = true
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got error %v", err)
	}
}

func TestSetParsesAsHelm(t *testing.T) {
	cases := []struct {
		arg  string
		base map[string]interface{}
		want map[string]interface{}
	}{
		{"a=b", nil, map[string]interface{}{"a": "b"}},
		{"a=1,b=0,c=01,d=1.5,e=true,f=FALSE,g=null,h=", nil, map[string]interface{}{
			"a": int64(1), "b": int64(0), "c": "01", "d": "1.5", "e": true, "f": false, "g": nil, "h": ""}},
		{"a.b.c=x", nil, map[string]interface{}{"a": map[string]interface{}{"b": map[string]interface{}{"c": "x"}}}},
		{"a[0]=x,a[2]=z", nil, map[string]interface{}{"a": []interface{}{"x", nil, "z"}}},
		{"a[0].b=1,a[0].c=2", nil, map[string]interface{}{"a": []interface{}{map[string]interface{}{"b": int64(1), "c": int64(2)}}}},
		{"a[0][1]=x", nil, map[string]interface{}{"a": []interface{}{[]interface{}{nil, "x"}}}},
		{"a={x,y},b=c", nil, map[string]interface{}{"a": []interface{}{"x", "y"}, "b": "c"}},
		{`a\.b=c\,d,e=f\=g`, nil, map[string]interface{}{"a.b": "c,d", "e": "f=g"}},
		// Into what the -f files gave: the README's --set-file case.
		{"list[0].content=c", map[string]interface{}{"list": []interface{}{map[string]interface{}{"path": "p"}}},
			map[string]interface{}{"list": []interface{}{map[string]interface{}{"path": "p", "content": "c"}}}},
		{"m.b=2", map[string]interface{}{"m": map[string]interface{}{"a": 1.0}},
			map[string]interface{}{"m": map[string]interface{}{"a": 1.0, "b": int64(2)}}},
	}
	for _, c := range cases {
		got := c.base
		if got == nil {
			got = map[string]interface{}{}
		}
		if err := parseSet(c.arg, got, typedValue); err != nil {
			t.Errorf("%s: %v", c.arg, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.arg, got, c.want)
		}
	}
	str := map[string]interface{}{}
	if err := parseSet("a=1,b=true", str, stringValue); err != nil || !reflect.DeepEqual(str, map[string]interface{}{"a": "1", "b": "true"}) {
		t.Errorf("--set-string: got %#v, %v", str, err)
	}
	for arg, want := range map[string]string{
		"a":          `key "a" has no value`,
		"a,b=c":      `key "a" has no value (cannot end with ,)`,
		"a[-1]=x":    "negative -1 index not allowed",
		"a[65537]=x": "index of 65537 is greater than maximum supported index of 65536",
		"a={x,y":     "list must terminate with '}'",
		"a[0]x=y":    `unexpected data at end of array index: "x"`,
		"s.t=1":      `key "s" is not a map`,
		"s[0]=1":     `key "s" is not a list`,
		"a[x]=1":     "error parsing index",
	} {
		err := parseSet(arg, map[string]interface{}{"s": "str"}, typedValue)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got error %v, want %q", arg, err, want)
		}
	}
}

func TestHelmignore(t *testing.T) {
	rules, err := readHelmignore("testdata/fixture")
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{
		"ignored": true, "files/d.txt.bak": true, "templates/.hidden": true,
		"files/a.txt": false, "templates/x.yaml": false, "ignored.txt": false,
	} {
		if got := ignored(rules, p, p == "ignored"); got != want {
			t.Errorf("%s: ignored %v, want %v", p, got, want)
		}
	}
}

func TestRequiredAndFailReportLikeHelm(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/bad/templates", 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"bad/Chart.yaml":        "apiVersion: v2\nname: bad\nversion: 0.1.0\n",
		"bad/templates/_h.tpl":  "{{- define \"x\" -}}{{ required \"need .Values.x\" .Values.x }}{{- end -}}",
		"bad/templates/cm.yaml": "a: {{ include \"x\" . }}\n",
	}
	for name, text := range files {
		if err := os.WriteFile(dir+"/"+name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := render(dir+"/bad", "rel", "ns", valueOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "execution error at (bad/templates/_h.tpl:1:") ||
		!strings.HasSuffix(err.Error(), "): need .Values.x") {
		t.Errorf("got error %v", err)
	}
}
