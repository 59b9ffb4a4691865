package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// The chart's files as Helm's loader sees them: .helmignore's rules
// applied to every path (directories included, so an ignored folder is
// skipped whole), with Helm's default rule "templates/.?*" (hidden files in
// templates/). Chart.yaml, values.yaml, values.schema.json and templates/
// are the chart itself; every other file is in .Files.

// ignoreRule is one line of .helmignore.
type ignoreRule struct {
	pattern string
	negate  bool // "!pattern": keeps what an earlier rule ignored
	dirOnly bool // "pattern/": matches folders only
	rooted  bool // "/pattern" or "a/b": matched against the whole path
}

func readHelmignore(chartDir string) ([]ignoreRule, error) {
	rules := []ignoreRule{{pattern: "templates/.?*", rooted: true}}
	data, err := os.ReadFile(filepath.Join(chartDir, ".helmignore"))
	if os.IsNotExist(err) {
		return rules, nil
	}
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.Contains(line, "**") {
			return nil, fmt.Errorf(".helmignore: %q: double-star (**) syntax is not supported", line)
		}
		r := ignoreRule{}
		if strings.HasPrefix(line, "!") {
			r.negate, line = true, line[1:]
		}
		if strings.HasSuffix(line, "/") {
			r.dirOnly, line = true, strings.TrimSuffix(line, "/")
		}
		if strings.HasPrefix(line, "/") || strings.Contains(line, "/") {
			r.rooted, line = true, strings.TrimPrefix(line, "/")
		}
		if _, err := filepath.Match(line, ""); err != nil {
			return nil, fmt.Errorf(".helmignore: %q: %v", line, err)
		}
		r.pattern = line
		rules = append(rules, r)
	}
	return rules, nil
}

// ignored applies the rules in order, as Helm's ignore.Rules.Ignore: the
// first plain rule that matches ignores the path, a negated rule that does
// not match keeps it.
func ignored(rules []ignoreRule, rel string, isDir bool) bool {
	if rel == "." || rel == "" {
		return false
	}
	for _, r := range rules {
		subject := path.Base(rel)
		if r.rooted {
			subject = rel
		}
		matched, _ := filepath.Match(r.pattern, subject)
		if r.negate {
			if (r.dirOnly && !isDir) || !matched {
				return true
			}
			continue
		}
		if r.dirOnly && !isDir {
			continue
		}
		if matched {
			return true
		}
	}
	return false
}

// chartFiles is every file of the chart not ignored, by slash path.
func chartFiles(chartDir string) (map[string][]byte, error) {
	rules, err := readHelmignore(chartDir)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	err = filepath.Walk(chartDir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(chartDir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if ignored(rules, rel, info.IsDir()) {
			if info.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if info.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[rel] = data
		return nil
	})
	return files, err
}

// Files is .Files, Helm's chart.Files: the chart's other files, by path.
type Files map[string][]byte

// Get is a file's content, "" when there is no such file.
func (f Files) Get(name string) string { return string(f[name]) }

// GetBytes is a file's content as bytes.
func (f Files) GetBytes(name string) []byte { return f[name] }

// Glob is the files whose path matches pattern (gobwas/glob syntax, as in
// Helm: "*" within a folder, "**" across folders, "?", "[...]", "{a,b}").
func (f Files) Glob(pattern string) Files {
	re, err := globRegexp(pattern)
	out := Files{}
	if err != nil {
		return out
	}
	for name, data := range f {
		if re.MatchString(name) {
			out[name] = data
		}
	}
	return out
}

// AsConfig is the files as a ConfigMap's data: file name (without its
// folder) to content, in YAML.
func (f Files) AsConfig() string {
	m := map[string]string{}
	for name, data := range f {
		m[path.Base(name)] = string(data)
	}
	return toYAML(m)
}

// AsSecrets is the same with the contents base64-encoded.
func (f Files) AsSecrets() string {
	m := map[string]string{}
	for name, data := range f {
		m[path.Base(name)] = base64.StdEncoding.EncodeToString(data)
	}
	return toYAML(m)
}

// Lines is a file's lines, without a final empty one.
func (f Files) Lines(name string) []string {
	data, ok := f[name]
	if !ok || len(data) == 0 {
		return []string{}
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func globRegexp(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	inClass, inAlt := false, 0
	runes := []rune(pattern)
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		switch {
		case inClass:
			if r == ']' {
				inClass = false
			}
			if r == '!' && runes[i-1] == '[' {
				r = '^'
			}
			b.WriteRune(r)
		case r == '\\' && i+1 < len(runes):
			i++
			b.WriteString(regexp.QuoteMeta(string(runes[i])))
		case r == '*' && i+1 < len(runes) && runes[i+1] == '*':
			i++
			b.WriteString(".*")
		case r == '*':
			b.WriteString("[^/]*")
		case r == '?':
			b.WriteString("[^/]")
		case r == '[':
			inClass = true
			b.WriteRune(r)
		case r == '{':
			inAlt++
			b.WriteString("(?:")
		case r == '}' && inAlt > 0:
			inAlt--
			b.WriteString(")")
		case r == ',' && inAlt > 0:
			b.WriteString("|")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// sortedKeys is a map's keys in order.
func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
