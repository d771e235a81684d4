package gateway

import (
	"errors"
	"fmt"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/internal/protocol"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// Errors of the remote API, tested with errors.Is; package runtime
// re-exports them.
var (
	// ErrUnknownKind: the node's configuration names no runner kind of
	// that name. The error text lists the kinds it has.
	ErrUnknownKind = errors.New("unknown runner kind")
	// ErrNodeLost: the node went away (its process died, its connection
	// dropped, or it stopped answering the heartbeat). Every open task of
	// it ended Failed with a reason naming the node, every subscription
	// ended with an error wrapping it, and every later call returns it.
	ErrNodeLost = errors.New("node lost")
	// ErrMessageTooLarge: a request exceeds the message size limit.
	ErrMessageTooLarge = errors.New("message too large")
	// ErrUnsupported: the gateway received a message that is not one of
	// its requests.
	ErrUnsupported = errors.New("not a gateway request")
	// ErrUnknownTopic: no stream of that topic.
	ErrUnknownTopic = actors.ErrUnknownTopic
	// ErrNoSession: a request came from a client that has no session
	// (no GwHello, or the session was dropped): reconnect.
	ErrNoSession = errors.New("no session with this client")
	// ErrInvalidArgument: a request was malformed; the text says how.
	ErrInvalidArgument = actors.ErrInvalidRequest
	// ErrLimit: a bound of the gateway (sessions, subscriptions or open
	// tasks per session) is reached; the text names it.
	ErrLimit = errors.New("gateway limit reached")
)

var codeErrs = []struct {
	code exov1.GwCode
	err  error
}{
	{exov1.GwCode_GW_CODE_UNKNOWN_KIND, ErrUnknownKind},
	{exov1.GwCode_GW_CODE_UNKNOWN_RUNNER, actors.ErrUnknownRunner},
	{exov1.GwCode_GW_CODE_SHUTTING_DOWN, actors.ErrShuttingDown},
	{exov1.GwCode_GW_CODE_QUEUE_FULL, actors.ErrQueueFull},
	{exov1.GwCode_GW_CODE_RUNNER_NOT_AVAILABLE, actors.ErrRunnerNotAvailable},
	{exov1.GwCode_GW_CODE_TASK_NOT_FOUND, actors.ErrTaskNotFound},
	{exov1.GwCode_GW_CODE_TOO_LARGE, ErrMessageTooLarge},
	{exov1.GwCode_GW_CODE_UNSUPPORTED, ErrUnsupported},
	{exov1.GwCode_GW_CODE_UNKNOWN_TOPIC, ErrUnknownTopic},
	{exov1.GwCode_GW_CODE_NO_SESSION, ErrNoSession},
	{exov1.GwCode_GW_CODE_INVALID_TASK, actors.ErrInvalidTask},
	{exov1.GwCode_GW_CODE_INVALID_ARGUMENT, ErrInvalidArgument},
	{exov1.GwCode_GW_CODE_LIMIT, ErrLimit},
}

// detailErrs are the sentinels sent in GwError.detail, beside the code of
// the sentinel they wrap (or none): a client that predates the field reads
// the code alone, as before. Each detail's sentinel must wrap its code's
// sentinel (TestCodes), so that the client's one Unwrap
// (the detail's) keeps errors.Is of the code's.
var detailErrs = []struct {
	code exov1.GwCode
	err  error
}{
	{exov1.GwCode_GW_CODE_STOPPED, actors.ErrStopped},
	{exov1.GwCode_GW_CODE_INVALID_SPEC, actors.ErrInvalidSpec},
}

// Detail returns the detail code of err (GwError.detail): the code of the
// first detail sentinel it wraps, or GW_CODE_UNSPECIFIED.
func Detail(err error) exov1.GwCode {
	for _, ce := range detailErrs {
		if errors.Is(err, ce.err) {
			return ce.code
		}
	}
	return exov1.GwCode_GW_CODE_UNSPECIFIED
}

// Code returns the wire code of err: the code of the first sentinel it
// wraps, or GW_CODE_UNSPECIFIED.
func Code(err error) exov1.GwCode {
	for _, ce := range codeErrs {
		if errors.Is(err, ce.err) {
			return ce.code
		}
	}
	return exov1.GwCode_GW_CODE_UNSPECIFIED
}

// RemoteError is an error that came over the wire: the node's text, and
// the sentinel its code maps to (nil for GW_CODE_UNSPECIFIED), or its
// detail's when it has one (which wraps the code's), so
// errors.Is(err, runtime.ErrQueueFull) holds on the client.
type RemoteError struct {
	Node   string
	Code   exov1.GwCode
	Detail exov1.GwCode // GW_CODE_UNSPECIFIED when the node sent none
	Text   string
	err    error
}

// Error returns the node and its text.
func (e *RemoteError) Error() string { return fmt.Sprintf("node %s: %s", e.Node, e.Text) }

// Unwrap returns the sentinel of the code.
func (e *RemoteError) Unwrap() error { return e.err }

// Error turns a GwError from node into a *RemoteError.
func Error(node string, m *exov1.GwError) error {
	e := &RemoteError{Node: node, Code: m.GetCode(), Detail: m.GetDetail(), Text: m.GetText()}
	for _, ce := range codeErrs {
		if ce.code == e.Code {
			e.err = ce.err
		}
	}
	for _, ce := range detailErrs {
		if ce.code == e.Detail && (e.err == nil || errors.Is(ce.err, e.err)) {
			e.err = ce.err // it wraps the code's sentinel: errors.Is holds for both
		}
	}
	return e
}

// errTextMax bounds a GwError's text: it may quote what the client sent
// (a runner ID of megabytes in "unknown runner …") or a runner's texts,
// and an error answer above what travels beside a full window breaks the
// connection (replyfit.go). 32 KiB holds a runner's diagnostics (16 KiB)
// and a reason with room to spare.
const errTextMax = 32 << 10

func errMsg(callID uint64, err error) *exov1.GwError {
	return &exov1.GwError{CallId: callID, Code: Code(err), Detail: Detail(err), Text: protocol.Cap(err.Error(), errTextMax)}
}
