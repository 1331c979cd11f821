package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/internal/input"
	"github.com/iamprune/iamprune/policy"
	"github.com/iamprune/iamprune/snapshot"
)

// RefineRequest is one refinement of a policy file to what a usage file
// says was used.
type RefineRequest struct {
	PolicyPath, UsagePath string
	Now                   time.Time
	// OlderThanDays is how long unused a service or action must be to go.
	OlderThanDays int
	Logger        *slog.Logger
}

// Refined is a refined policy: both documents, marshalled.
type Refined struct {
	Before, After []byte
	// Changed is set when anything was removed; Emptied when every
	// statement was.
	Changed, Emptied bool
}

// RefinePolicy removes from the policy's Allow statements every service
// and action unused for OlderThanDays or more. Nothing in AWS changes.
func RefinePolicy(r RefineRequest) (*Refined, error) {
	raw, err := readFlagFile("--policy", r.PolicyPath)
	if err != nil {
		return nil, err
	}
	doc, err := policy.Parse(raw)
	if err != nil {
		return nil, fileError("--policy", r.PolicyPath, err)
	}
	usage, err := loadUsage(r.UsagePath, r.Logger)
	if err != nil {
		return nil, fileError("--usage", r.UsagePath, err)
	}
	refined, report, err := policy.Refine(doc, usage, r.Now, r.OlderThanDays)
	if err != nil {
		return nil, fmt.Errorf("policy refine: %w", err)
	}
	out := &Refined{Changed: report.Changed(), Emptied: len(refined.Statement) == 0 && len(doc.Statement) > 0}
	if out.After, err = policy.Marshal(refined); err != nil {
		return nil, fmt.Errorf("policy refine: %w", err)
	}
	if out.Before, err = policy.Marshal(doc); err != nil {
		return nil, fmt.Errorf("policy refine: %w", err)
	}
	return out, nil
}

func readFlagFile(flag, path string) ([]byte, error) {
	b, err := input.ReadFile(path, input.MaxDocument)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, iamprune.Errorf(iamprune.EINVALID, "%s %s: file does not exist", flag, path)
	}
	if err != nil {
		return nil, iamprune.Errorf(iamprune.EINVALID, "%s %s: cannot read: %v", flag, path, err)
	}
	return b, nil
}

// fileError names the file in front of a parse error's field path; an
// *iamprune.Error keeps its code, so bad input still exits 2.
func fileError(flag, path string, err error) error {
	code := iamprune.ErrorCode(err)
	if code == iamprune.EINTERNAL {
		code = iamprune.EINVALID
	}
	return &iamprune.Error{Code: code, Message: flag + " " + path, Err: err}
}

// loadUsage reads --usage: a GetFindingV2 output (an object with
// findingDetails) or a last-accessed.json entry (an object with
// ServicesLastAccessed). A one-element array of either is accepted too, as
// cut from findings.json or last-accessed.json.
func loadUsage(path string, log *slog.Logger) (policy.Usage, error) {
	raw, err := readFlagFile("--usage", path)
	if err != nil {
		return policy.Usage{}, err
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return policy.Usage{}, iamprune.Errorf(iamprune.EINVALID, "invalid JSON: %v", err)
		}
		if len(list) != 1 {
			return policy.Usage{}, iamprune.Errorf(iamprune.EINVALID, "a list of %d entries: pass one finding or one last-accessed.json entry", len(list))
		}
		raw = list[0]
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return policy.Usage{}, iamprune.Errorf(iamprune.EINVALID, "not a JSON object: %v", err)
	}
	switch {
	case probe["findingDetails"] != nil:
		return usageFromFinding(path, raw, log)
	case probe["ServicesLastAccessed"] != nil:
		return policy.UsageFromLastAccessed(raw)
	}
	return policy.Usage{}, iamprune.Errorf(iamprune.EINVALID, "neither a GetFindingV2 output (findingDetails) nor a last-accessed.json entry (ServicesLastAccessed)")
}

// usageFromFinding reads an UnusedPermission finding in the snapshot's
// findings.json form. Details of other kinds are skipped with a warning.
func usageFromFinding(path string, raw []byte, log *slog.Logger) (policy.Usage, error) {
	var f struct {
		ID             string            `json:"id"`
		Resource       string            `json:"resource"`
		FindingType    string            `json:"findingType"`
		FindingDetails []json.RawMessage `json:"findingDetails"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return policy.Usage{}, iamprune.Errorf(iamprune.EINVALID, "not a GetFindingV2 output: %v", err)
	}
	if f.FindingType != "" && f.FindingType != string(iamprune.UnusedPermission) {
		return policy.Usage{}, iamprune.Errorf(iamprune.EINVALID, "findingType: %q is not %s", f.FindingType, iamprune.UnusedPermission)
	}
	finding := iamprune.Finding{ID: f.ID, Type: iamprune.UnusedPermission, Resource: f.Resource}
	for i, rd := range f.FindingDetails {
		field := fmt.Sprintf("findingDetails[%d]", i)
		var d snapshot.FindingDetail
		if err := json.Unmarshal(rd, &d); err != nil {
			return policy.Usage{}, iamprune.Errorf(iamprune.EINVALID, "%s: %v", field, err)
		}
		p := d.UnusedPermissionDetails
		if p == nil {
			logger(log).Warn("finding detail skipped: not unusedPermissionDetails", "file", path, "field", field, "member", d.Member())
			continue
		}
		if p.ServiceNamespace == "" {
			return policy.Usage{}, iamprune.Errorf(iamprune.EINVALID, "%s.unusedPermissionDetails.serviceNamespace: missing", field)
		}
		s := iamprune.ServiceUsage{Namespace: p.ServiceNamespace, LastAccessed: p.LastAccessed}
		for _, a := range p.Actions {
			s.Actions = append(s.Actions, iamprune.ActionUsage{Action: a.Action, LastAccessed: a.LastAccessed})
		}
		finding.Services = append(finding.Services, s)
	}
	if len(finding.Services) == 0 {
		return policy.Usage{}, iamprune.Errorf(iamprune.EINVALID, "findingDetails: no unusedPermissionDetails: not an UnusedPermission finding")
	}
	return policy.UsageFromFinding(finding), nil
}

// WriteRefined prints a refinement as 'policy refine' does: the refined
// document (output json), or a unified diff from the input named path
// (output diff; nothing when unchanged). An emptied policy is warned about
// on errW.
func WriteRefined(w, errW io.Writer, r *Refined, output, path string) error {
	if r.Emptied {
		fmt.Fprintln(errW, "iamprune: nothing the policy allows was used: every statement was removed; delete or detach the policy rather than writing this document")
	}
	if output == "json" {
		_, err := fmt.Fprintf(w, "%s\n", r.After)
		return err
	}
	if !r.Changed {
		return nil
	}
	_, err := fmt.Fprint(w, policy.UnifiedDiff("a/"+path, "b/"+path, r.Before, r.After))
	return err
}
