package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/internal/testutil"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// Config.Health.HTTP.Addr starts the endpoints with the System; Shutdown
// stops them after the node.
func TestSystemServesHTTP(t *testing.T) {
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	sys, err := exo.New(exo.Config{Logger: logger, DeadLetterThrottle: time.Millisecond,
		Health: exo.HealthConfig{HTTP: exo.HTTPConfig{Addr: "127.0.0.1:0"}}})
	if err != nil {
		t.Fatal(err)
	}
	addr := sys.HTTPAddr()
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("HTTPAddr %q", addr)
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz: %s", resp.Status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	raw, err := sys.StatusJSON(ctx)
	var doc struct {
		Node struct {
			State string `json:"state"`
		} `json:"node"`
		Runners []json.RawMessage `json:"runners"`
	}
	if err == nil {
		err = json.Unmarshal(raw, &doc)
	}
	if err != nil || doc.Node.State != "running" || len(doc.Runners) != 0 {
		t.Errorf("StatusJSON: %s, %v", raw, err)
	}
	if _, err := sys.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Error("the endpoints still answer after Shutdown")
	}
	http.DefaultClient.CloseIdleConnections()
}

// A bad health configuration or HTTP address is refused by New.
func TestSystemRefusesBadHealthConfig(t *testing.T) {
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	for _, c := range []struct {
		cfg  exo.HealthConfig
		want string
	}{
		{exo.HealthConfig{HealthSettings: exo.HealthSettings{Healthy: 0.4, Degraded: 0.6}}, "health thresholds out of order"},
		{exo.HealthConfig{HTTP: exo.HTTPConfig{Addr: "nonsense"}}, `HTTP address "nonsense": want host:port`},
	} {
		sys, err := exo.New(exo.Config{Logger: logger, DeadLetterThrottle: time.Millisecond, Health: c.cfg})
		if err == nil {
			_, _ = sys.Shutdown(context.Background())
			t.Errorf("%+v accepted", c.cfg)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %q, want %q", err, c.want)
		}
	}
}

// TestHTTPAddrNotOfThisHost: a Health.HTTP.Addr no interface of this host
// has fails New with a text that says so and what to listen on, not the
// raw "bind: cannot assign requested address"; the bind fails at once.
func TestHTTPAddrNotOfThisHost(t *testing.T) {
	addr := testutil.NotHostIP(t) + ":27150"
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	sys, err := exo.New(exo.Config{Logger: logger, DeadLetterThrottle: time.Millisecond,
		Health: exo.HealthConfig{HTTP: exo.HTTPConfig{Addr: addr}}})
	if err == nil {
		_, _ = sys.Shutdown(t.Context())
		t.Fatal("New listened on an address of another host")
	}
	want := `Health.HTTP.Addr "192.0.2.1:27150": 192.0.2.1 is not an address of this host (no interface has it); listen on one of this host's addresses, e.g. 127.0.0.1:27150 (loopback, the default host), or one that 'ip addr' lists: `
	if !strings.HasPrefix(err.Error(), want) || !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Errorf("New: %v\nwant: %s…", err, want)
	}
}

// TestHTTPAddrInUseSaysWhatToChange: a Health.HTTP.Addr another listener
// holds fails New with a text that names the field and what to change,
// not the raw "bind: address already in use"; nothing is left running.
func TestHTTPAddrInUseSaysWhatToChange(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	sys, err := exo.New(exo.Config{Logger: logger, DeadLetterThrottle: time.Millisecond,
		Health: exo.HealthConfig{HTTP: exo.HTTPConfig{Addr: ln.Addr().String()}}})
	if err == nil {
		_, _ = sys.Shutdown(t.Context())
		t.Fatal("New listened on an address in use")
	}
	want := fmt.Sprintf("Health.HTTP.Addr %q: the address is in use (another process listens there, or another System of this host): set another port, or port 0 for any free one", ln.Addr().String())
	if !strings.Contains(err.Error(), want) || !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("New: %v\nwant: %s", err, want)
	}
}
