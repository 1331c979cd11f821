package render

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/iamprune/iamprune"
)

// The security-stack exports (OCSF, ASFF) describe each plan entry as a
// finding of its own. This file holds what they share: the finding's
// stable id, its severity and its lifecycle status.

// Options are what the exports need beyond the plan.
type Options struct {
	// ProductVersion is iamprune's version, for the findings' metadata.
	ProductVersion string
	// Region is the AWS Region of the Security Hub findings (ASFF);
	// "" means us-east-1.
	Region string
}

// ItemUID is the stable id of the item a plan entry is about: account,
// principal, finding type, target and analyzer finding, plus, for
// UnusedPermission (whose finding may give a remediation, a notify and an
// exempt entry at once), which side of it the entry is. Unlike the
// entry's id it does not depend on the kind, so the finding exported for
// an item keeps its id when the item is remediated, rolled back and held:
// a re-export updates it instead of adding another.
func ItemUID(a iamprune.Action) string {
	slot := ""
	if a.FindingType == iamprune.UnusedPermission {
		switch {
		case a.Kind == iamprune.KindNotify:
			slot = "notify"
		case a.Kind == iamprune.KindExempt && a.Hold == "":
			slot = "exempt"
		default:
			slot = "act"
		}
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{a.Account, a.Principal, string(a.FindingType), a.Target, a.FindingID, slot}, "|")))
	return hex.EncodeToString(sum[:])[:24]
}

// Status is where an exported finding stands, from the plan entry and
// what the state store knows (Done: iamprune made the change; Hold: the
// change was rolled back and the item is held exempt).
type Status struct {
	// Workflow is the ASFF workflow status: NEW, NOTIFIED, SUPPRESSED or
	// RESOLVED.
	Workflow string
	// Compliance is the ASFF compliance status: PASSED, WARNING, FAILED or
	// NOT_AVAILABLE.
	Compliance string
	// Archived: the ASFF record state is ARCHIVED rather than ACTIVE.
	Archived bool
	// Severity is INFORMATIONAL, LOW, MEDIUM or HIGH.
	Severity string
	// Resolved: the unused access is gone (remediated).
	Resolved bool
	// Owned: the workflow status records what iamprune did (remediated,
	// rolled back), so the export sets it on every run, over the workflow
	// an analyst may have set; other statuses are set only when the finding
	// is created.
	Owned bool
}

// StatusOf maps a plan entry to its exported status (docs/exports.md):
//
//	remediation or proposal due       NEW         FAILED         MEDIUM
//	remediation done (state store)    RESOLVED    PASSED         INFORMATIONAL
//	rolled back, held exempt          NOTIFIED    FAILED         LOW
//	notify (not yet due)              NEW         WARNING        LOW
//	exempt by an exception            SUPPRESSED  WARNING        INFORMATIONAL
//	protected principal               SUPPRESSED  NOT_AVAILABLE  INFORMATIONAL
//	skip (finding closed, principal   RESOLVED    NOT_AVAILABLE  INFORMATIONAL, archived
//	      gone, account unreachable)
func StatusOf(a iamprune.Action) Status {
	switch {
	case (a.Kind.IsRemediation() || a.Kind.IsProposal()) && a.Done != nil:
		return Status{Workflow: "RESOLVED", Compliance: "PASSED", Severity: "INFORMATIONAL", Resolved: true, Owned: true}
	case a.Kind.IsRemediation() || a.Kind.IsProposal():
		return Status{Workflow: "NEW", Compliance: "FAILED", Severity: "MEDIUM"}
	case a.Kind == iamprune.KindExempt && a.Hold != "":
		return Status{Workflow: "NOTIFIED", Compliance: "FAILED", Severity: "LOW", Owned: true}
	case a.Kind == iamprune.KindNotify:
		return Status{Workflow: "NEW", Compliance: "WARNING", Severity: "LOW"}
	case a.Kind == iamprune.KindExempt:
		return Status{Workflow: "SUPPRESSED", Compliance: "WARNING", Severity: "INFORMATIONAL"}
	case a.Kind == iamprune.KindProtected:
		return Status{Workflow: "SUPPRESSED", Compliance: "NOT_AVAILABLE", Severity: "INFORMATIONAL"}
	}
	return Status{Workflow: "RESOLVED", Compliance: "NOT_AVAILABLE", Severity: "INFORMATIONAL", Archived: true}
}

// principalName is the last path element of an IAM ARN.
func principalName(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// partition is the ARN's partition ("aws" when it is not an ARN).
func partition(arn string) string {
	if parts := strings.SplitN(arn, ":", 3); len(parts) == 3 && parts[0] == "arn" && parts[1] != "" {
		return parts[1]
	}
	return "aws"
}

// isRole reports whether the ARN names an IAM role.
func isRole(arn string) bool { return strings.Contains(arn, ":role/") }

// findingTitle is the one-line summary of an entry's finding.
func findingTitle(a iamprune.Action) string {
	what := map[iamprune.FindingType]string{
		iamprune.UnusedIAMRole:          "Unused IAM role",
		iamprune.UnusedIAMUserAccessKey: "Unused IAM access key",
		iamprune.UnusedIAMUserPassword:  "Unused IAM console password",
		iamprune.UnusedPermission:       "Unused permissions",
	}[a.FindingType]
	if what == "" {
		what = string(a.FindingType)
	}
	t := what + " " + a.Target
	if a.FindingType == iamprune.UnusedPermission && len(a.Services) > 0 {
		t += " (" + strings.Join(a.Services, ", ") + ")"
	}
	return t + ": " + string(a.Kind)
}
