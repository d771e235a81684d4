package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// duplicateKey walks a node config that decoded without error and returns
// an error naming the first object key that appears twice in one object.
// encoding/json keeps no such error: it merges a repeated object into the
// first (a map gains the second's entries) and lets a repeated scalar
// override, so a config edited in two places would run with a mix of both.
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
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil
			}
			key, _ := kt.(string)
			if seen[key] {
				where := "at the top level"
				if len(path) > 0 {
					where = "in " + strings.ReplaceAll(strings.Join(path, "."), ".[", "[")
				}
				return fmt.Errorf("duplicate key %q %s: JSON would silently merge or override the two; keep one %q", key, where, key)
			}
			seen[key] = true
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
