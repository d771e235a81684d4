// Package builtinrunner is the built-in runner behind `exo-actors runner`: a
// Go program on the runner SDK (runtime/runner) that imitates an exo model
// runner, so the supervisor, the demo and the tests have a real process to
// supervise, with fault knobs to make it misbehave on purpose.
//
// # Behaviour
//
// It says Hello after --hello-delay (default none: a runner slow to start,
// or, past the supervisor's handshake timeout, one that never says Hello in
// time), starts Idle (the supervisor assumes it) and reports Connecting
// (--connect-delay there: a runner waiting for its peers), Connected,
// Loading(k/N) for k = 0..N (N = --layers, --layer-delay before
// each layer), Loaded, WarmingUp, (--warmup-delay), Ready. Tasks:
//
//	text_generation  streams max_tokens tokens (parameter, default 20): "tok0 ",
//	                 "tok1 ", ..., --token-delay before each; the last chunk
//	                 carries finish_reason "length"; with token_bytes N each
//	                 token is padded with dots to N bytes (at most 1 MiB)
//	noop             completes at once, without chunks
//	anything else    fails with `unknown task kind "KIND"`
//
// It exits 0 after Shutdown, at the end of stdin (its supervisor is gone) and
// on SIGTERM or SIGINT (the CLI turns those into the end of the context),
// also during --hello-delay: it reads stdin while it waits, so its end is
// seen before the Hello (what stdin brings meanwhile, at most 64 KiB, is
// kept for the protocol).
// Diagnostics go to stderr; stdout carries only frames.
//
// # Fault knobs
//
// One syntax for the --fault flag and for the task parameter "fault" (see
// ParseFault and ValidFaultForms):
//
//	exit:CODE              exit with CODE (0-255)
//	signal:NAME            die by signal NAME: HUP INT QUIT ILL TRAP ABRT BUS FPE
//	                       KILL USR1 SEGV USR2 PIPE ALRM TERM (SIG prefix and
//	                       lower case accepted); WaitStatus.Signal() is NAME
//	hang                   stop reading stdin, writing stdout and heartbeating;
//	                       block forever, even through SIGTERM: only SIGKILL
//	                       (or the parent-death signal) ends it
//	hang-progress          the task blocks until cancelled while heartbeats go
//	                       on with tokens_produced frozen
//	garbage                write bytes that are no frame (12 × 0xff, then text)
//	                       between two frames, then carry on normally
//	ignore-shutdown:D      on Shutdown, wait D (a Go duration) before acting on
//	ignore-shutdown:forever  it, or wait until SIGTERM / the end of stdin;
//	                       heartbeats and Pings go on meanwhile
//	crash-loading:K        after K layers, exit with code 1 (--fault only)
//	stall-loading:K        after K layers, stop loading; heartbeats go on with
//	                       layers_loaded frozen at K (--fault only)
//	crash-after:K          exit with code 1 after K tokens of a text_generation
//	termination:MESSAGE    report Failed(MESSAGE) and send TerminationError
//	                       {MESSAGE} as the last frame, then exit with code 1
//
// When they act: given with --fault, exit, signal, hang, garbage and
// termination act right after Ready; hang-progress and crash-after apply to
// every task; ignore-shutdown to the Shutdown request. Given as a task
// parameter, exit, signal, hang, garbage and termination act when the task
// starts (after its TaskAcknowledged), hang-progress and crash-after apply to
// that task, and ignore-shutdown arms for the rest of the runner's life. A
// task parameter that does not parse, or names a loading fault, fails the
// task.
//
// # Marker lines
//
// Just before a fault acts, the runner writes one line to stderr, in one
// write, so a test can wait for the moment instead of sleeping:
//
//	exo-runner: fault KIND now
//
// with KIND the fault's name: "exo-runner: fault hang now", "exo-runner:
// fault stall-loading now", "exo-runner: fault ignore-shutdown now" (when the
// Shutdown arrives), "exo-runner: fault crash-after now", ... (FaultKind.Marker
// returns it). For hang the line comes after stdin and stdout are frozen: no
// frame follows it.
package builtinrunner
