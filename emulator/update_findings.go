package emulator

import "github.com/iamprune/iamprune/snapshot"

type updateFindingsInput struct {
	AnalyzerArn string   `json:"analyzerArn"`
	ClientToken string   `json:"clientToken"`
	Ids         []string `json:"ids"`
	ResourceArn string   `json:"resourceArn"`
	Status      string   `json:"status"`
}

// updateFindings sets findings ACTIVE or ARCHIVED, named by ids or by the
// resource they are about. Named findings must all exist, or none changes.
// RESOLVED findings cannot be updated: naming one by id is an error, and a
// resourceArn update passes over them. updatedAt moves only for findings
// whose status changes, so a repeated update changes nothing.
func (s *Server) updateFindings(r restRequest) (any, *apiError) {
	var in updateFindingsInput
	if aerr := decodeBody(r.Body, &in); aerr != nil {
		return nil, aerr
	}
	if aerr := s.checkAnalyzer(in.AnalyzerArn); aerr != nil {
		return nil, aerr
	}
	if in.Status != "ACTIVE" && in.Status != "ARCHIVED" {
		return nil, validationException("status must be ACTIVE or ARCHIVED, got %q", in.Status)
	}
	if (len(in.Ids) == 0) == (in.ResourceArn == "") {
		return nil, validationException("exactly one of ids and resourceArn is required")
	}
	var targets []*snapshot.Finding
	if in.ResourceArn != "" {
		for _, f := range s.st.findings {
			if f.Resource == in.ResourceArn && f.Status != "RESOLVED" {
				targets = append(targets, f)
			}
		}
	} else {
		for _, id := range in.Ids {
			f := s.st.findingByID[id]
			if f == nil {
				return nil, resourceNotFound(id, "AWS::AccessAnalyzer::Finding", "Finding %s not found", id)
			}
			if f.Status == "RESOLVED" {
				return nil, validationException("finding %s is RESOLVED; only ACTIVE and ARCHIVED findings can be updated", id)
			}
			targets = append(targets, f)
		}
	}
	now := s.stamp()
	for _, f := range targets {
		if f.Status != in.Status {
			at := now
			f.Status, f.UpdatedAt = in.Status, &at
		}
	}
	return empty{}, nil
}
