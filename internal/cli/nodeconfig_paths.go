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
			c.noteResolved("kinds."+name+".dir", s.Dir, "the config file's directory")
			s.Dir = filepath.Join(base, s.Dir)
		}
		if !s.Builtin && strings.Contains(s.Command, "/") && !filepath.IsAbs(s.Command) {
			from, fromWhat := base, "the config file's directory"
			if s.Dir != "" {
				from, fromWhat = s.Dir, "kinds."+name+".dir"
			}
			c.noteResolved("kinds."+name+".command", s.Command, fromWhat)
			s.Command = filepath.Join(from, s.Command)
		}
		c.kinds[name] = k
	}
	return nil
}

// resolvedPath is a relative path of a kind as the config wrote it, and
// what resolveKindPaths took it relative to ("the config file's
// directory", "kinds.js.dir").
type resolvedPath struct{ orig, from string }

func (c *nodeConfig) noteResolved(key, orig, from string) {
	if c.resolved == nil {
		c.resolved = map[string]resolvedPath{}
	}
	c.resolved[key] = resolvedPath{orig, from}
}

// asWritten names a resolved path's key with the value the config has and
// what it was taken relative to, for an error text: `kinds.js.dir,
// "models" in the config, relative to the config file's directory`; just
// the key when the path was not resolved.
func (c *nodeConfig) asWritten(key string) string {
	if r, ok := c.resolved[key]; ok {
		return fmt.Sprintf("%s, %q in the config, relative to %s", key, r.orig, r.from)
	}
	return key
}
