package cli

import (
	"fmt"
	"path/filepath"
	"strings"
)

// resolveKindPaths makes the relative paths of the kinds in a config read
// from configPath absolute, so that they mean the same whatever the node's
// working directory (a node started by systemd runs in /, one started by
// hand wherever its operator stood):
//
//   - a relative dir is taken from the config file's directory;
//   - a relative command with a '/' ("./bin/runner", "runners/llama.sh")
//     is taken from the kind's dir when it has one — where the runner
//     starts, as os/exec and RunnerSpec.Dir have it — else from the config
//     file's directory;
//   - a command without '/' stays a name looked up in the node's PATH, and
//     args are left as written: the runner reads them from its working
//     directory (its dir, else the node's).
//
// c.resolved keeps each original value, by key, for the error texts.
func resolveKindPaths(c *nodeConfig, configPath string) error {
	abs, err := filepath.Abs(configPath)
	if err != nil {
		return fmt.Errorf("cannot make the config path absolute to resolve the kinds' relative paths: %v; give --config as an absolute path", err)
	}
	base := filepath.Dir(abs)
	for name, k := range c.kinds {
		s := &k.Spec
		if s.Dir != "" && !filepath.IsAbs(s.Dir) {
			c.noteResolved("kinds."+name+".dir", s.Dir)
			s.Dir = filepath.Join(base, s.Dir)
		}
		if !s.Builtin && strings.Contains(s.Command, "/") && !filepath.IsAbs(s.Command) {
			c.noteResolved("kinds."+name+".command", s.Command)
			from := base
			if s.Dir != "" {
				from = s.Dir
			}
			s.Command = filepath.Join(from, s.Command)
		}
		c.kinds[name] = k
	}
	return nil
}

func (c *nodeConfig) noteResolved(key, orig string) {
	if c.resolved == nil {
		c.resolved = map[string]string{}
	}
	c.resolved[key] = orig
}

// asWritten names a resolved path's key with the value the config has,
// for an error text: `kinds.js.dir, "models" in the config`; just the key
// when the path was not resolved.
func (c *nodeConfig) asWritten(key string) string {
	if orig, ok := c.resolved[key]; ok {
		return fmt.Sprintf("%s, %q in the config, relative to its directory", key, orig)
	}
	return key
}
