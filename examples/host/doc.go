// Command host is a small host service that embeds exo-actors: it starts a
// System, spawns one runner, waits until it is Ready, and serves
//
//	POST /generate?max_tokens=N   body: the prompt
//
// by submitting the prompt as a task and streaming the runner's tokens back
// as they come (chunked text/plain). GET /healthz reports the runner's
// status. On SIGINT or SIGTERM it stops accepting requests
// (http.Server.Shutdown), then shuts the System down and prints the
// shutdown report on stderr.
//
//	go build -o bin/exo-actors ./cmd/exo-actors
//	go run ./examples/host --exo bin/exo-actors --addr 127.0.0.1:8080
//	curl -N -d 'Hello' 'http://127.0.0.1:8080/generate?max_tokens=8'
//
// With --exo the runner is exo-actors' built-in runner (it ignores the
// prompt and streams "tok0 tok1 ..."); --runner names any other runner
// executable. It imports only package runtime, as docs/host-guide.md
// describes.
package main
