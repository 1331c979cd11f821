package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/policy"
)

// recommendationNote summarises how Access Analyzer's recommendation
// compares with the entry's refinement, for the reason cell.
func recommendationNote(r *iamprune.RecommendationCheck) string {
	switch {
	case r == nil:
		return ""
	case r.Agrees:
		return "Access Analyzer's recommendation agrees"
	case len(r.OnlyIAMPrune)+len(r.OnlyAnalyzer) == 0:
		return fmt.Sprintf("Access Analyzer's recommendation %s: %s", strings.ToLower(r.Status), r.Detail)
	}
	var parts []string
	if len(r.OnlyIAMPrune) > 0 {
		parts = append(parts, "only iamprune removes "+strings.Join(r.OnlyIAMPrune, ", "))
	}
	if len(r.OnlyAnalyzer) > 0 {
		parts = append(parts, "only Access Analyzer removes "+strings.Join(r.OnlyAnalyzer, ", "))
	}
	return "Access Analyzer's recommendation differs: " + strings.Join(parts, "; ")
}

// PolicyDiff is the unified diff of one policy change, both sides
// pretty-printed: Before against After[0] (or nothing, when the policy is
// removed). Further split parts are appended as new files.
func PolicyDiff(c iamprune.PolicyChange) string {
	before := pretty(c.Before)
	var b strings.Builder
	after := []byte{}
	if len(c.After) > 0 {
		after = pretty(c.After[0])
	}
	b.WriteString(policy.UnifiedDiff(c.Name+" (before)", c.Name+" (after)", before, after))
	for i, part := range c.After[min(1, len(c.After)):] {
		b.WriteString(policy.UnifiedDiff("/dev/null", fmt.Sprintf("%s part %d (new)", c.Name, i+2), nil, pretty(part)))
	}
	return b.String()
}

func pretty(doc json.RawMessage) []byte {
	var out bytes.Buffer
	if err := json.Indent(&out, doc, "", "  "); err != nil {
		return doc
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// policiesMarkdown details the policy changes of rewrite-policy and
// propose-policy entries: method, diff and evidence.
func policiesMarkdown(ew *errWriter, a iamprune.Action) {
	if len(a.Policies) == 0 {
		return
	}
	ew.printf("\n<details>\n<summary>%s of %s: %d %s</summary>\n\n", a.Kind, codeSpan(a.Target), len(a.Policies), plural(len(a.Policies), "policy", "policies"))
	for _, c := range a.Policies {
		ew.printf("#### %s (%s, %s)\n\n", codeSpan(c.Name), c.Type, c.Method)
		ew.printf("```diff\n%s```\n\n", PolicyDiff(c))
		if c.Evidence != "" {
			ew.printf("%s\n\n", strings.TrimSpace(c.Evidence))
		}
	}
	if n := recommendationNote(a.Recommendation); n != "" {
		ew.printf("%s.\n\n", escapeText(n))
	}
	ew.printf("</details>\n")
}

// policyChanges counts the policies the plan's rewrites and proposals change.
func policyChanges(p *iamprune.Plan) int {
	n := 0
	for _, a := range p.Actions {
		n += len(a.Policies)
	}
	return n
}
