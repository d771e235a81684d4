package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// New starts a System; Shutdown ends it. Every zero Config field takes its
// default (docs/operations.md).
func ExampleNew() {
	sys, err := exo.New(config())
	if err != nil {
		fmt.Println(err)
		return
	}
	report, err := sys.Shutdown(context.Background())
	fmt.Println("shut down:", err == nil, "root:", report.Root.Name)
	<-sys.Done() // closed once the shutdown finished
	// Output: shut down: true root: node
}

// SpawnRunner returns at once; WaitReady waits until the runner is Ready,
// or returns its failure. A command that does not exist is refused at once.
func ExampleSystem_WaitReady() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sys, _ := exo.New(config())
	defer sys.Shutdown(context.Background())

	id, err := sys.SpawnRunner(ctx, fastRunner("llama"))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := sys.WaitReady(ctx, id); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.HasPrefix(id, "llama-"), "is Ready")

	_, err = sys.SpawnRunner(ctx, exo.RunnerSpec{Kind: "broken", Command: "/nonexistent/runner"})
	fmt.Println(errors.Is(err, exo.ErrInvalidSpec))
	fmt.Println(err)
	// Output:
	// true is Ready
	// true
	// invalid runner spec: command "/nonexistent/runner" does not exist; set RunnerSpec.Command to an executable file (a path, or a name found in PATH)
}

// Submit returns a handle that streams the task's chunks in order, then
// exactly one outcome.
func ExampleSystem_Submit() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sys, _ := exo.New(config())
	defer sys.Shutdown(context.Background())
	id, _ := sys.SpawnRunner(ctx, fastRunner("llama"))
	if err := sys.WaitReady(ctx, id); err != nil {
		fmt.Println(err)
		return
	}

	h, err := sys.Submit(ctx, id, exo.Task{ID: "gen-1", Kind: "text_generation", Params: map[string]string{"max_tokens": "4"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	var text strings.Builder
	for {
		c, err := h.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		text.WriteString(c.Text)
	}
	out, _ := h.Wait(ctx)
	fmt.Printf("%q\n", text.String())
	fmt.Println(out.Status, out.Chunks)
	// Output:
	// "tok0 tok1 tok2 tok3 "
	// Complete 4
}

// Cancel ends a running task Cancelled once the runner confirms.
func ExampleSystem_Cancel() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sys, _ := exo.New(config())
	defer sys.Shutdown(context.Background())
	id, _ := sys.SpawnRunner(ctx, fastRunner("llama"))
	if err := sys.WaitReady(ctx, id); err != nil {
		fmt.Println(err)
		return
	}

	h, _ := sys.Submit(ctx, id, exo.Task{ID: "long", Kind: "text_generation", Params: map[string]string{"max_tokens": "100000"}})
	if _, err := h.Chunk(ctx, 0); err != nil { // it is running
		fmt.Println(err)
		return
	}
	n, err := sys.Cancel(ctx, id, "long")
	fmt.Println("cancelled", n, err)
	n, err = sys.Cancel(ctx, id, "long") // its cancel is under way: nothing more to cancel
	fmt.Println("again", n, err)
	out, _ := h.Wait(ctx)
	fmt.Println(out.Status)
	n, err = sys.Cancel(ctx, id, "long") // it has ended (its outcome is remembered)
	fmt.Println("after its end", n, err)

	_, err = sys.Cancel(ctx, id, "nosuch")
	fmt.Println(errors.Is(err, exo.ErrTaskNotFound))
	// Output:
	// cancelled 1 <nil>
	// again 0 <nil>
	// Cancelled
	// after its end 0 <nil>
	// true
}

// Subscribe reads a topic's events in order; a Filter selects by runner,
// task or kind.
func ExampleSystem_Subscribe() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sys, _ := exo.New(config())
	defer sys.Shutdown(context.Background())
	id, _ := sys.SpawnRunner(ctx, fastRunner("llama"))
	if err := sys.WaitReady(ctx, id); err != nil {
		fmt.Println(err)
		return
	}

	sub, err := sys.Subscribe(exo.TopicTasks, exo.Filter{TaskID: "gen-1",
		Kinds: []string{exo.KindTaskStatus, exo.KindTaskAcknowledged}}, exo.SubscribeOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sub.Close()
	if _, err := sys.Submit(ctx, id, exo.Task{ID: "gen-1", Kind: "noop"}); err != nil {
		fmt.Println(err)
		return
	}
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		switch e := ev.Payload.(type) {
		case exo.TaskStatusChanged:
			fmt.Println(ev.Seq > 0, ev.Kind, e.Status)
			if e.Status.Terminal() {
				return
			}
		case exo.TaskAcknowledged:
			fmt.Println(ev.Seq > 0, ev.Kind, e.TaskID)
		}
	}
	// Output:
	// true task_status Pending
	// true task_status Running
	// true task_acknowledged gen-1
	// true task_status Complete
}

// RegisterResources hands the System the host's resources; they close in
// Shutdown's CLOSING phase, each after everything that depends on it.
func ExampleSystem_RegisterResources() {
	ctx := context.Background()
	sys, _ := exo.New(config())
	closer := func(name string) func(context.Context) error {
		return func(context.Context) error { fmt.Println("closing", name); return nil }
	}
	err := sys.RegisterResources(ctx,
		exo.ResourceSpec{Name: "db", Kind: "pool", Close: closer("db")},
		exo.ResourceSpec{Name: "cache", Kind: "dir", DependsOn: []string{"db"}, Close: closer("cache")},
	)
	fmt.Println("registered:", err)
	err = sys.RegisterResources(ctx, exo.ResourceSpec{Name: "index", DependsOn: []string{"nosuch"}, Close: closer("index")})
	fmt.Println(errors.Is(err, exo.ErrMissingDependency))

	report, _ := sys.Shutdown(ctx)
	for _, c := range report.Root.Children {
		if c.Name == "resources" {
			for _, r := range c.Children {
				fmt.Println(r.Name, r.Phases[exo.PhaseClosing].Outcome)
			}
		}
	}
	// Output:
	// registered: <nil>
	// true
	// closing cache
	// closing db
	// cache ok
	// db ok
}

// Shutdown walks SIGNALING → DRAINING → CLOSING down the tree and returns
// the report: per actor and phase, its outcome. A parent's outcome
// summarises its children's.
func ExampleSystem_Shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sys, _ := exo.New(config())
	id, _ := sys.SpawnRunner(ctx, fastRunner("llama"))
	if err := sys.WaitReady(ctx, id); err != nil {
		fmt.Println(err)
		return
	}

	report, err := sys.Shutdown(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	var walk func(r *exo.ActorReport, depth int)
	walk = func(r *exo.ActorReport, depth int) {
		name := r.Name
		if name == id {
			name = "llama-…"
		}
		var phases []string
		for _, p := range r.Phases {
			if p != nil {
				phases = append(phases, fmt.Sprintf("%s %s", p.Phase, p.Outcome))
			}
		}
		fmt.Printf("%s%s: %s\n", strings.Repeat("  ", depth), name, strings.Join(phases, ", "))
		for _, c := range r.Children {
			walk(c, depth+1)
		}
	}
	walk(report.Root, 0)
	fmt.Println("forced:", len(report.Forced), "errors:", len(report.Errors))
	// Output:
	// node: SIGNALING ok, DRAINING ok, CLOSING ok
	//   runners: SIGNALING ok, DRAINING ok, CLOSING ok
	//     llama-…: SIGNALING ok, DRAINING ok, CLOSING ok
	//   resources: SIGNALING ok, DRAINING ok, CLOSING ok
	//   streams: SIGNALING ok, DRAINING ok, CLOSING ok
	//     runner-status: SIGNALING ok, DRAINING ok, CLOSING ok
	//     tasks: SIGNALING ok, DRAINING ok, CLOSING ok
	//     errors: SIGNALING ok, DRAINING ok, CLOSING ok
	//     alerts: SIGNALING ok, DRAINING ok, CLOSING ok
	// forced: 0 errors: 0
}
