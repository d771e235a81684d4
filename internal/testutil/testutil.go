package testutil

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"

	"github.com/exo-actors/exo-actors/internal/protocol"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// BuildExo builds the exo-actors command into dir and returns its path.
func BuildExo(dir string) (string, error) {
	goTool := filepath.Join(goruntime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			return "", fmt.Errorf("cannot find the go tool to build exo-actors: %w", err)
		}
	}
	bin := filepath.Join(dir, "exo-actors")
	out, err := exec.Command(goTool, "build", "-o", bin, "github.com/exo-actors/exo-actors/cmd/exo-actors").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build exo-actors: %v\n%s", err, out)
	}
	return bin, nil
}

// DescribeFrame renders a runner frame on one line for exact comparisons.
func DescribeFrame(env *exov1.RunnerEnvelope) string {
	switch b := env.GetBody().(type) {
	case *exov1.RunnerEnvelope_Hello:
		return "Hello"
	case *exov1.RunnerEnvelope_StatusUpdated:
		return "Status " + protocol.FormatStatus(b.StatusUpdated.GetStatus())
	case *exov1.RunnerEnvelope_TaskAcknowledged:
		return "Ack " + b.TaskAcknowledged.GetTaskId()
	case *exov1.RunnerEnvelope_TaskStatusUpdated:
		u := b.TaskStatusUpdated
		s := fmt.Sprintf("Task %s %s", u.GetTaskId(), strings.TrimPrefix(u.GetStatus().String(), "TASK_STATUS_"))
		if u.GetReason() != "" {
			s += ": " + u.GetReason()
		}
		return s
	case *exov1.RunnerEnvelope_ChunkGenerated:
		c := b.ChunkGenerated
		if e := c.GetError(); e != nil {
			return fmt.Sprintf("ErrorChunk %s #%d %s", c.GetTaskId(), c.GetIndex(), e.GetErrorMessage())
		}
		s := fmt.Sprintf("Chunk %s #%d %q", c.GetTaskId(), c.GetIndex(), c.GetToken().GetText())
		if r := c.GetToken().GetFinishReason(); r != "" {
			s += " " + r
		}
		return s
	case *exov1.RunnerEnvelope_TerminationError:
		return "Termination " + b.TerminationError.GetMessage()
	case *exov1.RunnerEnvelope_Heartbeat:
		h := b.Heartbeat
		return fmt.Sprintf("Heartbeat tokens=%d layers=%d completed=%d nonce=%d",
			h.GetTokensProduced(), h.GetLayersLoaded(), h.GetTasksCompleted(), h.GetPingNonce())
	}
	return "empty"
}

// MarkedProcesses lists live (non-zombie) processes other than this one whose
// environment holds key=value.
func MarkedProcesses(key, value string) []int {
	entries, _ := os.ReadDir("/proc")
	want := []byte(key + "=" + value + "\x00")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(append(env, 0), want) {
			continue
		}
		if ProcessState(pid) == "Z" {
			continue // a zombie is dead; its parent reaps it
		}
		pids = append(pids, pid)
	}
	return pids
}

// ProcessState returns the state letter from /proc/PID/stat ("" when gone).
func ProcessState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return ""
	}
	return string(b[i+2])
}
