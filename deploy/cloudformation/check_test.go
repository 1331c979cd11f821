package cloudformation

import (
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

// The checks return every problem they find, each naming the template and
// the field path, so that one run shows them all.

var pseudoParams = map[string]bool{
	"AWS::AccountId": true, "AWS::NotificationARNs": true, "AWS::NoValue": true, "AWS::Partition": true,
	"AWS::Region": true, "AWS::StackId": true, "AWS::StackName": true, "AWS::URLSuffix": true,
}

// getAttrs are the attributes Fn::GetAtt may read, per resource type the
// templates use; a type missing here must be added with its documented
// attributes.
var getAttrs = map[string][]string{
	"AWS::AccessAnalyzer::Analyzer": {"Arn"},
	"AWS::CloudWatch::Alarm":        {"Arn"},
	"AWS::DynamoDB::Table":          {"Arn", "StreamArn"},
	"AWS::Events::Rule":             {"Arn"},
	"AWS::IAM::Role":                {"Arn", "RoleId"},
	"AWS::KMS::Key":                 {"Arn", "KeyId"},
	"AWS::Lambda::Function":         {"Arn"},
	"AWS::Logs::LogGroup":           {"Arn"},
	"AWS::S3::Bucket":               {"Arn", "DomainName", "RegionalDomainName", "WebsiteURL"},
	"AWS::SNS::Topic":               {"TopicArn", "TopicName"},
	"AWS::SQS::Queue":               {"Arn", "QueueName", "QueueUrl"},
}

// subVar matches ${NAME} in an Fn::Sub string; ${!...} is a literal.
var subVar = regexp.MustCompile(`\$\{([^!}][^}]*)\}`)

// checkRefs checks that every Ref, Fn::GetAtt, Fn::Sub variable, condition
// and DependsOn names something that exists, and that every parameter and
// condition is used.
func checkRefs(t *template) []error {
	var errs []error
	params, resources, conditions := t.section("Parameters"), t.section("Resources"), t.section("Conditions")
	usedParams, usedConds := map[string]bool{}, map[string]bool{}
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", t.name, path, fmt.Sprintf(format, args...)))
	}
	ref := func(path, name string) {
		switch {
		case params[name] != nil:
			usedParams[name] = true
		case resources[name] != nil, pseudoParams[name]:
		default:
			bad(path, "Ref %s: no such parameter, resource or pseudo parameter", name)
		}
	}
	getAtt := func(path, res, attr string) {
		if resources[res] == nil {
			bad(path, "GetAtt %s.%s: no such resource", res, attr)
			return
		}
		typ := t.resourceType(res)
		attrs, known := getAttrs[typ]
		if !known {
			bad(path, "GetAtt %s.%s: add the attributes of %s to getAttrs", res, attr, typ)
		} else if !slices.Contains(attrs, attr) {
			bad(path, "GetAtt %s.%s: %s has no attribute %s (it has %s)", res, attr, typ, attr, strings.Join(attrs, ", "))
		}
	}
	cond := func(path, name string) {
		if conditions[name] == nil {
			bad(path, "condition %s is not defined", name)
		}
		usedConds[name] = true
	}
	walk(t.root, "", func(path string, m map[string]any) {
		if v, ok := m["Ref"]; ok && len(m) == 1 {
			if s, ok := v.(string); ok {
				ref(path, s)
			} else {
				bad(path, "Ref takes a name")
			}
		}
		if v, ok := m["Fn::GetAtt"]; ok {
			l, _ := v.([]any)
			res, _ := dig(l, 0)
			attr, _ := dig(l, 1)
			rs, ok1 := res.(string)
			as, ok2 := attr.(string)
			if len(l) != 2 || !ok1 || !ok2 {
				bad(path, "Fn::GetAtt takes [RESOURCE, ATTRIBUTE]")
			} else {
				getAtt(path, rs, as)
			}
		}
		if v, ok := m["Fn::Sub"]; ok {
			s, local := v, map[string]any{}
			if l, ok := v.([]any); ok && len(l) == 2 {
				s = l[0]
				local, _ = l[1].(map[string]any)
			}
			str, ok := s.(string)
			if !ok {
				bad(path, "Fn::Sub takes a string or [string, variables]")
			}
			for _, mm := range subVar.FindAllStringSubmatch(str, -1) {
				name := mm[1]
				if _, ok := local[name]; ok {
					continue
				}
				if res, attr, ok := strings.Cut(name, "."); ok && !pseudoParams[name] {
					getAtt(path, res, attr)
				} else {
					ref(path, name)
				}
			}
		}
		if v, ok := m["Fn::If"]; ok {
			l, _ := v.([]any)
			name, ok := dig(l, 0)
			if s, isStr := name.(string); ok && isStr && len(l) == 3 {
				cond(path, s)
			} else {
				bad(path, "Fn::If takes [CONDITION, IF-TRUE, IF-FALSE]")
			}
		}
		// {"Condition": NAME} in condition functions, and the Condition of
		// resources and outputs; a policy statement's Condition is a map.
		if v, ok := m["Condition"].(string); ok {
			cond(path, v)
		}
	})
	for name, r := range resources {
		dep, _ := dig(r, "DependsOn")
		deps, _ := dep.([]any)
		if s, ok := dep.(string); ok {
			deps = []any{s}
		}
		for _, d := range deps {
			if s, _ := d.(string); resources[s] == nil {
				bad("Resources."+name+".DependsOn", "no resource %v", d)
			}
		}
	}
	for _, p := range sortedKeys(params) {
		if !usedParams[p] {
			bad("Parameters."+p, "parameter is never used")
		}
	}
	for _, c := range sortedKeys(conditions) {
		if !usedConds[c] {
			bad("Conditions."+c, "condition is never used")
		}
	}
	return errs
}

// noValue stands for a resolved {"Ref": "AWS::NoValue"}: dropped from the
// map or list that holds it.
type noValueT struct{}

var noValue = noValueT{}

// evalConditions evaluates the Conditions section with the parameters'
// defaults overridden by params.
func evalConditions(t *template, params map[string]string) (map[string]bool, error) {
	values := map[string]string{}
	for name, p := range t.section("Parameters") {
		if d, ok := dig(p, "Default"); ok {
			values[name] = fmt.Sprint(d)
		}
	}
	for k, v := range params {
		if t.section("Parameters")[k] == nil {
			return nil, fmt.Errorf("%s: no parameter %s", t.name, k)
		}
		values[k] = v
	}
	conds := t.section("Conditions")
	done, busy := map[string]bool{}, map[string]bool{}
	var eval func(name string) (bool, error)
	var expr func(v any) (any, error)
	expr = func(v any) (any, error) {
		m, ok := v.(map[string]any)
		if !ok || len(m) != 1 {
			return fmt.Sprint(v), nil
		}
		for fn, arg := range m {
			l, _ := arg.([]any)
			switch fn {
			case "Ref":
				s, _ := arg.(string)
				if v, ok := values[s]; ok {
					return v, nil
				}
				return nil, fmt.Errorf("%s: condition reads %s, which has no value", t.name, s)
			case "Condition":
				s, _ := arg.(string)
				return eval(s)
			case "Fn::Equals":
				if len(l) != 2 {
					return nil, fmt.Errorf("%s: Fn::Equals takes two values", t.name)
				}
				a, err := expr(l[0])
				if err != nil {
					return nil, err
				}
				b, err := expr(l[1])
				return a == b, err
			case "Fn::Not", "Fn::And", "Fn::Or":
				var bs []bool
				for _, e := range l {
					r, err := expr(e)
					if err != nil {
						return nil, err
					}
					b, ok := r.(bool)
					if !ok {
						return nil, fmt.Errorf("%s: %s takes conditions", t.name, fn)
					}
					bs = append(bs, b)
				}
				switch {
				case fn == "Fn::Not" && len(bs) == 1:
					return !bs[0], nil
				case fn == "Fn::And" && len(bs) >= 2:
					return !slices.Contains(bs, false), nil
				case fn == "Fn::Or" && len(bs) >= 2:
					return slices.Contains(bs, true), nil
				}
				return nil, fmt.Errorf("%s: %s has %d conditions", t.name, fn, len(bs))
			}
			return nil, fmt.Errorf("%s: %s is not a condition function", t.name, fn)
		}
		return nil, nil
	}
	eval = func(name string) (bool, error) {
		if b, ok := done[name]; ok {
			return b, nil
		}
		if busy[name] {
			return false, fmt.Errorf("%s: condition %s depends on itself", t.name, name)
		}
		def, ok := conds[name]
		if !ok {
			return false, fmt.Errorf("%s: condition %s is not defined", t.name, name)
		}
		busy[name] = true
		r, err := expr(def)
		if err != nil {
			return false, err
		}
		b, ok := r.(bool)
		if !ok {
			return false, fmt.Errorf("%s: condition %s is not a condition function", t.name, name)
		}
		done[name] = b
		return b, nil
	}
	out := map[string]bool{}
	for _, name := range sortedKeys(conds) {
		b, err := eval(name)
		if err != nil {
			return nil, err
		}
		out[name] = b
	}
	return out, nil
}

// resolveIfs replaces every Fn::If by its chosen branch and drops
// AWS::NoValue.
func resolveIfs(v any, conds map[string]bool) any {
	switch x := v.(type) {
	case map[string]any:
		if ref, ok := x["Ref"]; ok && len(x) == 1 && ref == "AWS::NoValue" {
			return noValue
		}
		if args, ok := x["Fn::If"].([]any); ok && len(x) == 1 && len(args) == 3 {
			name, _ := args[0].(string)
			if conds[name] {
				return resolveIfs(args[1], conds)
			}
			return resolveIfs(args[2], conds)
		}
		out := map[string]any{}
		for k, e := range x {
			if r := resolveIfs(e, conds); r != noValue {
				out[k] = r
			}
		}
		return out
	case []any:
		out := []any{}
		for _, e := range x {
			if r := resolveIfs(e, conds); r != noValue {
				out = append(out, r)
			}
		}
		return out
	}
	return v
}

// statement is one resolved IAM policy statement.
type statement struct {
	path      string
	effect    string
	actions   []string
	resources []any // strings and intrinsic maps
}

// roleStatements returns the statements of a role's inline policies with
// the given conditions. A role must have inline policies only: a managed
// policy's actions could not be checked.
func roleStatements(t *template, role string, conds map[string]bool) ([]statement, []error) {
	var errs []error
	props, _ := dig(t.section("Resources"), role, "Properties")
	props = resolveIfs(props, conds)
	base := t.name + ": Resources." + role + ".Properties"
	if _, ok := dig(props, "ManagedPolicyArns"); ok {
		errs = append(errs, fmt.Errorf("%s.ManagedPolicyArns: use inline policies, whose actions the tests check", base))
	}
	pols, _ := dig(props, "Policies")
	var out []statement
	for i, p := range asList(pols) {
		sts, _ := dig(p, "PolicyDocument", "Statement")
		for j, s := range asList(sts) {
			path := fmt.Sprintf("%s.Policies[%d].PolicyDocument.Statement[%d]", base, i, j)
			m, _ := s.(map[string]any)
			for _, k := range []string{"NotAction", "NotResource", "NotPrincipal"} {
				if _, ok := m[k]; ok {
					errs = append(errs, fmt.Errorf("%s: %s grants more than it names", path, k))
				}
			}
			st := statement{path: path, resources: asList(m["Resource"])}
			st.effect, _ = m["Effect"].(string)
			for _, a := range asList(m["Action"]) {
				s, ok := a.(string)
				if !ok {
					errs = append(errs, fmt.Errorf("%s: Action %v is not a string", path, a))
					continue
				}
				st.actions = append(st.actions, s)
			}
			out = append(out, st)
		}
	}
	return out, errs
}

// allowed returns the sorted actions the statements allow.
func allowed(sts []statement) []string {
	var out []string
	for _, s := range sts {
		if s.effect == "Allow" {
			out = append(out, s.actions...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// checkPolicy checks that no action is a wildcard and that Resource "*" is
// used only for the actions of WildcardOnly.
func checkPolicy(sts []statement) []error {
	var errs []error
	for _, s := range sts {
		for _, a := range s.actions {
			if strings.Contains(a, "*") || strings.Contains(a, "?") {
				errs = append(errs, fmt.Errorf("%s: action %s is a wildcard: name each action", s.path, a))
			}
		}
		if len(s.resources) == 0 {
			errs = append(errs, fmt.Errorf("%s: no Resource", s.path))
		}
		if s.effect != "Allow" || !slices.Contains(s.resources, any("*")) {
			continue
		}
		for _, a := range s.actions {
			if _, ok := WildcardOnly[a]; !ok {
				errs = append(errs, fmt.Errorf(`%s: %s is granted on Resource "*" but supports resource-level permissions: name the ARNs`, s.path, a))
			}
		}
	}
	return errs
}

// checkRoles checks the policies of every role, with every condition true
// and then every condition false, so that both branches of each Fn::If are
// seen.
func checkRoles(t *template) []error {
	var errs []error
	for _, all := range []bool{true, false} {
		conds := map[string]bool{}
		for name := range t.section("Conditions") {
			conds[name] = all
		}
		for _, role := range t.resourcesOf("AWS::IAM::Role") {
			sts, es := roleStatements(t, role, conds)
			errs = append(errs, es...)
			errs = append(errs, checkPolicy(sts)...)
		}
	}
	return uniqueErrors(errs)
}

// checkSecurity checks the security-relevant properties of every resource
// of the types below, wherever they appear.
func checkSecurity(t *template) []error {
	var errs []error
	bad := func(res, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: Resources.%s: %s", t.name, res, fmt.Sprintf(format, args...)))
	}
	prop := func(res string, path ...any) any {
		v, _ := dig(t.section("Resources"), append([]any{res, "Properties"}, path...)...)
		return v
	}
	for _, r := range t.resourcesOf("AWS::DynamoDB::Table") {
		if prop(r, "BillingMode") != "PAY_PER_REQUEST" {
			bad(r, "BillingMode must be PAY_PER_REQUEST")
		}
		if prop(r, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled") != true {
			bad(r, "point-in-time recovery must be on")
		}
		if prop(r, "SSESpecification", "SSEEnabled") != true {
			bad(r, "SSESpecification.SSEEnabled must be true")
		}
	}
	for _, r := range t.resourcesOf("AWS::S3::Bucket") {
		for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
			if prop(r, "PublicAccessBlockConfiguration", k) != true {
				bad(r, "PublicAccessBlockConfiguration.%s must be true", k)
			}
		}
		if prop(r, "VersioningConfiguration", "Status") != "Enabled" {
			bad(r, "versioning must be Enabled")
		}
		if alg, _ := prop(r, "BucketEncryption", "ServerSideEncryptionConfiguration", 0, "ServerSideEncryptionByDefault", "SSEAlgorithm").(string); alg == "" {
			bad(r, "BucketEncryption must set an SSEAlgorithm")
		}
		if !denyNonTLS(t, "AWS::S3::BucketPolicy", "Bucket", r) {
			bad(r, "no AWS::S3::BucketPolicy denies requests without TLS (aws:SecureTransport false)")
		}
	}
	dlqs := map[string]bool{}
	for _, r := range t.resourcesOf("AWS::SQS::Queue") {
		if target, ok := prop(r, "RedrivePolicy", "deadLetterTargetArn").(map[string]any); ok {
			if l, _ := target["Fn::GetAtt"].([]any); len(l) == 2 && l[1] == "Arn" {
				dlqs[fmt.Sprint(l[0])] = true
			}
		}
	}
	for _, r := range t.resourcesOf("AWS::SQS::Queue") {
		if prop(r, "SqsManagedSseEnabled") != true && prop(r, "KmsMasterKeyId") == nil {
			bad(r, "the queue must be encrypted (SqsManagedSseEnabled or KmsMasterKeyId)")
		}
		if dlqs[r] {
			continue
		}
		target, _ := prop(r, "RedrivePolicy", "deadLetterTargetArn").(map[string]any)
		l, _ := target["Fn::GetAtt"].([]any)
		if len(l) != 2 || t.resourceType(fmt.Sprint(l[0])) != "AWS::SQS::Queue" || l[1] != "Arn" {
			bad(r, "the queue needs a dead-letter queue: RedrivePolicy.deadLetterTargetArn must be the Arn of a queue of this template")
		}
		if prop(r, "RedrivePolicy", "maxReceiveCount") == nil {
			bad(r, "RedrivePolicy.maxReceiveCount must be set")
		}
	}
	for _, r := range t.resourcesOf("AWS::Events::Rule") {
		targets, _ := prop(r, "Targets").([]any)
		for _, tg := range targets {
			arn, _ := dig(tg, "Arn", "Fn::GetAtt", 0)
			q, _ := arn.(string)
			if t.resourceType(q) == "AWS::SQS::Queue" && !eventsMaySend(t, q, r) {
				bad(q, "no AWS::SQS::QueuePolicy lets events.amazonaws.com send to it with aws:SourceArn the rule %s", r)
			}
		}
	}
	for _, r := range t.resourcesOf("AWS::Lambda::EventSourceMapping") {
		types, _ := prop(r, "FunctionResponseTypes").([]any)
		if !slices.Contains(types, any("ReportBatchItemFailures")) {
			bad(r, "FunctionResponseTypes must contain ReportBatchItemFailures")
		}
		if prop(r, "ScalingConfig", "MaximumConcurrency") == nil {
			bad(r, "ScalingConfig.MaximumConcurrency must be set")
		}
	}
	for _, r := range t.resourcesOf("AWS::SNS::Topic") {
		if prop(r, "KmsMasterKeyId") == nil {
			bad(r, "the topic must be encrypted (KmsMasterKeyId)")
		}
	}
	for _, r := range t.resourcesOf("AWS::Logs::LogGroup") {
		if prop(r, "RetentionInDays") == nil {
			bad(r, "RetentionInDays must be set")
		}
	}
	return errs
}

// denyNonTLS reports whether a policy resource of typ, whose field names
// {"Ref": target}, denies requests without TLS.
func denyNonTLS(t *template, typ, field, target string) bool {
	for _, p := range t.resourcesOf(typ) {
		v, _ := dig(t.section("Resources"), p, "Properties", field)
		if !reflect.DeepEqual(v, map[string]any{"Ref": target}) {
			continue
		}
		sts, _ := dig(t.section("Resources"), p, "Properties", "PolicyDocument", "Statement")
		for _, s := range asList(sts) {
			if c, _ := dig(s, "Condition", "Bool", "aws:SecureTransport"); c == "false" {
				if e, _ := dig(s, "Effect"); e == "Deny" {
					return true
				}
			}
		}
	}
	return false
}

// eventsMaySend reports whether a queue policy of queue allows
// events.amazonaws.com to send from rule.
func eventsMaySend(t *template, queue, rule string) bool {
	for _, p := range t.resourcesOf("AWS::SQS::QueuePolicy") {
		qs, _ := dig(t.section("Resources"), p, "Properties", "Queues")
		if !slices.ContainsFunc(asList(qs), func(q any) bool { return reflect.DeepEqual(q, map[string]any{"Ref": queue}) }) {
			continue
		}
		sts, _ := dig(t.section("Resources"), p, "Properties", "PolicyDocument", "Statement")
		for _, s := range asList(sts) {
			svc, _ := dig(s, "Principal", "Service")
			src, _ := dig(s, "Condition", "ArnEquals", "aws:SourceArn")
			e, _ := dig(s, "Effect")
			if e == "Allow" && svc == "events.amazonaws.com" && reflect.DeepEqual(src, map[string]any{"Fn::GetAtt": []any{rule, "Arn"}}) {
				return true
			}
		}
	}
	return false
}

// asList returns v as a list: a list as is, nil as empty, anything else as
// a list of one.
func asList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	}
	return []any{v}
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func sortedStrings(s []string) []string {
	slices.Sort(s)
	return s
}

func uniqueErrors(errs []error) []error {
	seen := map[string]bool{}
	var out []error
	for _, e := range errs {
		if !seen[e.Error()] {
			seen[e.Error()] = true
			out = append(out, e)
		}
	}
	return out
}
