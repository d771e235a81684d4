package webui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
)

// FaultInfo describes one fault the page offers.
type FaultInfo struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	Help  string `json:"help"`
}

// fault is one way to make a runner misbehave from the node's side: a
// signal to its process, or a task carrying the built-in runner's fault
// knob.
type fault struct {
	info   FaultInfo
	signal syscall.Signal // non-zero: send it to the runner's process
	knob   string         // otherwise: the task parameter "fault"
}

// faults returns the faults the page offers, in the buttons' order.
func faults() []fault {
	return []fault{
		{info: FaultInfo{Name: "crash", Label: "crash", Help: "SIGKILL to the runner's process: the supervisor restarts it with backoff"},
			signal: syscall.SIGKILL},
		{info: FaultInfo{Name: "hang", Label: "hang", Help: "SIGSTOP to the runner's process: no heartbeat; the health monitor or the watchdog restarts it"},
			signal: syscall.SIGSTOP},
		{info: FaultInfo{Name: "garbage", Label: "garbage", Help: "a task with fault=garbage: the built-in runner writes bytes that are no frame (a protocol error)"},
			knob: "garbage"},
	}
}

// Faults lists the faults the page offers.
func Faults() []FaultInfo {
	var out []FaultInfo
	for _, f := range faults() {
		out = append(out, f.info)
	}
	return out
}

func faultNames() string {
	var names []string
	for _, f := range faults() {
		names = append(names, f.info.Name)
	}
	return strings.Join(names, ", ")
}

// actionRequest is the body of both POST endpoints.
type actionRequest struct {
	// Kind names the fault (fault endpoint only).
	Kind string `json:"kind"`
	// Generation is the runner's generation the page saw: the action
	// applies to that process only.
	Generation *uint64 `json:"generation"`
}

// actionError is a refusal with its HTTP status.
type actionError struct {
	code int
	msg  string
	err  error // a sentinel it matches, or nil
}

func (e *actionError) Error() string { return e.msg }

// Unwrap returns the sentinel the refusal matches (errors.Is), if any.
func (e *actionError) Unwrap() error { return e.err }

func refuse(code int, format string, args ...any) error {
	return &actionError{code: code, msg: fmt.Sprintf(format, args...)}
}

// maxBody bounds an action's request body.
const maxBody = 4 << 10

// readAction checks that a POST may act and decodes its body.
func (h *handler) readAction(w http.ResponseWriter, r *http.Request, needKind bool) (actionRequest, error) {
	var req actionRequest
	if !h.cfg.Actions {
		program := h.cfg.Program
		if program == "" {
			program = "the node"
		}
		return req, refuse(http.StatusForbidden, "actions are off: start %s with --ui-actions to enable the fault and stop buttons", program)
	}
	if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host && o != "https://"+r.Host {
		return req, refuse(http.StatusForbidden, "origin %q refused: actions are taken from the page itself only", o)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return req, refuse(http.StatusUnsupportedMediaType, "want a JSON body (Content-Type: application/json), e.g. {\"kind\":\"crash\",\"generation\":1}")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return req, refuse(http.StatusBadRequest, "reading the body: %v (limit %d bytes)", err, maxBody)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, refuse(http.StatusBadRequest, "bad JSON body: %v; want {\"kind\":\"crash\",\"generation\":1}", err)
	}
	if req.Generation == nil {
		return req, refuse(http.StatusBadRequest, "generation missing: name the runner generation you saw (status.runners[].generation in GET /api/status)")
	}
	if needKind && req.Kind == "" {
		return req, refuse(http.StatusBadRequest, "kind missing: want one of %s", faultNames())
	}
	return req, nil
}

// current finds runner id at the generation the request saw.
func (h *handler) current(ctx context.Context, id string, gen uint64) (actors.RunnerInfo, []actors.RunnerInfo, error) {
	infos, err := h.node.Runners(ctx)
	if err != nil {
		return actors.RunnerInfo{}, nil, refuse(http.StatusServiceUnavailable, "listing the runners: %v", err)
	}
	for _, in := range infos {
		if in.ID != id {
			continue
		}
		if in.Removed() {
			escalated := ""
			if r := in.LastRecord; r != nil && (r.Decision.Action == errhandler.Escalate || r.Decision.Then == errhandler.Escalate) {
				escalated = string(r.Kind)
			}
			return in, infos, refuse(http.StatusConflict, "%s", StoppedForGood(id, in.Generation, escalated))
		}
		if in.Generation != gen {
			return in, infos, refuse(http.StatusConflict, "%s", StaleGeneration(id, in.Generation, gen))
		}
		return in, infos, nil
	}
	return actors.RunnerInfo{}, infos, &actionError{code: http.StatusNotFound, msg: fmt.Sprintf("unknown runner %q", id), err: actors.ErrUnknownRunner}
}

// StaleGeneration is the refusal of an action at generation saw on runner
// id, which is at generation now: an older generation restarted since the
// page looked; a newer one cannot have been on the page at all.
func StaleGeneration(id string, now, saw uint64) string {
	if saw > now {
		return fmt.Sprintf("runner %s is at generation %d: generation %d has not started, so no page showed it; reload the page and use the generation it lists (status.runners[].generation in GET /api/status)", id, now, saw)
	}
	return fmt.Sprintf("runner %s is at generation %d now, not %d: it restarted since the page looked; try again", id, now, saw)
}

// StoppedForGood is the refusal of an action on runner id, at generation
// gen, which has no process and will not restart: escalated names the
// failure kind its last error record escalated ("exit_nonzero"), "" for a
// runner stopped otherwise.
func StoppedForGood(id string, gen uint64, escalated string) string {
	how := "stopped for good"
	if escalated != "" {
		how = fmt.Sprintf("stopped for good: it escalated at generation %d (%s)", gen, escalated)
	}
	return fmt.Sprintf("runner %s is %s: it has no process and will not restart (the page lists it until the node forgets it)", id, how)
}

func (h *handler) fault(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	req, err := h.readAction(w, r, true)
	if err != nil {
		h.answer(w, id, "fault", req, "", err)
		return
	}
	action := "fault " + req.Kind
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	var result string
	if rn, ok := h.node.(Remote); ok {
		if _, known := findFault(req.Kind); !known {
			err = refuse(http.StatusBadRequest, "unknown fault %q: want one of %s", req.Kind, faultNames())
		} else {
			result, err = rn.InjectFault(ctx, id, *req.Generation, req.Kind)
			err = remoteRefusal(err)
		}
	} else {
		result, err = h.inject(ctx, id, *req.Generation, req.Kind)
	}
	h.answer(w, id, action, req, result, err)
}

func findFault(kind string) (fault, bool) {
	for _, c := range faults() {
		if c.info.Name == kind {
			return c, true
		}
	}
	return fault{}, false
}

// Inject injects fault kind ("crash", "hang" or "garbage", see Faults) into
// runner id of node n, which must be at generation gen, as the page's
// button does, and says what it did. A signal goes only to a live runner
// process that is a child of this process. A refusal's error says why in
// one line; it wraps actors.ErrUnknownRunner for an unknown runner.
// `exo-actors node --allow-faults` serves it to its gateway's clients.
func Inject(ctx context.Context, n Node, id string, gen uint64, kind string) (string, error) {
	h := newHandler(n, Config{Actions: true})
	// Each call has a handler of its own: a prefix unique per call keeps
	// the garbage task's ID from repeating (the node dedups task IDs).
	h.taskPrefix = fmt.Sprintf("fault-%d", time.Now().UnixNano())
	return h.inject(ctx, id, gen, kind)
}

func (h *handler) inject(ctx context.Context, id string, gen uint64, kind string) (string, error) {
	f, ok := findFault(kind)
	if !ok {
		return "", refuse(http.StatusBadRequest, "unknown fault %q: want one of %s", kind, faultNames())
	}
	in, infos, err := h.current(ctx, id, gen)
	if err != nil {
		return "", err
	}
	if f.signal != 0 {
		if err := ownProcess(in, infos); err != nil {
			return "", err
		}
		if err := h.signal(in.Pid, f.signal); err != nil {
			return "", refuse(http.StatusConflict, "signal %s to pid %d: %v", sigName(f.signal), in.Pid, err)
		}
		return fmt.Sprintf("%s sent to pid %d", sigName(f.signal), in.Pid), nil
	}
	h.mu.Lock()
	h.sequence++
	task := actors.TaskSpec{ID: fmt.Sprintf("%s-%s-%d", h.taskPrefix, f.knob, h.sequence), Kind: "text_generation",
		Params: map[string]string{"fault": f.knob}}
	h.mu.Unlock()
	if _, err := h.node.Submit(ctx, id, task); err != nil {
		return "", refuse(http.StatusConflict, "submit task %s: %v", task.ID, err)
	}
	return fmt.Sprintf("task %s submitted (fault=%s)", task.ID, f.knob), nil
}

// Remote is a Node whose runners live in other processes (the cluster
// demo's nodes): the page's buttons then ask it to act, instead of
// signalling local processes. Its errors may carry an HTTP status
// (a method HTTPStatus() int); otherwise a refusal answers 409.
type Remote interface {
	// InjectFault injects fault kind into runner id at generation gen.
	InjectFault(ctx context.Context, id string, gen uint64, kind string) (string, error)
	// StopRunnerAt stops runner id if it is at generation gen.
	StopRunnerAt(ctx context.Context, id string, gen uint64) (string, error)
}

// remoteRefusal turns a Remote's error into the page's refusal.
func remoteRefusal(err error) error {
	if err == nil {
		return nil
	}
	code := http.StatusConflict
	var hs interface{ HTTPStatus() int }
	if errors.As(err, &hs) {
		code = hs.HTTPStatus()
	}
	return refuse(code, "%v", err)
}

func (h *handler) stop(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	req, err := h.readAction(w, r, false)
	if err == nil && req.Kind != "" {
		err = refuse(http.StatusBadRequest, "stop takes no kind (got %q)", req.Kind)
	}
	if err != nil {
		h.answer(w, id, "stop", req, "", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	if rn, ok := h.node.(Remote); ok {
		res, err := rn.StopRunnerAt(ctx, id, *req.Generation)
		h.answer(w, id, "stop", req, res, remoteRefusal(err))
		return
	}
	if _, _, err := h.current(ctx, id, *req.Generation); err != nil {
		h.answer(w, id, "stop", req, "", err)
		return
	}
	res, err := h.node.StopRunner(ctx, id)
	if err != nil {
		h.answer(w, id, "stop", req, "", refuse(http.StatusConflict, "stop: %v", err))
		return
	}
	h.answer(w, id, "stop", req, fmt.Sprintf("stopped: %s after %s", res.Summary(), res.Total.Round(time.Millisecond)), nil)
}

// answer writes the action's outcome and logs it on the page (refusals
// before any runner was looked at — actions off, bad request — are not
// logged: they did nothing).
func (h *handler) answer(w http.ResponseWriter, id, action string, req actionRequest, result string, err error) {
	var gen uint64
	if req.Generation != nil {
		gen = *req.Generation
	}
	code := http.StatusOK
	if err != nil {
		code = http.StatusInternalServerError
		var ae *actionError
		if errors.As(err, &ae) {
			code = ae.code
		}
		result = err.Error()
	}
	if code == http.StatusOK || code == http.StatusConflict || code == http.StatusNotFound || code == http.StatusServiceUnavailable {
		h.mu.Lock()
		h.log = append(h.log, LogEntry{Time: time.Now(), RunnerID: id, Action: action, Generation: gen, Result: result, OK: err == nil})
		if len(h.log) > maxLog {
			h.log = append([]LogEntry(nil), h.log[len(h.log)-maxLog:]...)
		}
		h.mu.Unlock()
	}
	// A stop may take as long as the response's write timeout
	// (requestTimeout, 30s), which counts from the request: the answer
	// gets one of its own. (An httptest.ResponseRecorder has no deadline:
	// ErrNotSupported.)
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(h.cfg.writeTimeout()))
	if err != nil {
		writeError(w, code, err.Error())
		return
	}
	writeJSON(w, code, map[string]any{"ok": true, "result": result})
}

// ownProcess refuses to signal anything but a live runner process of this
// node: the recorded pid must be a child of this process that leads its own
// process group (as every runner does), not a zombie, and claimed by no
// other runner. A pid outlives its process in the runner's record, and the
// kernel may give it to another process.
func ownProcess(in actors.RunnerInfo, infos []actors.RunnerInfo) error {
	if in.Pid <= 0 {
		return refuse(http.StatusConflict, "runner %s has no process now (generation %d not started yet)", in.ID, in.Generation)
	}
	for _, o := range infos {
		if o.ID != in.ID && o.Pid == in.Pid {
			return refuse(http.StatusConflict, "runner %s: pid %d now belongs to runner %s; its own process has ended", in.ID, in.Pid, o.ID)
		}
	}
	state, ppid, pgrp, err := procStat(in.Pid)
	switch {
	case err != nil && in.Restarting:
		return refuse(http.StatusConflict, "runner %s: its process %d has ended and it waits to restart (%s): reload the page and try again once generation %d runs", in.ID, in.Pid, in.StatusText(), in.Generation+1)
	case err != nil:
		return refuse(http.StatusConflict, "runner %s: its process %d has ended (the node is handling its exit: reload the page to see what follows)", in.ID, in.Pid)
	case state == "Z":
		return refuse(http.StatusConflict, "runner %s: its process %d has exited (not reaped yet)", in.ID, in.Pid)
	case ppid != os.Getpid() || pgrp != in.Pid:
		return refuse(http.StatusConflict, "runner %s: pid %d is no longer its process (parent %d, group %d)", in.ID, in.Pid, ppid, pgrp)
	}
	return nil
}

// procStat reads a process's state, parent and process group from
// /proc/PID/stat.
func procStat(pid int) (state string, ppid, pgrp int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return "", 0, 0, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 3 {
		return "", 0, 0, fmt.Errorf("/proc/%d/stat: %d fields after the name", pid, len(f))
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgrp, err2 := strconv.Atoi(f[2])
	if err := errors.Join(err1, err2); err != nil {
		return "", 0, 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return f[0], ppid, pgrp, nil
}

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGSTOP:
		return "SIGSTOP"
	}
	return s.String()
}
