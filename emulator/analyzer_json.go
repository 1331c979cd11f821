package emulator

import (
	"encoding/json"
	"time"

	"github.com/iamprune/iamprune/snapshot"
)

// Access Analyzer response shapes. Timestamps are ISO 8601 strings in UTC,
// as the service returns them.

type jsonTime time.Time

func (t jsonTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Time(t).UTC().Format(time.RFC3339Nano))
}

func jsonPtr(t *time.Time) *jsonTime {
	if t == nil {
		return nil
	}
	v := jsonTime(*t)
	return &v
}

type jsonAnalyzer struct {
	Arn                    string            `json:"arn"`
	Configuration          json.RawMessage   `json:"configuration,omitempty"`
	CreatedAt              *jsonTime         `json:"createdAt,omitempty"`
	LastResourceAnalyzed   string            `json:"lastResourceAnalyzed,omitempty"`
	LastResourceAnalyzedAt *jsonTime         `json:"lastResourceAnalyzedAt,omitempty"`
	Name                   string            `json:"name"`
	Status                 string            `json:"status"`
	Tags                   map[string]string `json:"tags,omitempty"`
	Type                   string            `json:"type"`
}

func analyzerJSON(a snapshot.Analyzer) jsonAnalyzer {
	return jsonAnalyzer{
		Arn: a.Arn, Configuration: a.Configuration, CreatedAt: jsonPtr(a.CreatedAt),
		LastResourceAnalyzed: a.LastResourceAnalyzed, LastResourceAnalyzedAt: jsonPtr(a.LastResourceAnalyzedAt),
		Name: a.Name, Status: a.Status, Tags: a.Tags, Type: a.Type,
	}
}

type listAnalyzersOutput struct {
	Analyzers []jsonAnalyzer `json:"analyzers"`
	NextToken string         `json:"nextToken,omitempty"`
}

type getAnalyzerOutput struct {
	Analyzer jsonAnalyzer `json:"analyzer"`
}

// jsonFindingSummary is FindingSummaryV2; GetFindingV2 adds details.
type jsonFindingSummary struct {
	AnalyzedAt           *jsonTime `json:"analyzedAt,omitempty"`
	CreatedAt            *jsonTime `json:"createdAt,omitempty"`
	Error                *string   `json:"error,omitempty"`
	FindingType          string    `json:"findingType,omitempty"`
	Id                   string    `json:"id"`
	Resource             string    `json:"resource,omitempty"`
	ResourceOwnerAccount string    `json:"resourceOwnerAccount"`
	ResourceType         string    `json:"resourceType"`
	Status               string    `json:"status"`
	UpdatedAt            *jsonTime `json:"updatedAt,omitempty"`
}

func findingSummary(f *snapshot.Finding) jsonFindingSummary {
	return jsonFindingSummary{
		AnalyzedAt: jsonPtr(f.AnalyzedAt), CreatedAt: jsonPtr(f.CreatedAt), Error: f.Error, FindingType: f.FindingType,
		Id: f.Id, Resource: f.Resource, ResourceOwnerAccount: f.ResourceOwnerAccount, ResourceType: f.ResourceType,
		Status: f.Status, UpdatedAt: jsonPtr(f.UpdatedAt),
	}
}

type listFindingsV2Output struct {
	Findings  []jsonFindingSummary `json:"findings"`
	NextToken string               `json:"nextToken,omitempty"`
}

type getFindingV2Output struct {
	jsonFindingSummary
	FindingDetails []map[string]any `json:"findingDetails"`
	NextToken      string           `json:"nextToken,omitempty"`
}

type jsonLastAccessed struct {
	LastAccessed *jsonTime `json:"lastAccessed,omitempty"`
}

type jsonKeyDetails struct {
	AccessKeyId  string    `json:"accessKeyId"`
	LastAccessed *jsonTime `json:"lastAccessed,omitempty"`
}

type jsonUnusedAction struct {
	Action       string    `json:"action"`
	LastAccessed *jsonTime `json:"lastAccessed,omitempty"`
}

type jsonPermissionDetails struct {
	Actions          []jsonUnusedAction `json:"actions,omitempty"`
	LastAccessed     *jsonTime          `json:"lastAccessed,omitempty"`
	ServiceNamespace string             `json:"serviceNamespace"`
}

// detailJSON renders one FindingDetails union value. Members this version
// does not model are served verbatim, so clients see them as unknown union
// members exactly as they would from AWS.
func detailJSON(d snapshot.FindingDetail) map[string]any {
	m := map[string]any{}
	if v := d.UnusedIamRoleDetails; v != nil {
		m["unusedIamRoleDetails"] = jsonLastAccessed{jsonPtr(v.LastAccessed)}
	}
	if v := d.UnusedIamUserAccessKeyDetails; v != nil {
		m["unusedIamUserAccessKeyDetails"] = jsonKeyDetails{AccessKeyId: v.AccessKeyId, LastAccessed: jsonPtr(v.LastAccessed)}
	}
	if v := d.UnusedIamUserPasswordDetails; v != nil {
		m["unusedIamUserPasswordDetails"] = jsonLastAccessed{jsonPtr(v.LastAccessed)}
	}
	if v := d.UnusedPermissionDetails; v != nil {
		p := jsonPermissionDetails{LastAccessed: jsonPtr(v.LastAccessed), ServiceNamespace: v.ServiceNamespace}
		for _, a := range v.Actions {
			p.Actions = append(p.Actions, jsonUnusedAction{Action: a.Action, LastAccessed: jsonPtr(a.LastAccessed)})
		}
		m["unusedPermissionDetails"] = p
	}
	for k, raw := range d.Unknown {
		m[k] = raw
	}
	return m
}
