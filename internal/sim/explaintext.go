package sim

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	fwk "k8s.io/kube-scheduler/framework"
)

// WriteExplanation writes a pod's explained attempts for a person: per attempt what the
// scheduler did, the PreFilter answers, the top feasible nodes with every score
// plugin's raw, normalized and weighted score (plugins as rows, nodes as columns), the
// rejected nodes grouped by the plugins that rejected them, and preemption's
// candidates with the rule that decided. title names the run.
func WriteExplanation(out io.Writer, title string, attempts []Attempt, top int) error {
	if top < 1 {
		top = 1
	}
	b := &strings.Builder{}
	if len(attempts) == 0 {
		fmt.Fprintf(b, "%s: the scheduler never tried the pod\n", title)
		_, err := io.WriteString(out, b.String())
		return err
	}
	a0 := attempts[0]
	fmt.Fprintf(b, "%s: pod %s (priority %d, QoS %s, profile %s), %d attempt(s)\n",
		title, a0.Pod, a0.Priority, a0.QoSClass, a0.Profile, len(attempts))
	for _, a := range attempts {
		writeAttempt(b, a, top)
	}
	_, err := io.WriteString(out, b.String())
	return err
}

func writeAttempt(b *strings.Builder, a Attempt, top int) {
	fmt.Fprintf(b, "\nAttempt %d at %s: %s\n", a.Number, clockTime(a.At), outcomeLine(a))
	var pf []string
	for _, v := range a.PreFilter {
		s := v.Plugin + " " + strings.ToLower(v.Code)
		if v.Reason != "" {
			s += " (" + v.Reason + ")"
		}
		pf = append(pf, s)
	}
	fmt.Fprintf(b, "  PreFilter: %s\n", strings.Join(pf, ", "))

	var feasible, rejected []NodeVerdict
	for _, n := range a.Nodes {
		if n.Feasible {
			feasible = append(feasible, n)
		} else {
			rejected = append(rejected, n)
		}
	}
	fmt.Fprintf(b, "  Nodes: %d feasible, %d rejected, of %d\n", len(feasible), len(rejected), len(a.Nodes))
	if len(feasible) > 0 {
		writeScores(b, a, feasible, top)
	}
	if len(rejected) > 0 {
		writeRejections(b, rejected)
	}
	if a.Preemption != nil {
		writePreemption(b, a.Preemption, top)
	}
}

func outcomeLine(a Attempt) string {
	o := a.Outcome
	var s string
	switch o.Result {
	case "bound":
		s = "bound to " + o.Node
	case "nominated":
		s = "nominated to " + o.Node
		if len(o.Victims) > 0 {
			s += ", preempting " + strings.Join(o.Victims, ", ")
		} else {
			s += " without evicting any pod"
		}
	default:
		s = "unschedulable"
		if o.Message != "" {
			s += ": " + o.Message
		}
		if o.KeepsNomination != "" {
			s += fmt.Sprintf("\n  The pod stays nominated to %s by an earlier attempt's preemption; this attempt preempted nothing", o.KeepsNomination)
		}
	}
	if a.Best != "" {
		s += fmt.Sprintf("\n  Best-scored node: %s", a.Best)
		switch {
		case len(a.Ties) > 1:
			s += fmt.Sprintf(" (tied with %s at the top; the scheduler breaks the tie by node order)", strings.Join(a.Ties[1:], ", "))
		case a.RunnerUp != "":
			s += fmt.Sprintf(", by %d over %s", a.Margin, a.RunnerUp)
		}
		if o.Result == "bound" && o.Node != a.Best && !contains(a.Ties, o.Node) {
			s += fmt.Sprintf("\n  The scheduler scored only a sample of the nodes (percentageOfNodesToScore) and chose %s", o.Node)
		}
	}
	return s
}

// writeScores is the score table: a row per score plugin, a column per node among the
// top, each cell raw→normalized×weight=weighted.
func writeScores(b *strings.Builder, a Attempt, feasible []NodeVerdict, top int) {
	if len(feasible) > top {
		feasible = feasible[:top]
	}
	fmt.Fprintf(b, "  Scores of the top %d feasible node(s), as raw→normalized×weight=weighted:\n", len(feasible))
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "    PLUGIN")
	for _, n := range feasible {
		fmt.Fprintf(tw, "\t%s", n.Node)
	}
	fmt.Fprintln(tw)
	var plugins []string
	for _, s := range feasible[0].Scores {
		plugins = append(plugins, s.Plugin)
	}
	for _, p := range plugins {
		fmt.Fprintf(tw, "    %s", p)
		for _, n := range feasible {
			cell := "-"
			for _, s := range n.Scores {
				if s.Plugin == p {
					cell = fmt.Sprintf("%d→%d×%d=%d", s.Raw, s.Normalized, s.Weight, s.Weighted)
				}
			}
			fmt.Fprintf(tw, "\t%s", cell)
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprint(tw, "    TOTAL")
	for _, n := range feasible {
		fmt.Fprintf(tw, "\t%d", n.Total)
	}
	fmt.Fprintln(tw)
	_ = tw.Flush()
}

// writeRejections groups rejected nodes by what rejected them: every filter plugin that
// said no (the scheduler itself stops at the first).
func writeRejections(b *strings.Builder, rejected []NodeVerdict) {
	groups := map[string][]string{}
	for _, n := range rejected {
		var why []string
		for _, f := range n.Filters {
			if f.Code != fwk.Success.String() && f.Code != fwk.Skip.String() {
				why = append(why, f.Plugin+": "+f.Reason)
			}
		}
		if len(why) == 0 {
			why = []string{n.Plugin + ": " + n.Reason}
		}
		key := strings.Join(why, "; ")
		groups[key] = append(groups[key], n.Node)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(groups[keys[i]]) != len(groups[keys[j]]) {
			return len(groups[keys[i]]) > len(groups[keys[j]])
		}
		return keys[i] < keys[j]
	})
	b.WriteString("  Rejected:\n")
	for _, k := range keys {
		fmt.Fprintf(b, "    %s: %s\n", nodeList(groups[k]), k)
	}
}

func nodeList(nodes []string) string {
	const shown = 4
	s := fmt.Sprintf("%d node(s) (%s", len(nodes), strings.Join(nodes[:min(shown, len(nodes))], ", "))
	if len(nodes) > shown {
		s += fmt.Sprintf(", +%d more", len(nodes)-shown)
	}
	return s + ")"
}

func writePreemption(b *strings.Builder, p *PreemptionVerdict, top int) {
	fmt.Fprintf(b, "  Preemption (%s): ", p.Plugin)
	switch {
	case !p.Eligible:
		fmt.Fprintf(b, "none in this attempt; the pod may not preempt now: %s\n", p.Reason)
		return
	case len(p.Candidates) == 0:
		fmt.Fprintf(b, "none in this attempt; no candidate: %s\n", p.Reason)
		return
	}
	fmt.Fprintf(b, "%d candidate node(s), best first; chosen %s", len(p.Candidates), p.Chosen)
	if p.DecidedBy != "" {
		fmt.Fprintf(b, ", decided by %q", p.DecidedBy)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "    NODE\tVICTIMS (priority, QoS, started)")
	for _, r := range p.Rules {
		fmt.Fprintf(tw, "\t%s", r)
	}
	fmt.Fprintln(tw)
	shown := p.Candidates
	if len(shown) > top {
		shown = shown[:top]
	}
	for _, c := range shown {
		var v []string
		for _, x := range c.Victims {
			v = append(v, fmt.Sprintf("%s (%d, %s, %s)", x.Pod, x.Priority, x.QoSClass, clockTime(x.Started)))
		}
		fmt.Fprintf(tw, "    %s\t%s", c.Node, strings.Join(v, ", "))
		for i := range p.Rules {
			if i < len(c.RuleScores) {
				fmt.Fprintf(tw, "\t%d", c.RuleScores[i])
			}
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()
	if len(shown) < len(p.Candidates) {
		fmt.Fprintf(b, "    (+%d more candidates; --top shows more)\n", len(p.Candidates)-len(shown))
	}
	b.WriteString("    (rule scores: higher is better; each rule breaks the ties the previous ones left)\n")
}

// clockTime is a virtual time as h:mm:ss.mmm.
func clockTime(d time.Duration) string {
	d = d.Round(time.Millisecond)
	h := d / time.Hour
	m := (d % time.Hour) / time.Minute
	s := (d % time.Minute) / time.Second
	ms := (d % time.Second) / time.Millisecond
	return fmt.Sprintf("%d:%02d:%02d.%03d", h, m, s, ms)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
