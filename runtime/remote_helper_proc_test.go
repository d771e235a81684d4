package runtime_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors/gateway"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// helperEnv makes the test binary a client process (runHelper) instead of
// running tests: one protoactor Remote per process, so a second client
// setup (TLS, or a client that is killed and restarted) is a process.
const helperEnv = "EXO_REMOTE_TEST_HELPER"

// runHelper runs one client scenario and prints its result on stdout:
//
//	subscribe: dial EXO_ADDR (lostAfter 30 s; listening on EXO_LISTEN when
//	           set), subscribe to tasks, print
//	           "subscribed", block
//	submit:    dial EXO_ADDR, spawn a "slow" runner, submit task "orphan"
//	           (1000 tokens), print "submitted", block
//	dial:      dial EXO_ADDR with TLS (EXO_CA, EXO_CERT, EXO_KEY; EXO_NOCERT
//	           dials without a client certificate, EXO_RAWTLS with the
//	           files as WithTLSConfig, which Dial does not check), list
//	           runners, print "ok" or "error: ..."
//	whoami:    dial EXO_ADDR listening on EXO_LISTEN, print "id " and the
//	           client's session actor ID, close
//	panic-node: serve a System whose runner actors a client can make panic
//	           (runPanicNode), print "listening ADDR", block
//	dial-close: dial EXO_ADDR and close, EXO_N times, print "closed", then
//	           wait for the node's endpoint to end (the test kills the
//	           node) and print "watched K": the watches protoactor's
//	           endpoint watcher still held for the node's address
//	dial-cluster: DialCluster cluster EXO_CLUSTER at peers EXO_PEERS
//	           (comma-separated), listening on EXO_LISTEN, print "error
//	           after D (invalid config: B, invalid request: B): TEXT" or
//	           "ok", close
//	serve-twice: serve with bad configs, then twice (runServeTwice)
//	serve-logger: where the gateway's lines go (runServeLogger)
func runHelper(mode string) int {
	if mode == "panic-node" {
		return runPanicNode()
	}
	if mode == "dial-close" {
		return runDialClose()
	}
	if mode == "serve-twice" {
		return runServeTwice()
	}
	if mode == "serve-logger" {
		return runServeLogger()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	addr := os.Getenv("EXO_ADDR")
	switch mode {
	case "whoami":
		c, err := exo.Dial(ctx, addr, exo.WithClientName("helper"), exo.WithClientListen(os.Getenv("EXO_LISTEN")))
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println("id", c.ActorIDForTest())
		c.Close()
		return 0
	case "subscribe":
		// lostAfter 30 s: a starved machine must not end this client
		// (TestRemoteClientRestart counts its subscription).
		opts := []exo.DialOption{exo.WithClientName("helper"), exo.WithHeartbeat(250*time.Millisecond, 30*time.Second)}
		if l := os.Getenv("EXO_LISTEN"); l != "" {
			opts = append(opts, exo.WithClientListen(l))
		}
		c, err := exo.Dial(ctx, addr, opts...)
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		if _, err := c.Subscribe(exo.TopicTasks, exo.Filter{}, exo.SubscribeOptions{}); err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println("subscribed")
		select {} // until killed
	case "submit":
		c, err := exo.Dial(ctx, addr, exo.WithClientName("helper"))
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "slow"})
		if err == nil {
			_, err = c.Submit(ctx, id, exo.Task{ID: "orphan", Kind: "text_generation", Params: map[string]string{"max_tokens": "1000"}})
		}
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println("submitted")
		select {} // until killed
	case "dial-cluster":
		start := time.Now()
		cc, err := exo.DialCluster(ctx, exo.ClusterConfig{Cluster: os.Getenv("EXO_CLUSTER"), Peers: strings.Split(os.Getenv("EXO_PEERS"), ","),
			Dial: []exo.DialOption{exo.WithClientListen(os.Getenv("EXO_LISTEN"))}})
		if err != nil {
			fmt.Printf("error after %s (invalid config: %v, invalid request: %v): %s\n", time.Since(start).Round(time.Millisecond),
				errors.Is(err, exo.ErrInvalidConfig), errors.Is(err, exo.ErrInvalidRequest), err)
			return 0
		}
		cc.Close()
		fmt.Println("ok")
		return 0
	case "dial":
		var opt exo.DialOption
		files := exo.TLSFiles{CAFile: os.Getenv("EXO_CA"), CertFile: os.Getenv("EXO_CERT"), KeyFile: os.Getenv("EXO_KEY")}
		if os.Getenv("EXO_NOCERT") != "" {
			srv, cli, err := gateway.TLSFiles(files).Configs()
			if err != nil {
				fmt.Println("error:", err)
				return 1
			}
			cli = &tls.Config{RootCAs: cli.RootCAs, MinVersion: tls.VersionTLS12}
			opt = exo.WithTLSConfig(srv, cli)
		} else if os.Getenv("EXO_RAWTLS") != "" {
			// The same files as TLS configs of the caller's own: Dial
			// checks nothing of them, so the node's own checks are met.
			tf := gateway.TLSFiles(files)
			tf.RequireClientCert = true
			srv, cli, err := tf.Configs()
			if err != nil {
				fmt.Println("error:", err)
				return 1
			}
			opt = exo.WithTLSConfig(srv, cli)
		} else {
			opt = exo.WithTLS(files)
		}
		start := time.Now()
		c, err := exo.Dial(ctx, addr, opt)
		if err != nil {
			fmt.Printf("error after %s: %s\n", time.Since(start).Round(time.Millisecond), strings.Join(strings.Fields(err.Error()), " "))
			return 0
		}
		if _, err := c.Runners(ctx); err != nil {
			fmt.Println("error:", err)
			return 0
		}
		if os.Getenv("EXO_PROBE_LISTENER") != "" {
			// Dial this client's own listener, as a stranger would: TLS
			// 1.2 so that a refused client certificate fails the handshake.
			_, cli, _ := gateway.TLSFiles(files).Configs()
			probe := &tls.Config{RootCAs: cli.RootCAs, MaxVersion: tls.VersionTLS12}
			if os.Getenv("EXO_PROBE_CERT") != "" {
				probe.Certificates = cli.Certificates
			}
			conn, err := tls.Dial("tcp", c.ListenAddr(), probe)
			if err != nil {
				fmt.Println("listener refused:", err)
				return 0
			}
			conn.Close()
			fmt.Println("listener accepted")
			return 0
		}
		fmt.Println("ok node=" + c.NodeName())
		return 0
	}
	fmt.Println("unknown helper mode", mode)
	return 2
}

// helperProc is a client process running runHelper.
type helperProc struct {
	cmd   *exec.Cmd
	lines chan string // stdout lines; capacity 16, never closed
	done  chan error  // capacity 1
}

func startHelper(t *testing.T, mode string, env ...string) *helperProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), helperEnv+"="+mode, markEnv()), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helperProc{cmd: cmd, lines: make(chan string, 16), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case h.lines <- sc.Text():
			default: // nobody reads that many
			}
		}
		h.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		err := <-h.done
		h.done <- err
	})
	return h
}

func (h *helperProc) line(t *testing.T, d time.Duration) string {
	t.Helper()
	select {
	case l := <-h.lines:
		return l
	case <-time.After(d):
		t.Fatalf("helper printed nothing within %s", d)
		return ""
	}
}

// wait waits (at most 30 s) for the helper to exit by itself, and reaps it.
func (h *helperProc) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-h.done:
		h.done <- err
		if err != nil {
			t.Errorf("helper: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("helper did not exit within 30s")
	}
}

// kill SIGKILLs the helper and reaps it.
func (h *helperProc) kill(t *testing.T) {
	_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
	err := <-h.done
	h.done <- err
}

// endpointEndHook catches protoactor's log line of an endpoint's end, which
// says how many watches its watcher held.
type endpointEndHook struct{ watched chan any } // capacity 1, never closed

func (h endpointEndHook) Levels() []logrus.Level { return logrus.AllLevels }
func (h endpointEndHook) Fire(e *logrus.Entry) error {
	if e.Message == "EndpointWatcher handling terminated" {
		select {
		case h.watched <- e.Data["watched"]:
		default:
		}
	}
	return nil
}

func runDialClose() int {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n, err := strconv.Atoi(os.Getenv("EXO_N"))
	if err != nil {
		fmt.Println("error: EXO_N:", err)
		return 2
	}
	hook := endpointEndHook{watched: make(chan any, 1)}
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	logger.SetLevel(logrus.DebugLevel)
	logger.AddHook(hook)
	for i := range n {
		c, err := exo.Dial(ctx, os.Getenv("EXO_ADDR"), exo.WithClientName("dial-close"), exo.WithClientLogger(logger))
		if err != nil {
			fmt.Println("error: dial", i, err)
			return 1
		}
		if err := c.Close(); err != nil {
			fmt.Println("error: close", i, err)
			return 1
		}
	}
	fmt.Println("closed")
	select {
	case w := <-hook.watched:
		fmt.Println("watched", w)
		return 0
	case <-ctx.Done():
		fmt.Println("error: no end of the node's endpoint")
		return 1
	}
}
