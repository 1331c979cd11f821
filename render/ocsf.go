package render

import (
	"encoding/json"
	"io"
	"time"

	"github.com/iamprune/iamprune"
)

// OCSFVersion is the version of the OCSF schema the OCSF export follows.
const OCSFVersion = "1.6.0"

// OCSF class and category of the export: IAM Analysis Finding (uid 8 in
// the Findings category, 2), so class_uid 2008 and type_uid
// class_uid*100 + activity_id.
const (
	ocsfCategory = 2
	ocsfClass    = 2008
)

// OCSF writes one OCSF IAM Analysis Finding per plan entry, as JSON lines
// (docs/exports.md has the mapping).
type OCSF struct{ Options Options }

var _ Renderer = OCSF{}

// Render implements Renderer.
func (o OCSF) Render(w io.Writer, p *iamprune.Plan) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, a := range p.Actions {
		if err := enc.Encode(OCSFFinding(a, p.GeneratedAt, o.Options.ProductVersion)); err != nil {
			return errWrap("OCSF", err)
		}
	}
	return nil
}

// OCSFFinding is one plan entry as an OCSF IAM Analysis Finding, made at
// time now by iamprune version.
func OCSFFinding(a iamprune.Action, now time.Time, version string) map[string]any {
	st := StatusOf(a)
	activity, activityName := 1, "Create"
	statusID, status := 1, "New"
	switch {
	case st.Resolved || st.Archived:
		activity, activityName = 3, "Close"
		statusID, status = 4, "Resolved"
	case st.Workflow == "SUPPRESSED":
		statusID, status = 3, "Suppressed"
	case st.Workflow == "NOTIFIED":
		activity, activityName = 2, "Update"
		statusID, status = 2, "In Progress"
	}
	severityID := map[string]int{"INFORMATIONAL": 1, "LOW": 2, "MEDIUM": 3, "HIGH": 4}[st.Severity]
	ms := now.UTC().UnixMilli()
	account := map[string]any{"uid": a.Account, "type": "AWS Account", "type_id": 10}
	user := map[string]any{"uid": a.Principal, "name": principalName(a.Principal), "type": "IAM User", "account": account}
	resourceType := "AWS::IAM::User"
	if isRole(a.Principal) {
		user["type"], resourceType = "IAM Role", "AWS::IAM::Role"
	}
	metrics := map[string]any{}
	if a.LastAccessed != nil {
		metrics["last_seen_time"] = a.LastAccessed.UTC().UnixMilli()
	}
	switch a.FindingType {
	case iamprune.UnusedIAMUserAccessKey:
		user["credential_uid"], metrics["credential_uid"] = a.Target, a.Target
		if a.LastAccessed != nil {
			metrics["credential_last_used_time"] = a.LastAccessed.UTC().UnixMilli()
		}
	case iamprune.UnusedIAMUserPassword:
		if a.LastAccessed != nil {
			metrics["password_last_used_time"] = a.LastAccessed.UTC().UnixMilli()
		}
	}
	ev := map[string]any{
		"activity_id": activity, "activity_name": activityName,
		"category_uid": ocsfCategory, "category_name": "Findings",
		"class_uid": ocsfClass, "class_name": "IAM Analysis Finding",
		"type_uid": ocsfClass*100 + activity, "type_name": "IAM Analysis Finding: " + activityName,
		"severity_id": severityID, "severity": severityCaption(severityID),
		"status_id": statusID, "status": status,
		"time": ms, "message": a.Reason,
		"metadata": map[string]any{
			"version":  OCSFVersion,
			"product":  map[string]any{"name": "iamprune", "vendor_name": "iamprune", "version": productVersion(version)},
			"uid":      a.ID,
			"profiles": []string{"cloud"},
		},
		"finding_info": map[string]any{
			"uid": ItemUID(a), "title": findingTitle(a), "desc": a.Reason,
			"types": []string{string(a.FindingType)}, "created_time": ms, "product_uid": "iamprune",
		},
		"cloud":                     map[string]any{"provider": "AWS", "account": account},
		"user":                      user,
		"identity_activity_metrics": metrics,
		"resources":                 []map[string]any{{"uid": a.Principal, "name": principalName(a.Principal), "type": resourceType, "cloud_partition": partition(a.Principal)}},
		"unmapped":                  unmapped(a),
	}
	if a.FindingType == iamprune.UnusedPermission {
		ev["permission_analysis_results"] = []map[string]any{{"unused_services_count": len(a.Services)}}
	}
	if a.Kind.IsRemediation() {
		ev["remediation"] = map[string]any{"desc": string(a.Kind) + " " + a.Target + " on " + a.RemediateOn}
	}
	return ev
}

// unmapped carries the plan entry's own fields that OCSF has no place for.
func unmapped(a iamprune.Action) map[string]any {
	u := map[string]any{"kind": string(a.Kind), "finding_id": a.FindingID, "unused_days": a.UnusedDays, "services": a.Services}
	for k, v := range map[string]string{"remediate_on": a.RemediateOn, "exception": a.Exception, "exception_expires": a.ExceptionExpires, "hold": a.Hold, "hold_until": a.HoldUntil} {
		if v != "" {
			u[k] = v
		}
	}
	if a.Done != nil {
		u["done_run_id"] = a.Done.RunID
	}
	if u["services"] == nil {
		u["services"] = []string{}
	}
	return u
}

func severityCaption(id int) string {
	return [...]string{"Unknown", "Informational", "Low", "Medium", "High", "Critical"}[id]
}

func productVersion(v string) string {
	if v == "" {
		return "devel"
	}
	return v
}
