package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// configFaults is the error of a node config with faults: every one found,
// in the order found (the decoder's, in file order, then the checks'),
// so that one start shows them all (a trial's config with a kind whose
// env was an object and whose command did not exist was told only of the
// env). Each fault is one line naming its key in the config's dotted
// notation (kinds.NAME.env, timeouts.handshake).
type configFaults struct{ faults []string }

func (e *configFaults) Error() string { return joinFaults(e.faults, "faults in the config") }

// joinFaults is one fault as it is, or several numbered on one line: "N
// what: (1) … (2) …; fix them, then start the node again".
func joinFaults(faults []string, what string) string {
	if len(faults) == 1 {
		return faults[0]
	}
	out := make([]string, len(faults))
	for i, f := range faults {
		out[i] = fmt.Sprintf("(%d) %s", i+1, strings.TrimSuffix(f, ", then start the node again"))
	}
	return fmt.Sprintf("%d %s: %s; fix them, then start the node again", len(faults), what, strings.Join(out, " "))
}

// decodeFaults finds every unknown field and every value of the wrong
// JSON type in data, a syntactically valid JSON document, walking it
// along t (nodeFile): json's decoder goes on past such a fault but
// reports only the first. A value whose type has its own UnmarshalJSON
// (sizeSetting) is left to its own check.
func decodeFaults(data []byte, t reflect.Type) []string {
	var faults []string
	walkFaults(data, t, "", &faults)
	return faults
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

func walkFaults(raw []byte, t reflect.Type, path string, faults *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return
	}
	leaf := func() {
		err := json.Unmarshal(raw, reflect.New(t).Interface())
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if t.Kind() == reflect.Slice && te.Type != t {
				// An element of a list: the list's form is wanted.
				in := *te
				in.Type, in.Value = t, te.Value+" in the list"
				te = &in
			}
			*faults = append(*faults, typeErrorAt(path, te).Error())
		}
	}
	switch t.Kind() {
	case reflect.Struct:
		keys, vals, ok := objectMembers(raw)
		if !ok {
			leaf()
			return
		}
		allowed := jsonKeys(t)
		for i, k := range keys {
			f, ok := fieldFor(t, k)
			if !ok {
				where := path
				if where == "" {
					where = "at the top level"
				} else {
					where = "in " + where
				}
				*faults = append(*faults, unknownFieldAt(k, where, allowed))
				continue
			}
			walkFaults(vals[i], f.Type, joinPath(path, strings.Split(f.Tag.Get("json"), ",")[0]), faults)
		}
	case reflect.Map:
		keys, vals, ok := objectMembers(raw)
		if !ok {
			leaf()
			return
		}
		for i, k := range keys {
			walkFaults(vals[i], t.Elem(), joinPath(path, k), faults)
		}
	default:
		leaf()
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldFor is the field of struct t that JSON key k fills: its exact json
// key, else one equal to it but for case, as encoding/json matches.
func fieldFor(t reflect.Type, k string) (reflect.StructField, bool) {
	var fold *reflect.StructField
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		if name == k {
			return f, true
		}
		if fold == nil && strings.EqualFold(name, k) {
			fold = &f
		}
	}
	if fold != nil {
		return *fold, true
	}
	return reflect.StructField{}, false
}

// objectMembers returns the keys and values of the JSON object raw, in
// order; ok false when raw is not an object.
func objectMembers(raw []byte) (keys []string, vals []json.RawMessage, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, false
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, nil, false
		}
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return nil, nil, false
		}
		s, _ := k.(string)
		keys, vals = append(keys, s), append(vals, v)
	}
	return keys, vals, true
}
