package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"
)

const basicAnalyzerARN = "arn:aws:access-analyzer:us-east-1:111122223333:analyzer/iamprune-unused-access"

func TestListAnalyzers(t *testing.T) {
	tests := []struct {
		snapshot string
		typ      types.Type
		want     []string
	}{
		{"basic", "", []string{basicAnalyzerARN}},
		{"basic", types.TypeAccountUnusedAccess, []string{basicAnalyzerARN}},
		{"basic", types.TypeAccount, nil},
		{"analyzer", types.TypeOrganizationUnusedAccess, []string{"arn:aws:access-analyzer:eu-west-1:444455556666:analyzer/org-unused"}},
		{"analyzer", types.TypeAccountUnusedAccess, nil},
	}
	for _, tt := range tests {
		t.Run(tt.snapshot+"/"+string(tt.typ), func(t *testing.T) {
			env := newEnv(t, tt.snapshot, Options{PageSize: 1})
			p := accessanalyzer.NewListAnalyzersPaginator(env.aa, &accessanalyzer.ListAnalyzersInput{Type: tt.typ})
			var got []string
			for p.HasMorePages() {
				out, err := p.NextPage(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range out.Analyzers {
					got = append(got, *a.Arn)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("analyzers = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestListAnalyzersBadType(t *testing.T) {
	env := newEnv(t, "basic", Options{})
	_, err := env.aa.ListAnalyzers(context.Background(), &accessanalyzer.ListAnalyzersInput{Type: "PUBLIC"})
	var ve *types.ValidationException
	if !errors.As(err, &ve) {
		t.Fatalf("want *types.ValidationException, got %v", err)
	}
	wantAPIError(t, err, "ValidationException", 400)
}

func TestGetAnalyzer(t *testing.T) {
	env := newEnv(t, "analyzer", Options{})
	ctx := context.Background()
	out, err := env.aa.GetAnalyzer(ctx, &accessanalyzer.GetAnalyzerInput{AnalyzerName: aws.String("org-unused")})
	if err != nil {
		t.Fatal(err)
	}
	a := out.Analyzer
	if *a.Name != "org-unused" || a.Type != types.TypeOrganizationUnusedAccess || a.Status != types.AnalyzerStatusActive {
		t.Errorf("analyzer = %+v", a)
	}
	// analyzer.json said 12:00+02:00; the wire carries UTC.
	if !timeEq(a.CreatedAt, ptrTime("2025-06-01T10:00:00Z")) || a.CreatedAt.Location().String() != "UTC" {
		t.Errorf("createdAt = %v", a.CreatedAt)
	}
	if a.Tags["team"] != "security" || *a.LastResourceAnalyzed != "arn:aws:iam::444455556666:user/ops/dave" {
		t.Errorf("tags %v lastResourceAnalyzed %v", a.Tags, a.LastResourceAnalyzed)
	}
	cfg, ok := a.Configuration.(*types.AnalyzerConfigurationMemberUnusedAccess)
	if !ok || cfg.Value.UnusedAccessAge == nil || *cfg.Value.UnusedAccessAge != 90 {
		t.Errorf("configuration = %#v", a.Configuration)
	}

	_, err = env.aa.GetAnalyzer(ctx, &accessanalyzer.GetAnalyzerInput{AnalyzerName: aws.String("other")})
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Fatalf("want *types.ResourceNotFoundException, got %v", err)
	}
	if rnf.ResourceId == nil || *rnf.ResourceId != "other" {
		t.Errorf("resourceId = %v", rnf.ResourceId)
	}
	wantAPIError(t, err, "ResourceNotFoundException", 404)
}

func TestListFindingsV2(t *testing.T) {
	all := []string{"f-key-alice", "f-password-carol", "f-role-ci", "f-perm-app", "f-key-bob-archived", "f-role-other-account"}
	tests := []struct {
		name   string
		filter map[string]types.Criterion
		sort   *types.SortCriteria
		want   []string
	}{
		{name: "all", want: all},
		{name: "active", filter: map[string]types.Criterion{"status": {Eq: []string{"ACTIVE"}}},
			want: []string{"f-key-alice", "f-password-carol", "f-role-ci", "f-perm-app"}},
		{name: "not active", filter: map[string]types.Criterion{"status": {Neq: []string{"ACTIVE"}}},
			want: []string{"f-key-bob-archived", "f-role-other-account"}},
		{name: "active keys", filter: map[string]types.Criterion{
			"status": {Eq: []string{"ACTIVE"}}, "findingType": {Eq: []string{"UnusedIAMUserAccessKey"}}},
			want: []string{"f-key-alice"}},
		{name: "roles in eng or service paths", filter: map[string]types.Criterion{"resource": {Contains: []string{"role/service-role/", "user/eng/"}}},
			want: []string{"f-password-carol", "f-perm-app", "f-key-bob-archived"}},
		{name: "other account", filter: map[string]types.Criterion{"resourceOwnerAccount": {Neq: []string{"111122223333"}}},
			want: []string{"f-role-other-account"}},
		{name: "role type by id", filter: map[string]types.Criterion{
			"resourceType": {Eq: []string{"AWS::IAM::Role"}}, "id": {Eq: []string{"f-role-ci", "f-key-alice"}}},
			want: []string{"f-role-ci"}},
		{name: "exists", filter: map[string]types.Criterion{"resource": {Exists: aws.Bool(true)}}, want: all},
		{name: "not exists", filter: map[string]types.Criterion{"resource": {Exists: aws.Bool(false)}}, want: nil},
		{name: "sorted by id desc", sort: &types.SortCriteria{AttributeName: aws.String("id"), OrderBy: types.OrderByDesc},
			want: []string{"f-role-other-account", "f-role-ci", "f-perm-app", "f-password-carol", "f-key-bob-archived", "f-key-alice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, "basic", Options{PageSize: 2})
			p := accessanalyzer.NewListFindingsV2Paginator(env.aa, &accessanalyzer.ListFindingsV2Input{
				AnalyzerArn: aws.String(basicAnalyzerARN), Filter: tt.filter, Sort: tt.sort,
			})
			var got []string
			pages := 0
			for p.HasMorePages() {
				out, err := p.NextPage(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, f := range out.Findings {
					got = append(got, *f.Id)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("findings = %v, want %v", got, tt.want)
			}
			if want := max(1, (len(tt.want)+1)/2); pages != want {
				t.Errorf("pages = %d, want %d", pages, want)
			}
			if d := env.srv.Duplicates(); len(d) != 0 {
				t.Errorf("duplicates: %v", d)
			}
		})
	}
}

func TestListFindingsV2Summary(t *testing.T) {
	env := newEnv(t, "basic", Options{})
	out, err := env.aa.ListFindingsV2(context.Background(), &accessanalyzer.ListFindingsV2Input{
		AnalyzerArn: aws.String(basicAnalyzerARN),
		Filter:      map[string]types.Criterion{"id": {Eq: []string{"f-role-other-account"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Findings) != 1 {
		t.Fatalf("findings = %+v", out.Findings)
	}
	f := out.Findings[0]
	if *f.Resource != "arn:aws:iam::999988887777:role/remote" || *f.ResourceOwnerAccount != "999988887777" ||
		f.ResourceType != types.ResourceTypeAwsIamRole || f.Status != types.FindingStatusResolved ||
		f.FindingType != types.FindingTypeUnusedIamRole || *f.Error != "ACCESS_DENIED" {
		t.Errorf("summary = %+v", f)
	}
	if !timeEq(f.CreatedAt, ptrTime("2026-02-01T00:00:00Z")) || !timeEq(f.UpdatedAt, ptrTime("2026-02-02T00:00:00Z")) ||
		!timeEq(f.AnalyzedAt, ptrTime("2026-11-27T06:00:00Z")) {
		t.Errorf("times = %v %v %v", f.CreatedAt, f.UpdatedAt, f.AnalyzedAt)
	}
	if out.NextToken != nil {
		t.Errorf("nextToken on the only page: %q", *out.NextToken)
	}
}

func TestListFindingsV2Errors(t *testing.T) {
	env := newEnv(t, "basic", Options{PageSize: 2})
	ctx := context.Background()
	tests := []struct {
		name   string
		in     *accessanalyzer.ListFindingsV2Input
		code   string
		status int
	}{
		{"wrong analyzer", &accessanalyzer.ListFindingsV2Input{AnalyzerArn: aws.String("arn:aws:access-analyzer:us-east-1:111122223333:analyzer/nope")}, "ResourceNotFoundException", 404},
		{"unknown filter key", &accessanalyzer.ListFindingsV2Input{AnalyzerArn: aws.String(basicAnalyzerARN), Filter: map[string]types.Criterion{"colour": {Eq: []string{"red"}}}}, "ValidationException", 400},
		{"bad token", &accessanalyzer.ListFindingsV2Input{AnalyzerArn: aws.String(basicAnalyzerARN), NextToken: aws.String("bm9wZQ")}, "ValidationException", 400},
		{"bad maxResults", &accessanalyzer.ListFindingsV2Input{AnalyzerArn: aws.String(basicAnalyzerARN), MaxResults: aws.Int32(5000)}, "ValidationException", 400},
		{"bad sort", &accessanalyzer.ListFindingsV2Input{AnalyzerArn: aws.String(basicAnalyzerARN), Sort: &types.SortCriteria{AttributeName: aws.String("colour")}}, "ValidationException", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.aa.ListFindingsV2(ctx, tt.in)
			wantAPIError(t, err, tt.code, tt.status)
		})
	}
	var rnf *types.ResourceNotFoundException
	_, err := env.aa.ListFindingsV2(ctx, tests[0].in)
	if !errors.As(err, &rnf) {
		t.Errorf("wrong analyzer: want *types.ResourceNotFoundException, got %T", err)
	}

	// A token issued for one filter does not apply to another.
	first, err := env.aa.ListFindingsV2(ctx, &accessanalyzer.ListFindingsV2Input{AnalyzerArn: aws.String(basicAnalyzerARN)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page: %+v %v", first, err)
	}
	_, err = env.aa.ListFindingsV2(ctx, &accessanalyzer.ListFindingsV2Input{
		AnalyzerArn: aws.String(basicAnalyzerARN), NextToken: first.NextToken,
		Filter: map[string]types.Criterion{"status": {Eq: []string{"ACTIVE"}}},
	})
	wantAPIError(t, err, "ValidationException", 400)
}

func TestGetFindingV2PagesDetails(t *testing.T) {
	env := newEnv(t, "basic", Options{PageSize: 2})
	p := accessanalyzer.NewGetFindingV2Paginator(env.aa, &accessanalyzer.GetFindingV2Input{
		AnalyzerArn: aws.String(basicAnalyzerARN), Id: aws.String("f-perm-app"),
	})
	var details []types.FindingDetails
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if *out.Id != "f-perm-app" || out.FindingType != types.FindingTypeUnusedPermission || out.Status != types.FindingStatusActive ||
			*out.Resource != "arn:aws:iam::111122223333:role/service-role/app-role" {
			t.Errorf("page %d header = %+v", pages, out)
		}
		if !timeEq(out.AnalyzedAt, ptrTime("2026-11-27T06:00:00.123Z")) {
			t.Errorf("analyzedAt = %v, want millisecond precision kept", out.AnalyzedAt)
		}
		details = append(details, out.FindingDetails...)
	}
	if pages != 3 || len(details) != 5 {
		t.Fatalf("pages %d details %d, want 3 pages of 5 details", pages, len(details))
	}
	var services []string
	for i, d := range details {
		switch v := d.(type) {
		case *types.FindingDetailsMemberUnusedPermissionDetails:
			services = append(services, *v.Value.ServiceNamespace)
		case *types.UnknownUnionMember:
			// The REST-JSON deserializer keeps only the tag; the value is
			// checked on the wire below.
			if i != 3 || v.Tag != "unusedIamFutureDetails" {
				t.Errorf("unknown member %d: tag %q", i, v.Tag)
			}
		default:
			t.Errorf("detail %d has type %T", i, d)
		}
	}
	if !slices.Equal(services, []string{"sqs", "s3", "dynamodb", "kms"}) {
		t.Errorf("services = %v", services)
	}
	s3 := details[1].(*types.FindingDetailsMemberUnusedPermissionDetails).Value
	if s3.LastAccessed != nil || len(s3.Actions) != 2 || *s3.Actions[0].Action != "s3:DeleteObject" || s3.Actions[0].LastAccessed != nil ||
		!timeEq(s3.Actions[1].LastAccessed, ptrTime("2026-01-02T03:04:05Z")) {
		t.Errorf("s3 detail = %+v", s3)
	}
	sqs := details[0].(*types.FindingDetailsMemberUnusedPermissionDetails).Value
	if !timeEq(sqs.LastAccessed, ptrTime("2025-12-24T00:00:00Z")) {
		t.Errorf("sqs lastAccessed = %v", sqs.LastAccessed)
	}

	// The unknown member is served verbatim.
	status, _, body := rawRequest(t, env.url, "GET", "/findingv2/f-perm-app?maxResults=1&nextToken="+encodeToken("GetFindingV2|f-perm-app", 3)+
		"&analyzerArn="+url.QueryEscape(basicAnalyzerARN), authFor("access-analyzer"), "", "")
	var out struct {
		FindingDetails []map[string]json.RawMessage `json:"findingDetails"`
	}
	if err := json.Unmarshal(body, &out); status != 200 || err != nil || len(out.FindingDetails) != 1 {
		t.Fatalf("raw GetFindingV2: %d %v %s", status, err, body)
	}
	var got, want any
	json.Unmarshal(out.FindingDetails[0]["unusedIamFutureDetails"], &got)
	json.Unmarshal([]byte(`{"someField": "kept verbatim", "count": 3}`), &want)
	if !jsonEqual(got, want) {
		t.Errorf("unknown member on the wire = %s", body)
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestGetFindingV2Members(t *testing.T) {
	env := newEnv(t, "basic", Options{})
	ctx := context.Background()
	get := func(id string) []types.FindingDetails {
		t.Helper()
		out, err := env.aa.GetFindingV2(ctx, &accessanalyzer.GetFindingV2Input{AnalyzerArn: aws.String(basicAnalyzerARN), Id: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		if out.NextToken != nil {
			t.Errorf("%s: unexpected nextToken", id)
		}
		return out.FindingDetails
	}
	keys := get("f-key-alice")
	k0, ok0 := keys[0].(*types.FindingDetailsMemberUnusedIamUserAccessKeyDetails)
	k1, ok1 := keys[1].(*types.FindingDetailsMemberUnusedIamUserAccessKeyDetails)
	if !ok0 || !ok1 || *k0.Value.AccessKeyId != "AKIAALICE00000000002" || k0.Value.LastAccessed != nil ||
		*k1.Value.AccessKeyId != "AKIAALICE00000000003" || !timeEq(k1.Value.LastAccessed, ptrTime("2025-04-01T00:00:00Z")) {
		t.Errorf("key details = %#v", keys)
	}
	if pw, ok := get("f-password-carol")[0].(*types.FindingDetailsMemberUnusedIamUserPasswordDetails); !ok || pw.Value.LastAccessed != nil {
		t.Errorf("password detail = %#v", pw)
	}
	if r, ok := get("f-role-other-account")[0].(*types.FindingDetailsMemberUnusedIamRoleDetails); !ok || !timeEq(r.Value.LastAccessed, ptrTime("2025-01-01T00:00:00Z")) {
		t.Errorf("role detail = %#v", r)
	}
}

func TestGetFindingV2NotFound(t *testing.T) {
	env := newEnv(t, "basic", Options{})
	ctx := context.Background()
	tests := []struct {
		name, analyzer, id, code string
		status                   int
	}{
		{"no such finding", basicAnalyzerARN, "f-nope", "ResourceNotFoundException", 404},
		{"wrong analyzer", "arn:aws:access-analyzer:us-east-1:111122223333:analyzer/other", "f-role-ci", "ResourceNotFoundException", 404},
		{"bad token", basicAnalyzerARN, "f-role-ci", "ValidationException", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &accessanalyzer.GetFindingV2Input{AnalyzerArn: aws.String(tt.analyzer), Id: aws.String(tt.id)}
			if tt.code == "ValidationException" {
				in.NextToken = aws.String("not-a-token")
			}
			_, err := env.aa.GetFindingV2(ctx, in)
			wantAPIError(t, err, tt.code, tt.status)
			var rnf *types.ResourceNotFoundException
			if tt.status == 404 && !errors.As(err, &rnf) {
				t.Errorf("want *types.ResourceNotFoundException, got %T", err)
			}
		})
	}
}
