package logbridge_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/internal/logbridge"
)

// TestProtoactorPeerLineLevelsAsDocumented: docs/cluster.md quotes the
// lines protoactor logs (all at error) when a peer leaves or a cluster
// starts or stops, each with the level the bridge gives it; each quote
// must be the line's start as the bridge writes it. The doc said
// "EndpointWriter failed to connect … connection refused" was a
// level=error line, but the bridge lowers it to warning (a new user's
// trial).
func TestProtoactorPeerLineLevelsAsDocumented(t *testing.T) {
	raw, err := os.ReadFile("../../docs/cluster.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(string(raw)), " ")
	refused := errors.New("rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial tcp 127.0.0.1:35929: connect: connection refused\"")
	for _, c := range []struct {
		msg string
		err error
	}{
		{"Bad connection to the node health status", refused},
		{"EndpointWriter failed to connect", refused},
		{"EndpointWriter failed to create receive stream", refused},
		{"EndpointWriter failed to receive connect response", refused},
		{"EndpointWriter lost connection", errors.New("EOF")},
		{"Automanaged server stopping..!", errors.New("http: Server closed")},
	} {
		var out bytes.Buffer
		l := logrus.New()
		l.SetOutput(&out)
		l.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true})
		l.SetLevel(logrus.TraceLevel)
		logbridge.NewSlog(l).Error(c.msg, slog.Any("error", c.err)) // as protoactor logs them
		line := out.String()
		i := strings.Index(line, `msg="`+c.msg+`"`)
		if i < 0 {
			t.Fatalf("bridge wrote %q for %q", line, c.msg)
		}
		want := line[:i+len(`msg="`+c.msg+`"`)]
		if !strings.Contains(doc, "`"+want) {
			t.Errorf("docs/cluster.md does not quote %q as `%s", c.msg, want)
		}
	}
}
