package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

// duplicateKey walks a node config that decoded without error and returns
// an error naming the first object key that appears twice in one object.
// encoding/json keeps no such error: it merges a repeated object into the
// first (a map gains the second's entries) and lets a repeated scalar
// override, so a config edited in two places would run with a mix of both.
// It matches a struct field's key in any case ("Kinds" is "kinds"), so
// the keys of every object but the kinds map (whose keys are kind names,
// matched exactly) are compared case-folded.
func duplicateKey(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return walkDupValue(dec, nil)
}

// walkDupValue reads one JSON value; path names the keys leading to it.
func walkDupValue(dec *json.Decoder, path []string) error {
	tok, err := dec.Token()
	if err != nil {
		return nil // the decoder already accepted the document; nothing to add
	}
	switch tok {
	case json.Delim('{'):
		exact := len(path) == 1 && path[0] == "kinds" // a map: kind names
		seen := map[string]string{}                   // folded (or exact) key → the key as first written
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil
			}
			key, _ := kt.(string)
			id := key
			if !exact {
				id = foldKey(key)
			}
			if first, ok := seen[id]; ok {
				where := "at the top level"
				if len(path) > 0 {
					where = "in " + strings.ReplaceAll(strings.Join(path, "."), ".[", "[")
				}
				if first != key {
					return fmt.Errorf("duplicate key %q %s: JSON takes it for %q (a field's key matches in any case) and would silently merge or override the two; keep one %q", key, where, first, strings.ToLower(first))
				}
				return fmt.Errorf("duplicate key %q %s: JSON would silently merge or override the two; keep one %q", key, where, key)
			}
			seen[id] = key
			if err := walkDupValue(dec, append(path, key)); err != nil {
				return err
			}
		}
		_, _ = dec.Token() // '}'
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := walkDupValue(dec, append(path, fmt.Sprintf("[%d]", i))); err != nil {
				return err
			}
		}
		_, _ = dec.Token() // ']'
	}
	return nil
}

// foldKey maps key to one representative of its case-folding class: two
// keys get the same result exactly when strings.EqualFold says they are
// equal, which is how encoding/json matches a key to a struct field.
func foldKey(key string) string {
	return strings.Map(func(r rune) rune {
		// The smallest rune of r's simple-folding orbit.
		low := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			low = min(low, f)
		}
		return low
	}, key)
}
