package render

import (
	"encoding/json"
	"io"
	"time"

	"github.com/iamprune/iamprune"
)

// ASFF finding fields, as AWS Security Hub's BatchImportFindings takes
// them (the AWS Security Finding Format, schema 2018-10-08).
type (
	// ASFFFinding is one finding.
	ASFFFinding struct {
		SchemaVersion string       `json:"SchemaVersion"`
		ID            string       `json:"Id"`
		ProductArn    string       `json:"ProductArn"`
		ProductName   string       `json:"ProductName"`
		CompanyName   string       `json:"CompanyName"`
		GeneratorID   string       `json:"GeneratorId"`
		AwsAccountID  string       `json:"AwsAccountId"`
		Region        string       `json:"Region"`
		Types         []string     `json:"Types"`
		CreatedAt     string       `json:"CreatedAt"`
		UpdatedAt     string       `json:"UpdatedAt"`
		LastObserved  string       `json:"LastObservedAt,omitempty"`
		Severity      ASFFSeverity `json:"Severity"`
		// FindingProviderFields carry severity and types as the provider
		// sees them: Security Hub takes updates of those from here.
		FindingProviderFields ASFFProviderFields `json:"FindingProviderFields"`
		Title                 string             `json:"Title"`
		Description           string             `json:"Description"`
		Resources             []ASFFResource     `json:"Resources"`
		Workflow              ASFFStatus         `json:"Workflow"`
		Compliance            ASFFStatus         `json:"Compliance"`
		RecordState           string             `json:"RecordState"`
		ProductFields         map[string]string  `json:"ProductFields"`
		Remediation           *ASFFRemediation   `json:"Remediation,omitempty"`
	}
	// ASFFSeverity is a finding's severity.
	ASFFSeverity struct {
		Label    string `json:"Label"`
		Original string `json:"Original"`
	}
	// ASFFProviderFields are the provider's severity and types.
	ASFFProviderFields struct {
		Severity ASFFSeverity `json:"Severity"`
		Types    []string     `json:"Types"`
	}
	// ASFFResource is a resource a finding is about.
	ASFFResource struct {
		Type      string `json:"Type"`
		ID        string `json:"Id"`
		Partition string `json:"Partition"`
		Region    string `json:"Region"`
	}
	// ASFFStatus is a workflow or compliance status.
	ASFFStatus struct {
		Status string `json:"Status"`
	}
	// ASFFRemediation says what will be done.
	ASFFRemediation struct {
		Recommendation struct {
			Text string `json:"Text"`
		} `json:"Recommendation"`
	}
)

// ASFFType is the finding type of every exported finding.
const ASFFType = "Software and Configuration Checks/AWS Security Best Practices/Unused Access"

// ASFF writes the plan's entries as a JSON array of ASFF findings, the
// input of Security Hub's BatchImportFindings (docs/exports.md).
type ASFF struct{ Options Options }

var _ Renderer = ASFF{}

// Render implements Renderer.
func (o ASFF) Render(w io.Writer, p *iamprune.Plan) error {
	fs := ASFFFindings(p, o.Options.Region)
	if err := writeIndented(w, fs); err != nil {
		return errWrap("ASFF", err)
	}
	return nil
}

func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// ASFFFindings maps every plan entry to its ASFF finding in region ("":
// us-east-1). The finding's Id is stable per item (ItemUID), so importing
// the findings of a later plan updates the same findings.
func ASFFFindings(p *iamprune.Plan, region string) []ASFFFinding {
	if region == "" {
		region = "us-east-1"
	}
	at := p.GeneratedAt.UTC().Format(time.RFC3339Nano)
	out := []ASFFFinding{}
	seen := map[string]bool{}
	for _, a := range p.Actions {
		f := asffFinding(a, region, at)
		// Two entries of one item (a held service and a new deny of
		// another of the same finding): the second is told apart by its
		// entry id, so that one request never names an Id twice.
		if seen[f.ID] {
			f.ID += "/" + a.ID
		}
		seen[f.ID] = true
		out = append(out, f)
	}
	return out
}

func asffFinding(a iamprune.Action, region, at string) ASFFFinding {
	st := StatusOf(a)
	part := partition(a.Principal)
	res := ASFFResource{Type: "AwsIamUser", ID: a.Principal, Partition: part, Region: region}
	if isRole(a.Principal) {
		res.Type = "AwsIamRole"
	}
	resources := []ASFFResource{res}
	if a.FindingType == iamprune.UnusedIAMUserAccessKey {
		resources = append(resources, ASFFResource{Type: "AwsIamAccessKey", ID: a.Target, Partition: part, Region: region})
	}
	f := ASFFFinding{
		SchemaVersion: "2018-10-08",
		ID:            "iamprune/" + a.Account + "/" + ItemUID(a),
		ProductArn:    "arn:" + part + ":securityhub:" + region + ":" + a.Account + ":product/" + a.Account + "/default",
		ProductName:   "iamprune",
		CompanyName:   "iamprune",
		GeneratorID:   "iamprune/" + string(a.FindingType),
		AwsAccountID:  a.Account,
		Region:        region,
		Types:         []string{ASFFType},
		CreatedAt:     at,
		UpdatedAt:     at,
		Severity:      ASFFSeverity{Label: st.Severity, Original: string(a.Kind)},
		FindingProviderFields: ASFFProviderFields{
			Severity: ASFFSeverity{Label: st.Severity, Original: string(a.Kind)},
			Types:    []string{ASFFType},
		},
		Title:         truncate(findingTitle(a), 256),
		Description:   truncate(a.Reason, 1024),
		Resources:     resources,
		Workflow:      ASFFStatus{Status: st.Workflow},
		Compliance:    ASFFStatus{Status: st.Compliance},
		RecordState:   "ACTIVE",
		ProductFields: asffFields(a),
	}
	if a.LastAccessed != nil {
		f.LastObserved = a.LastAccessed.UTC().Format(time.RFC3339Nano)
	}
	if st.Archived {
		f.RecordState = "ARCHIVED"
	}
	if f.Description == "" {
		f.Description = f.Title
	}
	if a.Kind.IsRemediation() || a.Kind.IsProposal() {
		f.Remediation = &ASFFRemediation{}
		f.Remediation.Recommendation.Text = truncate("iamprune: "+string(a.Kind)+" "+a.Target+" (due "+a.RemediateOn+"); 'iamprune rollback RUN_ID' undoes it", 512)
	}
	return f
}

// asffFields are the entry's own fields, as ProductFields.
func asffFields(a iamprune.Action) map[string]string {
	m := map[string]string{"iamprune/kind": string(a.Kind), "iamprune/action_id": a.ID, "iamprune/principal": a.Principal, "iamprune/target": a.Target}
	for k, v := range map[string]string{"finding_id": a.FindingID, "remediate_on": a.RemediateOn, "exception": a.Exception, "hold": a.Hold, "hold_until": a.HoldUntil} {
		if v != "" {
			m["iamprune/"+k] = v
		}
	}
	if a.Done != nil {
		m["iamprune/done_run_id"] = a.Done.RunID
	}
	return m
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// ASFFAbsentSides names the findings an earlier export may have made for
// the UnusedPermission findings of the plan that this plan no longer backs:
// the sides (remediation, notify, exempt: ItemUID) of a finding the plan
// has no entry for, once its services all came due, were excepted or were
// remediated. Export archives those that exist, so that a side left behind
// does not stay open beside the one that replaced it.
func ASFFAbsentSides(p *iamprune.Plan, region string) []iamprune.FindingRef {
	present := map[string]bool{}
	for _, f := range ASFFFindings(p, region) {
		present[f.ID] = true
	}
	if region == "" {
		region = "us-east-1"
	}
	var out []iamprune.FindingRef
	for _, a := range p.Actions {
		if a.FindingType != iamprune.UnusedPermission {
			continue
		}
		for _, kind := range []iamprune.ActionKind{iamprune.KindDenyUnusedServices, iamprune.KindNotify, iamprune.KindExempt} {
			side := a
			side.Kind, side.Hold, side.Done = kind, "", nil
			f := asffFinding(side, region, "")
			if !present[f.ID] {
				present[f.ID] = true
				out = append(out, iamprune.FindingRef{ID: f.ID, ProductArn: f.ProductArn})
			}
		}
	}
	return out
}
