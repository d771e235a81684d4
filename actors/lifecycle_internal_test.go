package actors

import (
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors/resources"
)

// TestRunnerLifecycleTransitionTable checks the table itself: every state has
// a row, Done is terminal, every state is reachable from Starting, every
// state but Done reaches Done, and to() applies exactly the table.
func TestRunnerLifecycleTransitionTable(t *testing.T) {
	for l := life(0); l < numLives; l++ {
		if _, ok := lifeTransitions[l]; !ok {
			t.Errorf("state %s has no row in lifeTransitions", l)
		}
	}
	if len(lifeTransitions[lifeDone]) != 0 {
		t.Errorf("Done is not terminal: %v", lifeTransitions[lifeDone])
	}
	reach := func(from life) map[life]bool {
		seen := map[life]bool{from: true}
		queue := []life{from}
		for len(queue) > 0 {
			l := queue[0]
			queue = queue[1:]
			for _, n := range lifeTransitions[l] {
				if !seen[n] {
					seen[n] = true
					queue = append(queue, n)
				}
			}
		}
		return seen
	}
	fromStart := reach(lifeStarting)
	for l := life(0); l < numLives; l++ {
		if !fromStart[l] {
			t.Errorf("state %s is unreachable from Starting", l)
		}
		if !reach(l)[lifeDone] {
			t.Errorf("state %s never reaches Done", l)
		}
	}
	logger := logrus.New()
	logger.SetLevel(logrus.PanicLevel)
	for from := life(0); from < numLives; from++ {
		for to := life(0); to < numLives; to++ {
			a := &runnerActor{slot: newSlot("r", RunnerSpec{}), log: logrus.NewEntry(logger), life: from}
			ok := a.to(to)
			if ok != legal(from, to) {
				t.Errorf("%s → %s: to() = %v, table says %v", from, to, ok, legal(from, to))
			}
			if ok && a.life != to || !ok && a.life != from {
				t.Errorf("%s → %s: state %s after to() = %v", from, to, a.life, ok)
			}
			if !ok && a.slot.info().LifecycleErrors != 1 {
				t.Errorf("%s → %s refused but not counted", from, to)
			}
		}
	}
}

// TestLateDrainingReportIsNotTakenForClosing guards defect 4 of issue 15: a
// runner's late DRAINING report (behind a busy mailbox) arriving during
// CLOSING must not count as its CLOSING answer.
func TestLateDrainingReportIsNotTakenForClosing(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newCollector("runners", &phaseRequest{phase: PhaseClosing, id: 3}, nil, now)
	c.pending["r1"] = true
	late := &PhaseReport{Actor: "r1", Phase: PhaseDraining, id: 2, Outcome: OutcomeTimedOut}
	if c.add(late) {
		t.Fatal("a DRAINING report was taken as the CLOSING answer")
	}
	if c.done() {
		t.Fatal("the collector thinks CLOSING is done while r1 is still closing")
	}
	otherShutdown := &PhaseReport{Actor: "r1", Phase: PhaseClosing, id: 99}
	if c.add(otherShutdown) {
		t.Fatal("a report for another phase request was taken")
	}
	if !c.add(&PhaseReport{Actor: "r1", Phase: PhaseClosing, id: 3}) || !c.done() {
		t.Fatal("the real CLOSING answer was not taken")
	}
	if len(c.report.Children) != 1 || c.report.Children[0].Phase != PhaseClosing {
		t.Fatalf("report tree files %+v", c.report.Children)
	}
}

// TestStaleCloseResultIsNotTheStopsResult guards defect 9 of issue 15: a
// CloseResult answering an older generation's close is not taken as the
// current stop's result.
func TestStaleCloseResultIsNotTheStopsResult(t *testing.T) {
	logger := logrus.New()
	logger.SetLevel(logrus.PanicLevel)
	a := &runnerActor{slot: newSlot("r", RunnerSpec{}), log: logrus.NewEntry(logger), life: lifeReleasing, gen: 2}
	for _, tag := range []uint64{0, 1, 3} {
		a.onCloseResult(nil, &resources.CloseResult{Tag: tag})
		if a.life != lifeReleasing || a.result != nil {
			t.Fatalf("close result tagged %d (stop of generation 2 awaits tag %d) was applied: state %s", tag, a.closeTag(0), a.life)
		}
	}
	if a.closeTag(0) != 2 || a.closeTag(1) != 0 {
		t.Fatalf("close tags: all=%d gen1=%d", a.closeTag(0), a.closeTag(1))
	}
}
