package runtime

import (
	"regexp"
	"testing"
)

// TestClientActorPrefixIsRandom: a Client's session actor is named
// "client-" and 16 hex digits, new for each Client, so a process started
// again on the address of one that died has other PIDs than the dead one:
// the node keys sessions by PID, and with protoactor's counter alone
// ("client$3") the new process's hello was taken for the dead one's hello
// again (a goodbye, not a loss: its tasks kept under
// cancel_tasks_on_client_loss).
func TestClientActorPrefixIsRandom(t *testing.T) {
	re := regexp.MustCompile(`^client-[0-9a-f]{16}$`)
	seen := map[string]bool{}
	for range 100 {
		p := clientActorPrefix()
		if !re.MatchString(p) {
			t.Fatalf("client actor prefix %q, want %s", p, re)
		}
		if seen[p] {
			t.Fatalf("client actor prefix %q given twice", p)
		}
		seen[p] = true
	}
}
