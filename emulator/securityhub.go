package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
)

// AWS Security Hub, REST-JSON as the real service: BatchImportFindings
// (POST /findings/import), BatchUpdateFindings (PATCH
// /findings/batchupdate) and GetFindings (POST /findings). Findings are
// kept per account, upserted by Id (and ProductArn), in ASFF JSON. As in
// Security Hub, an import that updates a finding keeps the fields
// customers own (Workflow, Note, UserDefinedFields, VerificationState),
// takes Severity and Types from FindingProviderFields when given, and
// resets a NOTIFIED or RESOLVED workflow to NEW when the compliance status
// leaves PASSED or the record state goes from ARCHIVED to ACTIVE; a new
// finding without a workflow gets NEW. Each finding is validated as Security Hub
// does in part: the required ASFF fields, their lengths, the product ARN
// of the caller's account and its default product; a finding that fails
// is answered in FailedFindings, the others are stored.
// RejectFinding injects rejections of chosen ids, to test retries.

// hubState is one account's Security Hub.
type hubState struct {
	mu       sync.Mutex
	findings map[string]json.RawMessage // by ProductArn + "\x00" + Id
	order    []string                   // keys in first-import order
	reject   map[string]hubRejection    // by finding Id
}

type hubRejection struct {
	code, message string
	times         int // < 0: always
}

func (s *Server) hub() *hubState {
	s.hubOnce.Do(func() {
		s.hubStore = &hubState{findings: map[string]json.RawMessage{}, reject: map[string]hubRejection{}}
	})
	return s.hubStore
}

// RejectFinding makes Security Hub reject the finding with this Id in
// BatchImportFindings with code and message, the next times imports
// (times < 0: every import).
func (s *Server) RejectFinding(id, code, message string, times int) {
	h := s.hub()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reject[id] = hubRejection{code: code, message: message, times: times}
}

// HubFindings returns the findings Security Hub holds for this account,
// in first-import order, as the ASFF JSON last imported for each.
func (s *Server) HubFindings() []json.RawMessage {
	h := s.hub()
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]json.RawMessage, 0, len(h.order))
	for _, k := range h.order {
		out = append(out, slices.Clone(h.findings[k]))
	}
	return out
}

func (s *Server) serveSecurityHub(w http.ResponseWriter, r *http.Request, body []byte, reqID string) {
	var op string
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/findings/import":
		op = "BatchImportFindings"
	case r.Method == http.MethodPost && r.URL.Path == "/findings":
		op = "GetFindings"
	case r.Method == http.MethodPatch && r.URL.Path == "/findings/batchupdate":
		op = "BatchUpdateFindings"
	}
	call := Call{Service: "securityhub", Operation: op, Params: restParams(r.URL.Path, r.URL.Query(), body)}
	if op == "" {
		call.Operation = r.Method + " " + r.URL.Path
	}
	if e := s.injectedFailure(call, r); e != nil {
		writeJSONError(w, reqID, e)
		return
	}
	if !s.admit(call, r) {
		writeJSONError(w, reqID, jsonThrottling())
		return
	}
	var out any
	var aerr *apiError
	switch op {
	case "BatchImportFindings":
		out, aerr = s.batchImportFindings(body)
	case "GetFindings":
		out, aerr = s.getFindings(body)
	case "BatchUpdateFindings":
		out, aerr = s.batchUpdateFindings(body)
	default:
		aerr = errorf(http.StatusNotFound, "InvalidAccessException", "the iamprune emulator does not implement %s %s for securityhub", r.Method, r.URL.Path)
	}
	if aerr != nil {
		writeJSONError(w, reqID, aerr)
		return
	}
	writeJSON(w, http.StatusOK, reqID, out)
}

type hubFailed struct {
	ID           string `json:"Id"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

// maxImport is BatchImportFindings' limit of findings per request.
const maxImport = 100

func (s *Server) batchImportFindings(body []byte) (any, *apiError) {
	var in struct {
		Findings []json.RawMessage `json:"Findings"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errorf(http.StatusBadRequest, "InvalidInputException", "cannot read the request: %v", err)
	}
	if len(in.Findings) == 0 || len(in.Findings) > maxImport {
		return nil, errorf(http.StatusBadRequest, "InvalidInputException", "Findings must hold 1 to %d findings, got %d", maxImport, len(in.Findings))
	}
	account, region, partition := s.st.meta.AccountID, s.st.region(), s.st.partition()
	h := s.hub()
	h.mu.Lock()
	defer h.mu.Unlock()
	failed := []hubFailed{}
	for _, raw := range in.Findings {
		id, arn, code, msg := validateASFF(raw, account, region, partition)
		if code == "" {
			code, msg = h.injected(id)
		}
		if code != "" {
			failed = append(failed, hubFailed{ID: id, ErrorCode: code, ErrorMessage: msg})
			continue
		}
		key := arn + "\x00" + id
		old, ok := h.findings[key]
		if !ok {
			h.order = append(h.order, key)
		}
		h.findings[key] = upsertFinding(old, raw)
	}
	return map[string]any{"FailedCount": len(failed), "SuccessCount": len(in.Findings) - len(failed), "FailedFindings": failed}, nil
}

// injected answers an injected rejection of id, if one is pending. Callers
// hold mu.
func (h *hubState) injected(id string) (code, msg string) {
	rej, ok := h.reject[id]
	if !ok {
		return "", ""
	}
	if rej.times > 0 {
		if rej.times--; rej.times == 0 {
			delete(h.reject, id)
		} else {
			h.reject[id] = rej
		}
	}
	return rej.code, rej.message
}

// validateASFF checks what Security Hub checks of an imported finding,
// returning its Id and ProductArn, and an error code and message when it
// is rejected.
func validateASFF(raw json.RawMessage, account, region, partition string) (id, productArn, code, msg string) {
	var f map[string]any
	if err := json.Unmarshal(raw, &f); err != nil {
		return "", "", "InvalidInput", "Finding is not a JSON object: " + err.Error()
	}
	id, _ = f["Id"].(string)
	productArn, _ = f["ProductArn"].(string)
	for _, field := range []string{"SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "CreatedAt", "UpdatedAt", "Title", "Description"} {
		if v, ok := f[field].(string); !ok || v == "" {
			return id, productArn, "InvalidInput", fmt.Sprintf("Finding does not adhere to Amazon Security Finding Format. data should have required property '%s' (a non-empty string)", field)
		}
	}
	if v := f["SchemaVersion"]; v != "2018-10-08" {
		return id, productArn, "InvalidInput", fmt.Sprintf("Finding does not adhere to Amazon Security Finding Format. data.SchemaVersion %v is not 2018-10-08", v)
	}
	for field, limit := range map[string]int{"Id": 512, "Title": 256, "Description": 1024, "GeneratorId": 512} {
		if n := len(f[field].(string)); n > limit {
			return id, productArn, "InvalidInput", fmt.Sprintf("Finding does not adhere to Amazon Security Finding Format. data.%s should NOT be longer than %d characters (got %d)", field, limit, n)
		}
	}
	if res, ok := f["Resources"].([]any); !ok || len(res) == 0 || len(res) > 32 {
		return id, productArn, "InvalidInput", "Finding does not adhere to Amazon Security Finding Format. data.Resources should hold 1 to 32 resources"
	}
	if _, ok := f["Severity"].(map[string]any); !ok {
		return id, productArn, "InvalidInput", "Finding does not adhere to Amazon Security Finding Format. data should have required property 'Severity'"
	}
	if types, ok := f["Types"].([]any); !ok || len(types) == 0 {
		return id, productArn, "InvalidInput", "Finding does not adhere to Amazon Security Finding Format. data should have required property 'Types'"
	}
	want := "arn:" + partition + ":securityhub:" + region + ":" + account + ":product/" + account + "/default"
	if productArn != want {
		return id, productArn, "AccessDeniedException", "ProductArn " + productArn + " is not this account's default product " + want
	}
	if f["AwsAccountId"] != account {
		return id, productArn, "AccessDeniedException", fmt.Sprintf("AwsAccountId %v: a finding of the default product must be about the importing account %s", f["AwsAccountId"], account)
	}
	return id, productArn, "", ""
}

// getFindings answers GetFindings: every finding of the account, filtered
// by Id and ProductArn (EQUALS) when asked, paged by MaxResults.
func (s *Server) getFindings(body []byte) (any, *apiError) {
	var in struct {
		Filters struct {
			ID         []hubStringFilter `json:"Id"`
			ProductArn []hubStringFilter `json:"ProductArn"`
		} `json:"Filters"`
		MaxResults int    `json:"MaxResults"`
		NextToken  string `json:"NextToken"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, errorf(http.StatusBadRequest, "InvalidInputException", "cannot read the request: %v", err)
		}
	}
	if in.MaxResults == 0 {
		in.MaxResults = 100
	}
	if in.MaxResults < 1 || in.MaxResults > 100 {
		return nil, errorf(http.StatusBadRequest, "InvalidInputException", "MaxResults must be 1 to 100, got %d", in.MaxResults)
	}
	start := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(in.NextToken)
		if err != nil || n < 0 {
			return nil, errorf(http.StatusBadRequest, "InvalidInputException", "NextToken %q is not valid", in.NextToken)
		}
		start = n
	}
	h := s.hub()
	h.mu.Lock()
	defer h.mu.Unlock()
	var match []json.RawMessage
	keys := h.order
	for _, k := range keys {
		raw := h.findings[k]
		var f struct{ Id, ProductArn string }
		_ = json.Unmarshal(raw, &f)
		if hubMatches(in.Filters.ID, f.Id) && hubMatches(in.Filters.ProductArn, f.ProductArn) {
			match = append(match, raw)
		}
	}
	out := map[string]any{"Findings": []json.RawMessage{}}
	if start < len(match) {
		end := min(start+in.MaxResults, len(match))
		out["Findings"] = match[start:end]
		if end < len(match) {
			out["NextToken"] = strconv.Itoa(end)
		}
	}
	return out, nil
}

type hubStringFilter struct {
	Value      string `json:"Value"`
	Comparison string `json:"Comparison"`
}

// hubMatches applies EQUALS string filters, ORed as Security Hub does for
// one field; no filter matches everything.
func hubMatches(fs []hubStringFilter, v string) bool {
	if len(fs) == 0 {
		return true
	}
	for _, f := range fs {
		if (f.Comparison == "" || f.Comparison == "EQUALS") && f.Value == v {
			return true
		}
	}
	return false
}

// upsertFinding is the stored form of an imported finding: raw as it is
// for a new one (with workflow NEW unless given), else merged into old as
// Security Hub does (see the top of this file).
func upsertFinding(old, raw json.RawMessage) json.RawMessage {
	var f map[string]any
	_ = json.Unmarshal(raw, &f)
	if old == nil {
		if _, ok := f["Workflow"]; !ok {
			f["Workflow"] = map[string]any{"Status": "NEW"}
		}
		b, _ := json.Marshal(f)
		return b
	}
	var prev map[string]any
	_ = json.Unmarshal(old, &prev)
	for _, k := range []string{"Workflow", "Note", "UserDefinedFields", "VerificationState"} {
		if v, ok := prev[k]; ok {
			f[k] = v
		} else {
			delete(f, k)
		}
	}
	if fpf, ok := f["FindingProviderFields"].(map[string]any); ok {
		for _, k := range []string{"Severity", "Types"} {
			if v, ok := fpf[k]; ok {
				f[k] = v
			}
		}
	}
	status := func(m map[string]any, k string) string {
		o, _ := m[k].(map[string]any)
		s, _ := o["Status"].(string)
		return s
	}
	record := func(m map[string]any) string {
		s, _ := m["RecordState"].(string)
		if s == "" {
			return "ACTIVE"
		}
		return s
	}
	leftPassed := status(prev, "Compliance") == "PASSED" && status(f, "Compliance") != "" && status(f, "Compliance") != "PASSED"
	reopened := record(prev) == "ARCHIVED" && record(f) == "ACTIVE"
	if w := status(f, "Workflow"); (leftPassed || reopened) && (w == "NOTIFIED" || w == "RESOLVED") {
		f["Workflow"] = map[string]any{"Status": "NEW"}
	}
	b, _ := json.Marshal(f)
	return b
}

// batchUpdateFindings answers BatchUpdateFindings for the Workflow field:
// each finding named is updated, or answered in UnprocessedFindings when
// the account holds no such finding.
func (s *Server) batchUpdateFindings(body []byte) (any, *apiError) {
	type ident struct {
		ID         string `json:"Id"`
		ProductArn string `json:"ProductArn"`
	}
	var in struct {
		FindingIdentifiers []ident `json:"FindingIdentifiers"`
		Workflow           *struct {
			Status string `json:"Status"`
		} `json:"Workflow"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errorf(http.StatusBadRequest, "InvalidInputException", "cannot read the request: %v", err)
	}
	if len(in.FindingIdentifiers) == 0 || len(in.FindingIdentifiers) > maxImport {
		return nil, errorf(http.StatusBadRequest, "InvalidInputException", "FindingIdentifiers must hold 1 to %d findings, got %d", maxImport, len(in.FindingIdentifiers))
	}
	if in.Workflow != nil && !slices.Contains([]string{"NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"}, in.Workflow.Status) {
		return nil, errorf(http.StatusBadRequest, "InvalidInputException", "Workflow.Status %q is not NEW, NOTIFIED, RESOLVED or SUPPRESSED", in.Workflow.Status)
	}
	h := s.hub()
	h.mu.Lock()
	defer h.mu.Unlock()
	processed, unprocessed := []ident{}, []map[string]any{}
	for _, id := range in.FindingIdentifiers {
		key := id.ProductArn + "\x00" + id.ID
		raw, ok := h.findings[key]
		if !ok {
			unprocessed = append(unprocessed, map[string]any{"FindingIdentifier": id, "ErrorCode": "FindingNotFound", "ErrorMessage": "no finding " + id.ID + " of product " + id.ProductArn})
			continue
		}
		if in.Workflow != nil {
			var f map[string]any
			_ = json.Unmarshal(raw, &f)
			f["Workflow"] = map[string]any{"Status": in.Workflow.Status}
			h.findings[key], _ = json.Marshal(f)
		}
		processed = append(processed, id)
	}
	return map[string]any{"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}, nil
}
