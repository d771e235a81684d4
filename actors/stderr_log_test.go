package actors_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
)

// TestRunnerStderrJSONLog: each line a runner writes to stderr is one log
// entry with a fixed message ("runner stderr"), the line in the field
// "line" and the runner's runner_id, runner_kind, generation and pid, so
// that with the JSON formatter it is one JSON object per line whatever the
// runner wrote (quotes, control bytes, its own JSON logs). A line over
// 4096 bytes is cut, ends with the truncation marker and carries
// truncated_bytes. Before, the line was the entry's message (no fixed
// message to select on), no entry named the runner's kind, a 10,000-byte
// line came out as three entries of 4096, 4096 and 1808 bytes, and a
// "\r\n" line kept its "\r".
func TestRunnerStderrJSONLog(t *testing.T) {
	script := `printf 'plain line\n' >&2
printf '{"level":"warn","msg":"runner json"}\r\n' >&2
printf 'ctl \033[31mred\033[0m "q" \\ end\n' >&2
head -c 10000 /dev/zero | tr '\0' 'x' >&2; printf '\n' >&2
exec "$0" runner --layers 1 --layer-delay 0s --warmup-delay 0s`
	n := startNode(t)
	id, err := n.SpawnRunner(ctxT(t), actors.RunnerSpec{Kind: "noisy", Command: "/bin/sh", Args: []string{"-c", script, binary}})
	if err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "Ready", hasStatus(id, ready))
	var got []*logrus.Entry
	n.logs.waitLog(t, 20*time.Second, "the four stderr lines", func(*logrus.Entry) bool {
		got = got[:0]
		for _, e := range n.logs.all() {
			if e.Message == "runner stderr" && e.Data["runner_id"] == id && !strings.HasPrefix(e.Data["line"].(string), "time=") {
				got = append(got, e)
			}
		}
		return len(got) >= 4
	})
	want := []string{"plain line", `{"level":"warn","msg":"runner json"}`, "ctl \x1b[31mred\x1b[0m \"q\" \\ end",
		strings.Repeat("x", 4096) + " …[truncated 5904 bytes]"}
	if len(got) != len(want) {
		t.Fatalf("%d stderr entries, want %d", len(got), len(want))
	}
	f := &logrus.JSONFormatter{}
	for i, e := range got {
		out, err := f.Format(e)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Count(out, []byte("\n")) != 1 || out[len(out)-1] != '\n' {
			t.Errorf("entry %d is not one line of JSON: %q", i, out)
		}
		var obj map[string]any
		if err := json.Unmarshal(out, &obj); err != nil {
			t.Fatalf("entry %d: %v: %s", i, err, out)
		}
		if obj["msg"] != "runner stderr" || obj["line"] != want[i] || obj["stream"] != "stderr" ||
			obj["runner_id"] != id || obj["runner_kind"] != "noisy" || obj["generation"] == nil || obj["pid"] == nil {
			t.Errorf("entry %d: %s\nwant msg \"runner stderr\", line %.60q…, stream, runner_id, runner_kind, generation, pid", i, out, want[i])
		}
		if tb, ok := obj["truncated_bytes"]; (i == 3) != ok || ok && tb != float64(5904) {
			t.Errorf("entry %d: truncated_bytes %v", i, tb)
		}
	}
}
