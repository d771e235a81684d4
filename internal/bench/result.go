package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// Which way a row's ratio must go to meet its goal.
const (
	AtLeast = ">=" // ratio ≥ goal (throughput: higher is better)
	AtMost  = "<=" // ratio ≤ goal (time, memory: lower is better)
)

// Result is one row: a measured value, its floor, their ratio and the goal
// the ratio must meet. Ratio is Value/Floor, rounded to 3 decimals; OK is
// computed from that rounded ratio (see Verdict), never set by hand.
type Result struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Floor float64 `json:"floor"`
	Ratio float64 `json:"ratio"`
	// Goal bounds Ratio in the direction Cmp; nil for a row without a goal
	// (shown for information, always OK).
	Goal *float64 `json:"goal"`
	// Cmp is AtLeast or AtMost; empty when Goal is nil.
	Cmp  string `json:"cmp,omitempty"`
	Unit string `json:"unit"`
	OK   bool   `json:"ok"`
	// Note says how the row was measured when it is not obvious from its
	// name (e.g. a floor that is a budget, or a temporary measuring path).
	Note string `json:"note,omitempty"`
}

// Report is one run of the bench.
type Report struct {
	Commit  string   `json:"commit"`          // short VCS revision of the binary, or "unknown"
	Dirty   bool     `json:"dirty,omitempty"` // the tree had uncommitted changes or untracked files
	Go      string   `json:"go"`              // runtime.Version()
	CPUs    int      `json:"cpus"`            // runtime.NumCPU()
	Quick   bool     `json:"quick"`           // --quick sizes
	Results []Result `json:"results"`
}

// goal returns a pointer to g, for Result.Goal.
func goal(g float64) *float64 { return &g }

// newResult builds a row and computes its ratio and verdict.
func newResult(name string, value, floor float64, unit string, g *float64, cmp, note string) Result {
	r := Result{Name: name, Value: round(value, 3), Floor: round(floor, 3), Unit: unit, Goal: g, Cmp: cmp, Note: note}
	if g == nil {
		r.Cmp = ""
	}
	// From the published (rounded) figures, so anyone can recompute it from the JSON.
	r.Ratio, r.OK = Verdict(r.Value, r.Floor, g, cmp)
	return r
}

// Verdict returns value/floor rounded to 3 decimals and whether that ratio
// meets the goal in direction cmp. A row without a goal is OK; a floor that
// is not positive (or a value that is not finite) never is, and its ratio is 0.
func Verdict(value, floor float64, g *float64, cmp string) (ratio float64, ok bool) {
	if !(floor > 0) || math.IsInf(floor, 0) || math.IsNaN(value) || math.IsInf(value, 0) {
		return 0, g == nil
	}
	ratio = round(value/floor, 3)
	switch {
	case g == nil:
		return ratio, true
	case cmp == AtLeast:
		return ratio, ratio >= *g
	case cmp == AtMost:
		return ratio, ratio <= *g
	}
	return ratio, false
}

// round rounds x to d decimals; non-finite values become 0 (JSON has no NaN).
func round(x float64, d int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	p := math.Pow(10, float64(d))
	return math.Round(x*p) / p
}

// WriteJSON writes the report as one indented JSON object.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // "cmp": ">=", not "\u003e="
	return enc.Encode(r)
}

// WriteTable writes the report as a table for people, with the notes below.
func WriteTable(w io.Writer, r *Report) error {
	var b strings.Builder
	mode := "full"
	if r.Quick {
		mode = "quick"
	}
	commit := r.Commit
	if r.Dirty {
		commit += " (uncommitted changes)"
	}
	fmt.Fprintf(&b, "exo-actors bench (%s): commit %s, %s, %d CPUs\n\n", mode, commit, r.Go, r.CPUs)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "row\tvalue\tfloor\tunit\tratio\tgoal\tok")
	var notes []string
	for _, res := range r.Results {
		g, ok := "—", "ok"
		if res.Goal != nil {
			g = fmt.Sprintf("%s %g", cmpSymbol(res.Cmp), *res.Goal)
			if !res.OK {
				ok = "MISSED"
			}
		} else {
			ok = "(info)"
		}
		name := res.Name
		if res.Note != "" {
			notes = append(notes, fmt.Sprintf("[%d] %s: %s", len(notes)+1, res.Name, res.Note))
			name += fmt.Sprintf(" [%d]", len(notes))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.3f\t%s\t%s\n", name, formatValue(res.Value), formatValue(res.Floor), res.Unit, res.Ratio, g, ok)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(notes) > 0 {
		b.WriteString("\n")
		for _, n := range notes {
			b.WriteString(n + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func cmpSymbol(cmp string) string {
	switch cmp {
	case AtLeast:
		return "≥"
	case AtMost:
		return "≤"
	}
	return cmp
}

// formatValue prints a value with about 3 significant digits and thousands
// separators for large ones: 312,400 · 41.2 · 0.873.
func formatValue(v float64) string {
	switch a := math.Abs(v); {
	case a >= 10000:
		return groupThousands(fmt.Sprintf("%.0f", v))
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
