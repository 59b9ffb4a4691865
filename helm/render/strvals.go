package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The --set family of flags, with Helm's syntax and semantics (helm's
// pkg/strvals): "a.b=1,c[0].d=x,e={p,q}" assigns into the values built so
// far from the -f files, so "--set-file list[0].content=..." fills in an
// entry that a values file began. A backslash escapes the next character
// (in keys: "a\.b" is one key). Lists given by index grow as needed, with
// nulls in the gaps; an index past 65536 or below 0 is an error. With
// --set, true and false (any case) are booleans, null deletes a default,
// integers without a leading zero are int64 and everything else is a
// string; --set-string keeps every value a string; --set-file reads each
// value as a path and sets the file's content.

const (
	maxSetIndex = 65536
	maxSetDepth = 30
)

// valueReader turns the text after "=" into the value to set.
type valueReader func(text string) (interface{}, error)

// typedValue is --set's reading of a value.
func typedValue(text string) (interface{}, error) {
	switch {
	case strings.EqualFold(text, "true"):
		return true, nil
	case strings.EqualFold(text, "false"):
		return false, nil
	case strings.EqualFold(text, "null"):
		return nil, nil
	case text == "0":
		return int64(0), nil
	case text != "" && text[0] != '0':
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n, nil
		}
	}
	return text, nil
}

func stringValue(text string) (interface{}, error) { return text, nil }

func fileValue(path string) (interface{}, error) {
	data, err := readLocalFile(path)
	if err != nil {
		return nil, err
	}
	return string(data), nil
}

// setScanner walks one --set argument rune by rune.
type setScanner struct {
	in   []rune
	pos  int
	read valueReader
}

var errEnd = errors.New("end of input")

// until returns the text up to the first unescaped rune of stop, which it
// consumes and returns (0 at the end of the input, with errEnd).
func (s *setScanner) until(stop string) (string, rune, error) {
	var b strings.Builder
	for s.pos < len(s.in) {
		r := s.in[s.pos]
		s.pos++
		switch {
		case strings.ContainsRune(stop, r):
			return b.String(), r, nil
		case r == '\\':
			if s.pos == len(s.in) {
				return b.String(), 0, errEnd
			}
			b.WriteRune(s.in[s.pos])
			s.pos++
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), 0, errEnd
}

// parseSet applies one --set style argument to dest.
func parseSet(arg string, dest map[string]interface{}, read valueReader) error {
	s := &setScanner{in: []rune(arg), read: read}
	for s.pos < len(s.in) {
		if err := s.assign(dest, 0); err != nil {
			if errors.Is(err, errEnd) {
				return nil
			}
			return err
		}
	}
	return nil
}

// assign reads "key...=value" into data; errEnd when the input ended
// cleanly with it.
func (s *setScanner) assign(data map[string]interface{}, depth int) error {
	key, last, err := s.until("=[,.")
	switch {
	case err != nil:
		if key == "" {
			return err
		}
		return fmt.Errorf("key %q has no value", key)
	case last == ',':
		return fmt.Errorf("key %q has no value (cannot end with ,)", key)
	case last == '=':
		v, err := s.value()
		if err == nil || errors.Is(err, errEnd) {
			put(data, key, v)
		}
		return err
	case last == '[':
		index, err := s.index()
		if err != nil {
			return err
		}
		var list []interface{}
		if old, ok := data[key]; ok && old != nil {
			if list, ok = old.([]interface{}); !ok {
				return fmt.Errorf("key %q is not a list (it is %T) but is indexed", key, old)
			}
		}
		list, err = s.element(list, index, depth)
		put(data, key, list)
		return err
	default: // '.'
		if depth++; depth > maxSetDepth {
			return fmt.Errorf("value name nested level is greater than maximum supported nested level of %d", maxSetDepth)
		}
		inner := map[string]interface{}{}
		if old, ok := data[key]; ok && old != nil {
			if inner, ok = old.(map[string]interface{}); !ok {
				return fmt.Errorf("key %q is not a map (it is %T) but has a subkey", key, old)
			}
		}
		err := s.assign(inner, depth)
		if err == nil && len(inner) == 0 {
			return fmt.Errorf("key map %q has no value", key)
		}
		if len(inner) != 0 {
			put(data, key, inner)
		}
		return err
	}
}

// value reads what follows "=": "{a,b}" as a list, or text up to ",".
// A value that ends the input comes with errEnd.
func (s *setScanner) value() (interface{}, error) {
	if s.pos == len(s.in) {
		return "", errEnd // "a=" at the end is "", even for --set-file
	}
	if s.in[s.pos] != '{' {
		text, _, end := s.until(",")
		v, err := s.read(text)
		if err != nil {
			return nil, err
		}
		return v, end
	}
	s.pos++
	list := []interface{}{}
	for {
		text, last, err := s.until(",}")
		if err != nil {
			return nil, errors.New("list must terminate with '}'")
		}
		v, err := s.read(text)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
		if last == '}' {
			if s.pos < len(s.in) && s.in[s.pos] == ',' {
				s.pos++
			}
			if s.pos == len(s.in) {
				return list, errEnd
			}
			return list, nil
		}
	}
}

// index reads "N]".
func (s *setScanner) index() (int, error) {
	text, _, err := s.until("]")
	if err != nil {
		return 0, fmt.Errorf("error parsing index: %v", err)
	}
	i, err := strconv.Atoi(text)
	if err != nil {
		return 0, fmt.Errorf("error parsing index: %v", err)
	}
	if i < 0 {
		return 0, fmt.Errorf("negative %d index not allowed", i)
	}
	if i > maxSetIndex {
		return 0, fmt.Errorf("index of %d is greater than maximum supported index of %d", i, maxSetIndex)
	}
	return i, nil
}

// element reads what follows "list[i]" and sets list[i].
func (s *setScanner) element(list []interface{}, i, depth int) ([]interface{}, error) {
	text, last, err := s.until("[.=")
	switch {
	case text != "":
		return list, fmt.Errorf("unexpected data at end of array index: %q", text)
	case err != nil:
		return list, err
	case last == '=':
		v, err := s.value()
		if err != nil && !errors.Is(err, errEnd) {
			return list, err
		}
		return setAt(list, i, v), err
	case last == '[':
		j, err := s.index()
		if err != nil {
			return list, err
		}
		var inner []interface{}
		if i < len(list) && list[i] != nil {
			var ok bool
			if inner, ok = list[i].([]interface{}); !ok {
				return list, fmt.Errorf("element %d is not a list (it is %T) but is indexed", i, list[i])
			}
		}
		inner, err = s.element(inner, j, depth)
		if err != nil && !errors.Is(err, errEnd) {
			return list, err
		}
		return setAt(list, i, inner), err
	default: // '.'
		inner := map[string]interface{}{}
		if i < len(list) {
			// An element that is not a map (a gap, or out-of-order
			// indices) starts over as an empty map, as in Helm.
			if m, ok := list[i].(map[string]interface{}); ok {
				inner = m
			}
		}
		err := s.assign(inner, depth)
		if err != nil && !errors.Is(err, errEnd) {
			return list, err
		}
		return setAt(list, i, inner), err
	}
}

func setAt(list []interface{}, i int, v interface{}) []interface{} {
	for len(list) <= i {
		list = append(list, nil)
	}
	list[i] = v
	return list
}

// put sets data[key]; an empty key sets nothing.
func put(data map[string]interface{}, key string, v interface{}) {
	if key != "" {
		data[key] = v
	}
}
