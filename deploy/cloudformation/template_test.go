package cloudformation

import (
	"errors"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/iamprune/iamprune"
	ddb "github.com/iamprune/iamprune/dynamodb"
	"github.com/iamprune/iamprune/remediate"
)

const (
	stackTemplate  = "iamprune.yaml"
	memberTemplate = "member-role.yaml"
)

// kindParams are the template parameters that enable each remediation
// kind, in both templates.
var kindParams = map[iamprune.ActionKind]string{
	iamprune.KindDeactivateAccessKey: "DeactivateAccessKeys",
	iamprune.KindDeleteAccessKey:     "DeleteAccessKeys",
	iamprune.KindDeleteLoginProfile:  "DeleteLoginProfiles",
	iamprune.KindQuarantineRole:      "QuarantineRoles",
	iamprune.KindDenyUnusedServices:  "DenyUnusedServices",
	iamprune.KindRewritePolicy:       "RewritePolicies",
}

func mustLoad(t *testing.T, path string) *template {
	t.Helper()
	tmpl, err := loadTemplate(path)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func allChecks(tmpl *template) []error {
	return slices.Concat(checkRefs(tmpl), checkSecurity(tmpl), checkRoles(tmpl))
}

func TestTemplatesPassChecks(t *testing.T) {
	for _, name := range []string{stackTemplate, memberTemplate} {
		t.Run(name, func(t *testing.T) {
			for _, err := range allChecks(mustLoad(t, name)) {
				t.Error(err)
			}
		})
	}
}

// Each fixture breaks one rule and must give exactly the one error.
func TestChecksCatch(t *testing.T) {
	tests := []struct {
		name string
		want string
	}{
		{"dangling-ref", "Ref Missing: no such parameter"},
		{"dangling-getatt", "GetAtt Missing.Arn: no such resource"},
		{"bad-getatt-attribute", "GetAtt Logs.Url: AWS::Logs::LogGroup has no attribute Url"},
		{"dangling-sub", "Ref Nowhere: no such parameter"},
		{"dangling-sub-getatt", "GetAtt Logs.Nope: AWS::Logs::LogGroup has no attribute Nope"},
		{"undefined-condition", "condition NoSuch is not defined"},
		{"unused-parameter", "Parameters.Unused: parameter is never used"},
		{"unused-condition", "Conditions.Unused: condition is never used"},
		{"star-resource", `s3:GetObject is granted on Resource "*"`},
		{"star-resource-in-if", `iam:UpdateAccessKey is granted on Resource "*"`},
		{"action-wildcard", "action iam:Get* is a wildcard"},
		{"managed-policy", "ManagedPolicyArns: use inline policies"},
		{"pitr-off", "point-in-time recovery must be on"},
		{"bucket-public", "PublicAccessBlockConfiguration.RestrictPublicBuckets must be true"},
		{"bucket-unversioned", "versioning must be Enabled"},
		{"bucket-no-tls-policy", "denies requests without TLS"},
		{"queue-no-dlq", "the queue needs a dead-letter queue"},
		{"queue-no-events-policy", "no AWS::SQS::QueuePolicy lets events.amazonaws.com send"},
		{"esm-no-batch-failures", "FunctionResponseTypes must contain ReportBatchItemFailures"},
		{"topic-unencrypted", "the topic must be encrypted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := allChecks(mustLoad(t, filepath.Join("testdata", tt.name, "template.yaml")))
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.want) {
				t.Fatalf("want exactly one error containing %q, got %d:\n%v", tt.want, len(errs), errors.Join(errs...))
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    any    // the value of key "v"
		wantErr string // instead
	}{
		{name: "ref", yaml: "v: !Ref Queue", want: map[string]any{"Ref": "Queue"}},
		{name: "getatt scalar", yaml: "v: !GetAtt Queue.Arn", want: map[string]any{"Fn::GetAtt": []any{"Queue", "Arn"}}},
		{name: "getatt dotted attribute", yaml: "v: !GetAtt Db.Endpoint.Address", want: map[string]any{"Fn::GetAtt": []any{"Db", "Endpoint.Address"}}},
		{name: "getatt list", yaml: "v: !GetAtt [Queue, Arn]", want: map[string]any{"Fn::GetAtt": []any{"Queue", "Arn"}}},
		{name: "sub", yaml: "v: !Sub 'arn:${AWS::Partition}:s3:::${B}/*'", want: map[string]any{"Fn::Sub": "arn:${AWS::Partition}:s3:::${B}/*"}},
		{name: "sub scalar that looks like a bool", yaml: "v: !Sub true", want: map[string]any{"Fn::Sub": "true"}},
		{name: "nested", yaml: "v: !If [C, !Ref A, !Ref AWS::NoValue]", want: map[string]any{"Fn::If": []any{"C", map[string]any{"Ref": "A"}, map[string]any{"Ref": "AWS::NoValue"}}}},
		{name: "conditions", yaml: "v: !Not [!Equals [!Ref P, '']]", want: map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "P"}, ""}}}}},
		{name: "condition", yaml: "v: !And [!Condition A, !Or [!Condition B, !Condition C]]", want: map[string]any{"Fn::And": []any{
			map[string]any{"Condition": "A"}, map[string]any{"Fn::Or": []any{map[string]any{"Condition": "B"}, map[string]any{"Condition": "C"}}}}}},
		{name: "join select split", yaml: "v: !Join ['', [!Select [0, !Split [',', !Ref L]]]]", want: map[string]any{"Fn::Join": []any{"", []any{
			map[string]any{"Fn::Select": []any{0, map[string]any{"Fn::Split": []any{",", map[string]any{"Ref": "L"}}}}}}}}},
		{name: "find in map", yaml: "v: !FindInMap [M, !Ref AWS::Region, k]", want: map[string]any{"Fn::FindInMap": []any{"M", map[string]any{"Ref": "AWS::Region"}, "k"}}},
		{name: "long form kept", yaml: "v: {Ref: Queue}", want: map[string]any{"Ref": "Queue"}},
		{name: "plain scalars", yaml: "v: [true, 3, x]", want: []any{true, 3, "x"}},
		{name: "unknown tag", yaml: "a: 1\nv: !Reff Queue", wantErr: "t.yaml:2: unknown tag !Reff"},
		{name: "getatt without attribute", yaml: "v: !GetAtt Queue", wantErr: `t.yaml:1: !GetAtt "Queue" is not RESOURCE.ATTRIBUTE`},
		{name: "ref of a list", yaml: "v: !Ref [A]", wantErr: "t.yaml:1: !Ref takes a name, not a sequence"},
		{name: "duplicate key", yaml: "v: 1\nv: 2", wantErr: `t.yaml:2: key "v" is given twice`},
		{name: "not a mapping", yaml: "- a", wantErr: "t.yaml:1: the template must be a mapping"},
		{name: "bad yaml", yaml: "v: [", wantErr: "t.yaml: yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := decodeTemplate("t.yaml", []byte(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || iamprune.ErrorCode(err) != iamprune.EINVALID {
					t.Fatalf("want an EINVALID error containing %q, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tmpl.root["v"]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

// roleCase enables some remediation kinds through the templates'
// parameters.
type roleCase struct {
	name   string
	kinds  []iamprune.ActionKind
	member bool // MemberRoleName set
}

func roleCases() []roleCase {
	cases := []roleCase{{name: "no remediation"}}
	for _, k := range RemediationKinds() {
		cases = append(cases, roleCase{name: string(k), kinds: []iamprune.ActionKind{k}})
	}
	cases = append(cases,
		roleCase{name: "cross-account only", member: true},
		roleCase{name: "everything", kinds: RemediationKinds(), member: true})
	return cases
}

func (c roleCase) params(withMember bool) map[string]string {
	p := map[string]string{}
	for _, k := range c.kinds {
		p[kindParams[k]] = "true"
	}
	if withMember && c.member {
		p["MemberRoleName"] = "iamprune-member"
	}
	return p
}

func rolePolicy(t *testing.T, tmpl *template, role string, params map[string]string) []statement {
	t.Helper()
	conds, err := evalConditions(tmpl, params)
	if err != nil {
		t.Fatal(err)
	}
	sts, errs := roleStatements(tmpl, role, conds)
	errs = append(errs, checkPolicy(sts)...)
	for _, err := range errs {
		t.Error(err)
	}
	return sts
}

func sameActions(t *testing.T, got, want []string) {
	t.Helper()
	var missing, extra []string
	for _, a := range want {
		if !slices.Contains(got, a) {
			missing = append(missing, a)
		}
	}
	for _, a := range got {
		if !slices.Contains(want, a) {
			extra = append(extra, a)
		}
	}
	if len(missing)+len(extra) > 0 {
		t.Errorf("role actions differ from actions.go:\nmissing %v\nextra   %v", missing, extra)
	}
}

func TestFunctionRoleActions(t *testing.T) {
	tmpl := mustLoad(t, stackTemplate)
	for _, c := range roleCases() {
		t.Run(c.name, func(t *testing.T) {
			sts := rolePolicy(t, tmpl, "FunctionRole", c.params(true))
			sameActions(t, allowed(sts), FunctionActions(c.kinds, c.member))
		})
	}
}

func TestMemberRoleActions(t *testing.T) {
	tmpl := mustLoad(t, memberTemplate)
	for _, c := range roleCases() {
		t.Run(c.name, func(t *testing.T) {
			params := c.params(false)
			params["CentralAccountId"] = "111122223333"
			sts := rolePolicy(t, tmpl, "MemberRole", params)
			sameActions(t, allowed(sts), MemberActions(c.kinds))
		})
	}
}

// statementBySid returns the statement whose Sid is sid, after resolution.
func statementBySid(t *testing.T, tmpl *template, role, sid string, params map[string]string) map[string]any {
	t.Helper()
	conds, err := evalConditions(tmpl, params)
	if err != nil {
		t.Fatal(err)
	}
	sts, _ := dig(resolveIfs(tmpl.section("Resources")[role], conds), "Properties", "Policies", 0, "PolicyDocument", "Statement")
	for _, s := range asList(sts) {
		if got, _ := dig(s, "Sid"); got == sid {
			return s.(map[string]any)
		}
	}
	return nil
}

func refTo(name string) map[string]any      { return map[string]any{"Ref": name} }
func attOf(res, attr string) map[string]any { return map[string]any{"Fn::GetAtt": []any{res, attr}} }
func subOf(s string) map[string]any         { return map[string]any{"Fn::Sub": s} }
func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

// TestStackWiring checks what the generic checks cannot: that the stack's
// resources are wired to each other and to the parameters as documented.
func TestStackWiring(t *testing.T) {
	tmpl := mustLoad(t, stackTemplate)
	res := tmpl.section("Resources")
	p := func(r string, path ...any) any {
		v, _ := dig(res, append([]any{r, "Properties"}, path...)...)
		return v
	}

	eq(t, "Function.Runtime", p("Function", "Runtime"), "provided.al2023")
	eq(t, "Function.Handler", p("Function", "Handler"), "bootstrap")
	eq(t, "Function.Architectures", p("Function", "Architectures"), []any{refTo("Architecture")})
	eq(t, "Function.Code", p("Function", "Code"), map[string]any{"S3Bucket": refTo("CodeBucket"), "S3Key": refTo("CodeKey")})
	eq(t, "Function.Role", p("Function", "Role"), attOf("FunctionRole", "Arn"))
	eq(t, "Function.LoggingConfig.LogGroup", p("Function", "LoggingConfig", "LogGroup"), refTo("FunctionLogGroup"))
	for _, inline := range []bool{false, true} {
		params := map[string]string{}
		want := map[string]any{
			"IAMPRUNE_STATE":           subOf("dynamodb://${StateTable}"),
			"IAMPRUNE_SNS_TOPIC_ARN":   refTo("NotificationTopic"),
			"IAMPRUNE_CONFIG":          subOf("s3://${ExceptionsBucket}/${ConfigKey}"),
			"IAMPRUNE_SWEEP_QUEUE_URL": refTo("SweepQueue"),
		}
		if inline {
			params["ConfigYAML"] = "analyzer: auto"
			delete(want, "IAMPRUNE_CONFIG")
			want["IAMPRUNE_CONFIG_YAML"] = refTo("ConfigYAML")
		}
		conds, err := evalConditions(tmpl, params)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "Function environment", resolveIfs(p("Function", "Environment", "Variables"), conds), want)
	}
	// Lambda wants the visibility timeout at six times the function's.
	if vt, to := p("FindingsQueue", "VisibilityTimeout"), p("Function", "Timeout"); vt.(int) < 6*to.(int) {
		t.Errorf("FindingsQueue.VisibilityTimeout %v is under 6 x Function.Timeout %v", vt, to)
	}

	eq(t, "Analyzer.Condition", res["Analyzer"].(map[string]any)["Condition"], "CreateTheAnalyzer")
	eq(t, "Analyzer.Type", p("Analyzer", "Type"), refTo("AnalyzerType"))
	eq(t, "Analyzer.UnusedAccessAge", p("Analyzer", "AnalyzerConfiguration", "UnusedAccessConfiguration", "UnusedAccessAge"), refTo("UnusedAccessAge"))
	for _, create := range []string{"true", "false"} {
		conds, err := evalConditions(tmpl, map[string]string{"CreateAnalyzer": create})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "CreateTheAnalyzer with CreateAnalyzer="+create, conds["CreateTheAnalyzer"], create == "true")
	}
	eq(t, "AnalyzerFindings resource with an analyzer", statementBySid(t, tmpl, "FunctionRole", "AnalyzerFindings", nil)["Resource"], refTo("Analyzer"))
	eq(t, "AnalyzerFindings resource without", statementBySid(t, tmpl, "FunctionRole", "AnalyzerFindings", map[string]string{"CreateAnalyzer": "false"})["Resource"],
		subOf("arn:${AWS::Partition}:access-analyzer:${AWS::Region}:${AWS::AccountId}:analyzer/*"))

	for _, create := range []string{"true", "false"} {
		params := map[string]string{"CreateAnalyzer": create}
		eq(t, "AnalyzerRecommendations resource with CreateAnalyzer="+create,
			statementBySid(t, tmpl, "FunctionRole", "AnalyzerRecommendations", params)["Resource"],
			statementBySid(t, tmpl, "FunctionRole", "AnalyzerFindings", params)["Resource"])
	}

	eq(t, "FindingsRule.EventPattern", p("FindingsRule", "EventPattern"), map[string]any{
		"source": []any{"aws.access-analyzer"}, "detail-type": []any{"Unused Access Finding for IAM entities"}})
	eq(t, "FindingsRule target", p("FindingsRule", "Targets", 0, "Arn"), attOf("FindingsQueue", "Arn"))
	eq(t, "FindingsQueue DLQ", p("FindingsQueue", "RedrivePolicy"), map[string]any{
		"deadLetterTargetArn": attOf("FindingsDeadLetterQueue", "Arn"), "maxReceiveCount": refTo("MaxReceiveCount")})

	eq(t, "FunctionQueueMapping.EventSourceArn", p("FunctionQueueMapping", "EventSourceArn"), attOf("FindingsQueue", "Arn"))
	eq(t, "FunctionQueueMapping.FunctionName", p("FunctionQueueMapping", "FunctionName"), refTo("Function"))
	eq(t, "FunctionQueueMapping.BatchSize", p("FunctionQueueMapping", "BatchSize"), refTo("BatchSize"))
	eq(t, "FunctionQueueMapping.MaximumConcurrency", p("FunctionQueueMapping", "ScalingConfig", "MaximumConcurrency"), refTo("MaximumConcurrency"))

	eq(t, "SweepSchedule.ScheduleExpression", p("SweepSchedule", "ScheduleExpression"), refTo("ScheduleExpression"))
	eq(t, "SweepSchedule target", p("SweepSchedule", "Targets", 0, "Arn"), attOf("Function", "Arn"))
	eq(t, "SweepPermission.SourceArn", p("SweepPermission", "SourceArn"), attOf("SweepSchedule", "Arn"))
	eq(t, "SweepPermission.FunctionName", p("SweepPermission", "FunctionName"), refTo("Function"))

	eq(t, "NotificationTopic.KmsMasterKeyId", p("NotificationTopic", "KmsMasterKeyId"), "alias/aws/sns")
	eq(t, "Notify resource", statementBySid(t, tmpl, "FunctionRole", "Notify", nil)["Resource"], refTo("NotificationTopic"))
	eq(t, "ExceptionsAndConfig resource", statementBySid(t, tmpl, "FunctionRole", "ExceptionsAndConfig", nil)["Resource"], subOf("${ExceptionsBucket.Arn}/*"))
	eq(t, "PublishReports", statementBySid(t, tmpl, "FunctionRole", "PublishReports", nil), map[string]any{"Sid": "PublishReports", "Effect": "Allow", "Action": "s3:PutObject", "Resource": subOf("${ExceptionsBucket.Arn}/reports/*")})
	eq(t, "State resource", statementBySid(t, tmpl, "FunctionRole", "State", nil)["Resource"], []any{attOf("StateTable", "Arn"), subOf("${StateTable.Arn}/index/*")})
	eq(t, "QueueEventSource resource", statementBySid(t, tmpl, "FunctionRole", "QueueEventSource", nil)["Resource"], []any{attOf("FindingsQueue", "Arn"), attOf("SweepQueue", "Arn")})
	eq(t, "SweepFanOut", statementBySid(t, tmpl, "FunctionRole", "SweepFanOut", nil), map[string]any{"Sid": "SweepFanOut", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": attOf("SweepQueue", "Arn")})

	// Fan-out sweeps: the scheduled sweep enqueues to the sweep queue, whose
	// messages the function takes one at a time, failed or busy ones
	// retried alone and, at last, dead-lettered.
	eq(t, "SweepQueue DLQ", p("SweepQueue", "RedrivePolicy"), map[string]any{
		"deadLetterTargetArn": attOf("SweepDeadLetterQueue", "Arn"), "maxReceiveCount": refTo("SweepMaxReceiveCount")})
	if vt, to := p("SweepQueue", "VisibilityTimeout"), p("Function", "Timeout"); vt.(int) < 6*to.(int) {
		t.Errorf("SweepQueue.VisibilityTimeout %v is under 6 x Function.Timeout %v", vt, to)
	}
	eq(t, "SweepQueueMapping.EventSourceArn", p("SweepQueueMapping", "EventSourceArn"), attOf("SweepQueue", "Arn"))
	eq(t, "SweepQueueMapping.FunctionName", p("SweepQueueMapping", "FunctionName"), refTo("Function"))
	eq(t, "SweepQueueMapping.BatchSize", p("SweepQueueMapping", "BatchSize"), 1)
	eq(t, "SweepQueueMapping.FunctionResponseTypes", p("SweepQueueMapping", "FunctionResponseTypes"), []any{"ReportBatchItemFailures"})
	for reserved, want := range map[string]any{"0": nil, "25": refTo("ReservedConcurrency")} {
		conds, err := evalConditions(tmpl, map[string]string{"ReservedConcurrency": reserved})
		if err != nil {
			t.Fatal(err)
		}
		fn := resolveIfs(res["Function"], conds)
		got, _ := dig(fn, "Properties", "ReservedConcurrentExecutions")
		eq(t, "Function.ReservedConcurrentExecutions with ReservedConcurrency="+reserved, got, want)
	}
	eq(t, "AssumeMemberRole without MemberRoleName", statementBySid(t, tmpl, "FunctionRole", "AssumeMemberRole", nil) == nil, true)
	eq(t, "AssumeMemberRole resource", statementBySid(t, tmpl, "FunctionRole", "AssumeMemberRole", map[string]string{"MemberRoleName": "m"})["Resource"],
		subOf("arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"))

	eq(t, "StateTable schema", tableSchema(p("StateTable")), storeSchema())
	for _, r := range []string{"StateTable", "ExceptionsBucket"} {
		eq(t, r+".DeletionPolicy", res[r].(map[string]any)["DeletionPolicy"], "Retain")
	}

	alarm := func(ns, metric string) map[string]any {
		for _, a := range tmpl.resourcesOf("AWS::CloudWatch::Alarm") {
			if p(a, "Namespace") == ns && p(a, "MetricName") == metric {
				return res[a].(map[string]any)["Properties"].(map[string]any)
			}
		}
		t.Errorf("no alarm on %s %s", ns, metric)
		return map[string]any{}
	}
	dlq := alarm("AWS/SQS", "ApproximateNumberOfMessagesVisible")
	eq(t, "DLQ alarm dimensions", dlq["Dimensions"], []any{map[string]any{"Name": "QueueName", "Value": attOf("FindingsDeadLetterQueue", "QueueName")}})
	errs := alarm("AWS/Lambda", "Errors")
	eq(t, "Errors alarm dimensions", errs["Dimensions"], []any{map[string]any{"Name": "FunctionName", "Value": refTo("Function")}})
	for name, a := range map[string]map[string]any{"DLQ": dlq, "Errors": errs} {
		eq(t, name+" alarm threshold", []any{a["Threshold"], a["ComparisonOperator"]}, []any{0, "GreaterThanThreshold"})
	}

	sweepDLQ := false
	for _, a := range tmpl.resourcesOf("AWS::CloudWatch::Alarm") {
		d, _ := dig(res, a, "Properties", "Dimensions", 0, "Value")
		sweepDLQ = sweepDLQ || reflect.DeepEqual(d, attOf("SweepDeadLetterQueue", "QueueName"))
	}
	if !sweepDLQ {
		t.Error("no alarm on the sweep dead-letter queue")
	}
	for _, o := range []string{"FunctionArn", "QueueUrl", "DeadLetterQueueUrl", "SweepQueueUrl", "SweepDeadLetterQueueUrl", "TableName", "BucketName", "TopicArn"} {
		if tmpl.section("Outputs")[o] == nil {
			t.Errorf("no output %s", o)
		}
	}
}

func TestMemberRoleTrust(t *testing.T) {
	tmpl := mustLoad(t, memberTemplate)
	for _, externalID := range []string{"", "s3cret"} {
		conds, err := evalConditions(tmpl, map[string]string{"CentralAccountId": "111122223333", "ExternalId": externalID})
		if err != nil {
			t.Fatal(err)
		}
		trust, _ := dig(resolveIfs(tmpl.section("Resources")["MemberRole"], conds), "Properties", "AssumeRolePolicyDocument", "Statement")
		want := map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"AWS": subOf("arn:${AWS::Partition}:iam::${CentralAccountId}:role/${CentralRoleName}")},
			"Action":    "sts:AssumeRole",
		}
		if externalID != "" {
			want["Condition"] = map[string]any{"StringEquals": map[string]any{"sts:ExternalId": refTo("ExternalId")}}
		}
		eq(t, "trust policy with ExternalId "+externalID, trust, []any{want})
	}
	// The stack's role name is what the member role trusts by default.
	stack := mustLoad(t, stackTemplate)
	central, _ := dig(stack.section("Parameters"), "FunctionRoleName", "Default")
	trusted, _ := dig(tmpl.section("Parameters"), "CentralRoleName", "Default")
	member, _ := dig(tmpl.section("Parameters"), "RoleName", "Default")
	eq(t, "CentralRoleName default", trusted, central)
	if member == "" {
		t.Error("member-role.yaml RoleName has no default")
	}
}

// tableSchema keeps the schema properties of an AWS::DynamoDB::Table.
func tableSchema(props any) map[string]any {
	out := map[string]any{}
	for _, k := range []string{"BillingMode", "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes"} {
		out[k], _ = dig(props, k)
	}
	return out
}

// storeSchema is dynamodb.TableInput in the template's shape: the store
// refuses a table of another schema.
func storeSchema() map[string]any {
	in := ddb.TableInput("")
	keys := func(ks []ddbtypes.KeySchemaElement) []any {
		var out []any
		for _, k := range ks {
			out = append(out, map[string]any{"AttributeName": aws.ToString(k.AttributeName), "KeyType": string(k.KeyType)})
		}
		return out
	}
	var attrs, gsis []any
	for _, a := range in.AttributeDefinitions {
		attrs = append(attrs, map[string]any{"AttributeName": aws.ToString(a.AttributeName), "AttributeType": string(a.AttributeType)})
	}
	for _, g := range in.GlobalSecondaryIndexes {
		gsis = append(gsis, map[string]any{"IndexName": aws.ToString(g.IndexName), "KeySchema": keys(g.KeySchema),
			"Projection": map[string]any{"ProjectionType": string(g.Projection.ProjectionType)}})
	}
	return map[string]any{"BillingMode": string(in.BillingMode), "AttributeDefinitions": attrs, "KeySchema": keys(in.KeySchema), "GlobalSecondaryIndexes": gsis}
}

// The policies rewrite-policy creates, and only those, may be created,
// deleted and tagged: they live under remediate.RewritePolicyPath.
func TestRewritePolicyCopiesPath(t *testing.T) {
	copies := subOf("arn:${AWS::Partition}:iam::${AWS::AccountId}:policy" + remediate.RewritePolicyPath + "*")
	for _, tmpl := range []struct{ file, role string }{{stackTemplate, "FunctionRole"}, {memberTemplate, "MemberRole"}} {
		t.Run(tmpl.file, func(t *testing.T) {
			tm := mustLoad(t, tmpl.file)
			off := map[string]string{}
			if tmpl.file == memberTemplate {
				off["CentralAccountId"] = "111122223333"
			}
			on := maps.Clone(off)
			on[kindParams[iamprune.KindRewritePolicy]] = "true"
			for _, sid := range []string{"RewritePoliciesCopies", "RewritePoliciesTagCopies"} {
				eq(t, sid+" resource", statementBySid(t, tm, tmpl.role, sid, on)["Resource"], copies)
			}
			if statementBySid(t, tm, tmpl.role, "RewritePoliciesCopies", off) != nil {
				t.Error("RewritePoliciesCopies is granted with RewritePolicies off")
			}
		})
	}
}
