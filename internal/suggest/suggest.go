package suggest

import "strings"

// Closest returns the allowed name nearest to field, or "": a candidate is
// within edit distance 2 of field, or one of the two is a prefix of the
// other. Among candidates the smallest edit distance wins (for a prefix
// that is the difference in length, so of the names field begins, the
// shortest: --task gives --tasks, not --task-kind, a newcomer's trial); on a
// tie a prefix wins over a mere near spelling, then the earlier name.
func Closest(field string, allowed []string) string {
	best, bestD, bestPrefix := "", 0, false
	for _, a := range allowed {
		d := editDistance(strings.ToLower(field), a)
		prefix := strings.HasPrefix(a, field) || strings.HasPrefix(field, a)
		if d > 2 && !prefix {
			continue
		}
		if best == "" || d < bestD || d == bestD && prefix && !bestPrefix {
			best, bestD, bestPrefix = a, d, prefix
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
