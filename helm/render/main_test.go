package main

import (
	"os"
	"strings"
	"testing"
)

// The fixture chart exercises what Helm does and a naive renderer would not:
// -f files deep-merged in order over values.yaml, a null deleting a default,
// missing values printing "" (missingkey=zero and the "<no value>"
// cleanup), values numbers being float64 (1000000 prints as 1e+06 unless
// piped to int), toYaml without its trailing newline, tpl, include,
// required, fromYaml, partials, NOTES.txt and empty documents not emitted,
// Helm's install order (ServiceAccount, ConfigMap, Service, then other
// kinds), stable within a kind, and Helm's quirk with a document that
// renders empty between two "---": its separator regexp eats the newline
// before the second one, which stays at the head of the next document.
func TestRenderMatchesHelm(t *testing.T) {
	got, err := render("testdata/fixture", "rel", "ns",
		[]string{"testdata/override1.yaml", "testdata/override2.yaml"})
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
	_, err := render(dir+"/bad", "rel", "ns", nil)
	if err == nil || !strings.HasPrefix(err.Error(), "execution error at (bad/templates/_h.tpl:1:") ||
		!strings.HasSuffix(err.Error(), "): need .Values.x") {
		t.Errorf("got error %v", err)
	}
}
