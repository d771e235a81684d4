package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/health"
	"github.com/exo-actors/exo-actors/internal/httpapi"
	"github.com/exo-actors/exo-actors/internal/webui"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// The cluster demo's web page (--ui ADDR): the page of internal/webui over
// the whole cluster. Its document merges the nodes' last status documents
// (demo_cluster_view.go): a tree cluster → nodes → (health, streams,
// resources, runners), every runner of every node, every alert. A runner
// appears as ID@NODE. Its buttons (--ui-actions) act through the runner's
// node's gateway (Client.InjectFault, Client.StopRunner); the nodes allow
// fault injection only when --ui-actions is given (exo-actors node
// --allow-faults).

// runnerAt joins a runner ID and its node's name as the page shows it.
func runnerAt(id, node string) string { return id + "@" + node }

// splitRunnerAt splits ID@NODE.
func splitRunnerAt(s string) (id, node string, ok bool) {
	i := strings.LastIndexByte(s, '@')
	if i <= 0 || i == len(s)-1 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

// startUI serves the page when --ui was given (nil, nil otherwise).
func (d *clusterDemo) startUI() (*webui.Server, error) {
	if d.o.ui.addr == "" {
		return nil, nil
	}
	srv, err := webui.Start(clusterPage{d}, d.o.ui.config("the demo"), d.e.logger)
	if err != nil {
		return nil, fmt.Errorf("demo: --ui: %w", uiStartError(d.o.ui.addr, err))
	}
	d.logf("== web page of the cluster's supervision trees: %s (%s)", srv.URL(), d.o.ui.buttonsNote())
	return srv, nil
}

// clusterPage is the cluster as the page sees it: a webui.Node whose
// buttons go through webui.Remote.
type clusterPage struct{ d *clusterDemo }

var _ webui.Remote = clusterPage{}

// Status merges the nodes' last status documents into one.
func (p clusterPage) Status(ctx context.Context) (*httpapi.StatusDoc, error) {
	d := p.d
	d.mu.Lock()
	defer d.mu.Unlock()
	return mergeDocs(d.nodeViews(), time.Now()), nil
}

// mergeDocs builds the cluster's document from its nodes' (a pure
// function): runner IDs and alerts' runner IDs become ID@NODE, the tree's
// root is the cluster with one child per node, the node summary adds up
// the serving nodes.
func mergeDocs(nodes []nodeView, at time.Time) *httpapi.StatusDoc {
	out := &httpapi.StatusDoc{Schema: httpapi.Schema, At: at, Runners: []httpapi.RunnerStatus{}, Alerts: nil,
		Node: httpapi.NodeStatus{State: "running", Score: 1, Level: "healthy"}}
	root := &httpapi.TreeNode{Name: "cluster", Kind: "cluster"}
	serving := 0
	rank := map[string]int{"healthy": 0, "unknown": 1, "degraded": 2, "unhealthy": 3}
	for _, n := range nodes {
		state := n.State
		if n.Addr != "" {
			state += " · " + n.Addr
		}
		tn := &httpapi.TreeNode{Name: n.Name, Kind: "node", State: state}
		root.Children = append(root.Children, tn)
		if n.State != "serving" {
			continue
		}
		serving++
		if n.Doc == nil {
			continue
		}
		doc := n.Doc
		out.Thresholds, out.Weights = doc.Thresholds, doc.Weights
		tn.Score = &doc.Node.Score
		if doc.Tree != nil {
			for _, c := range doc.Tree.Children {
				tn.Children = append(tn.Children, renameRunners(c, n.Name))
			}
		}
		for _, r := range doc.Runners {
			r.ID = runnerAt(r.ID, n.Name)
			out.Runners = append(out.Runners, r)
		}
		for _, a := range doc.Alerts {
			if a.RunnerID != "" {
				a.RunnerID = runnerAt(a.RunnerID, n.Name)
			}
			out.Alerts = append(out.Alerts, a)
		}
		out.Node.Runners += doc.Node.Runners
		out.Node.Ready += doc.Node.Ready
		out.Node.Checks += doc.Node.Checks
		out.Node.Persistent += doc.Node.Persistent
		out.Node.Score = min(out.Node.Score, doc.Node.Score)
		if rank[doc.Node.Level] > rank[out.Node.Level] {
			out.Node.Level = doc.Node.Level
		}
		if doc.Node.Worst != "" && out.Node.Worst == "" {
			out.Node.Worst = runnerAt(doc.Node.Worst, n.Name)
		}
	}
	if serving == 0 {
		out.Node.State, out.Node.Level, out.Node.Score = "shutting_down", "unknown", 0
	}
	root.State = fmt.Sprintf("%d of %d nodes serving", serving, len(nodes))
	out.Tree = root
	if out.Alerts == nil {
		out.Alerts = []health.ActiveAlert{}
	}
	return out
}

// renameRunners copies a node's subtree, naming its runners runner-ID@NODE
// as the page's rows are.
func renameRunners(t *httpapi.TreeNode, node string) *httpapi.TreeNode {
	c := *t
	if c.Kind == "runner" {
		c.Name = runnerAt(c.Name, node)
	} else {
		c.Name = strings.TrimPrefix(c.Name, "node/")
	}
	c.Children = nil
	for _, ch := range t.Children {
		c.Children = append(c.Children, renameRunners(ch, node))
	}
	return &c
}

// Runners, StopRunner and Submit complete webui.Node; with webui.Remote
// implemented the page never calls them.
func (p clusterPage) Runners(ctx context.Context) ([]actors.RunnerInfo, error) {
	return nil, errors.New("the cluster page lists runners from the nodes' status documents")
}

// StopRunner is not used: the page calls StopRunnerAt.
func (p clusterPage) StopRunner(ctx context.Context, id string) (*actors.StopResult, error) {
	return nil, errors.New("the cluster page stops runners through StopRunnerAt")
}

// Submit is not used: the page calls InjectFault.
func (p clusterPage) Submit(ctx context.Context, runnerID string, t actors.TaskSpec) (*actors.TaskHandle, error) {
	return nil, errors.New("the cluster page injects faults through InjectFault")
}

// pageError is a refusal with the HTTP status the page answers.
type pageError struct {
	code int
	err  error
}

func (e *pageError) Error() string   { return e.err.Error() }
func (e *pageError) Unwrap() error   { return e.err }
func (e *pageError) HTTPStatus() int { return e.code }

// node finds the serving node of ID@NODE.
func (p clusterPage) node(at string) (string, *demoNode, error) {
	id, name, ok := splitRunnerAt(at)
	if !ok {
		return "", nil, &pageError{http.StatusNotFound, fmt.Errorf("runner %q: want ID@NODE, as the page lists them", at)}
	}
	d := p.d
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range d.nodes {
		if n.name != name {
			continue
		}
		if n.state != nodeServing || n.client == nil || n.client.Err() != nil {
			return "", nil, &pageError{http.StatusConflict, fmt.Errorf("node %s is %s: its runners cannot be reached", name, n.state)}
		}
		return id, n, nil
	}
	return "", nil, &pageError{http.StatusNotFound, fmt.Errorf("unknown node %q", name)}
}

// remoteCode maps a node's refusal to the page's HTTP status.
func remoteCode(err error) error {
	code := http.StatusConflict
	switch {
	case errors.Is(err, exo.ErrUnknownRunner):
		code = http.StatusNotFound
	case errors.Is(err, exo.ErrUnsupported):
		code = http.StatusForbidden
	}
	return &pageError{code, err}
}

// countPage counts one action of the page (a fault kind, or "stop") in
// the summary's page_actions: the demo's own counts (faults_injected,
// tasks_submitted) leave them out, and a garbage button's task is its
// node's, outside the demo's task checks.
func (d *clusterDemo) countPage(kind string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sum.PageActions[kind]++
}

// InjectFault injects the fault through the runner's node's gateway.
func (p clusterPage) InjectFault(ctx context.Context, at string, gen uint64, kind string) (string, error) {
	id, n, err := p.node(at)
	if err != nil {
		return "", err
	}
	res, err := n.client.InjectFault(ctx, id, gen, kind)
	if err != nil {
		return "", remoteCode(err)
	}
	p.d.logf("PAGE  fault %s on %s (generation %d): %s", kind, at, gen, res)
	p.d.countPage(kind)
	return fmt.Sprintf("node %s: %s", n.name, res), nil
}

// StopRunnerAt stops the runner through its node's gateway, if it is at
// generation gen.
func (p clusterPage) StopRunnerAt(ctx context.Context, at string, gen uint64) (string, error) {
	id, n, err := p.node(at)
	if err != nil {
		return "", err
	}
	infos, err := n.client.Runners(ctx)
	if err != nil {
		return "", remoteCode(err)
	}
	found := false
	for _, in := range infos {
		if in.ID == id {
			found = true
			if err := stopRefusal(at, in, gen); err != nil {
				return "", err
			}
		}
	}
	if !found {
		return "", &pageError{http.StatusNotFound, fmt.Errorf("unknown runner %q on node %s", id, n.name)}
	}
	res, err := n.client.StopRunner(ctx, id)
	if err != nil {
		return "", remoteCode(err)
	}
	p.d.logf("PAGE  stop %s (generation %d): %s", at, gen, res.Summary())
	p.d.countPage("stop")
	return fmt.Sprintf("node %s: stopped: %s after %s", n.name, res.Summary(), res.Total.Round(time.Millisecond)), nil
}

// stopRefusal is why the page's stop of runner at (seen at generation
// gen; in is its node's record) is refused, or nil: another generation,
// or, as on a single node's page, a runner with no process that will not
// restart (before, that one answered 200 "stopped: was not running", and
// a crash of the same runner 409: a new user's trial).
func stopRefusal(at string, in exo.RunnerInfo, gen uint64) error {
	if in.Generation != gen {
		return &pageError{http.StatusConflict, errors.New(webui.StaleGeneration(at, in.Generation, gen))}
	}
	if in.Status.Terminal() && !in.Restarting {
		escalated := ""
		if r := in.LastRecord; r != nil && (r.Decision.Action == exo.ActionEscalate || r.Decision.Then == exo.ActionEscalate) {
			escalated = string(r.Kind)
		}
		return &pageError{http.StatusConflict, errors.New(webui.StoppedForGood(at, in.Generation, escalated))}
	}
	return nil
}
