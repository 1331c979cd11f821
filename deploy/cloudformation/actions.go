package cloudformation

import (
	"slices"

	"github.com/iamprune/iamprune"
)

// Call is one AWS API operation made by iamprune (or, for the queue, by
// Lambda on the function's behalf) and the IAM action that authorises it.
// The two names usually agree; where they do not (Access Analyzer's V2
// operations are authorised by the V1 actions) the table is the only
// place that says so.
type Call struct {
	// API is the SDK's service id and operation, as awsapi.Counter names
	// calls: "IAM.ListAccessKeys".
	API string
	// Action is the IAM action: "iam:ListAccessKeys".
	Action string
	// Source is where the call is made, for reviewers.
	Source string
}

// AnalyzerReads are the Access Analyzer reads of every run.
var AnalyzerReads = []Call{
	{"AccessAnalyzer.ListAnalyzers", "access-analyzer:ListAnalyzers", "awsapi/analyzer.go discover (analyzer: auto)"},
	{"AccessAnalyzer.ListFindingsV2", "access-analyzer:ListFindings", "awsapi/analyzer.go listSummaries"},
	{"AccessAnalyzer.GetFindingV2", "access-analyzer:GetFinding", "awsapi/analyzer.go getFinding (not for roles and passwords IAM has a use of)"},
}

// RecommendationCalls ask Access Analyzer for its own recommendation on an
// UnusedPermission finding, to compare with iamprune's refinement (config
// recommendations: true). Both actions are authorised on the analyzer.
var RecommendationCalls = []Call{
	{"AccessAnalyzer.GenerateFindingRecommendation", "access-analyzer:GenerateFindingRecommendation", "awsapi/recommendations.go Recommender.fetch"},
	{"AccessAnalyzer.GetFindingRecommendation", "access-analyzer:GetFindingRecommendation", "awsapi/recommendations.go Recommender.fetch (polled, paged)"},
}

// FactReads are the IAM and STS reads that gather the facts about the
// principals of the findings. Where the credential report cannot answer,
// awsapi/credreport.go also reads iam:GetAccessKeyLastUsed and iam:GetUser,
// which RemediationReads allow.
var FactReads = []Call{
	{"IAM.GetAccountAuthorizationDetails", "iam:GetAccountAuthorizationDetails", "awsapi/iam.go loadPrincipals"},
	{"IAM.GenerateCredentialReport", "iam:GenerateCredentialReport", "awsapi/credreport.go readReport (polled)"},
	{"IAM.GetCredentialReport", "iam:GetCredentialReport", "awsapi/credreport.go readReport"},
	{"IAM.ListAccessKeys", "iam:ListAccessKeys", "awsapi/iam.go listKeys"},
	{"IAM.GetLoginProfile", "iam:GetLoginProfile", "awsapi/credreport.go getProfile (a password never used)"},
	{"STS.GetCallerIdentity", "sts:GetCallerIdentity", "awsapi/iam.go loadCaller"},
}

// IAMSourceReads are the service-last-accessed jobs of findings from IAM's
// own data (source: iam, and snapshot capture --last-accessed): one job per
// principal whose permissions are judged, polled and paged.
var IAMSourceReads = []Call{
	{"IAM.GenerateServiceLastAccessedDetails", "iam:GenerateServiceLastAccessedDetails", "awsapi/capture.go Capturer.LastAccessed"},
	{"IAM.GetServiceLastAccessedDetails", "iam:GetServiceLastAccessedDetails", "awsapi/capture.go lastAccessedPages (polled, paged)"},
}

// RemediationReads are the reads of the executors' Inspect and Rollback,
// whatever kinds are enabled: they show nothing GetAccountAuthorizationDetails
// does not.
var RemediationReads = []Call{
	{"IAM.ListAccessKeys", "iam:ListAccessKeys", "remediate/keys.go findKey"},
	{"IAM.GetAccessKeyLastUsed", "iam:GetAccessKeyLastUsed", "remediate/keys.go inspectKey"},
	{"IAM.GetUser", "iam:GetUser", "remediate/delete_login_profile.go, entity.go"},
	{"IAM.GetLoginProfile", "iam:GetLoginProfile", "remediate/delete_login_profile.go"},
	{"IAM.GetRole", "iam:GetRole", "remediate/quarantine_role.go, entity.go"},
	{"IAM.ListRolePolicies", "iam:ListRolePolicies", "remediate/entity.go"},
	{"IAM.GetRolePolicy", "iam:GetRolePolicy", "remediate/entity.go"},
	{"IAM.ListAttachedRolePolicies", "iam:ListAttachedRolePolicies", "remediate/entity.go"},
	{"IAM.ListUserPolicies", "iam:ListUserPolicies", "remediate/entity.go"},
	{"IAM.GetUserPolicy", "iam:GetUserPolicy", "remediate/entity.go"},
	{"IAM.ListAttachedUserPolicies", "iam:ListAttachedUserPolicies", "remediate/entity.go"},
	{"IAM.GetPolicy", "iam:GetPolicy", "remediate/deny_unused_services.go"},
	{"IAM.GetPolicyVersion", "iam:GetPolicyVersion", "remediate/deny_unused_services.go, rewrite_managed.go"},
	{"IAM.ListPolicyVersions", "iam:ListPolicyVersions", "remediate/rewrite_managed.go readVersions"},
}

// KindWrites are the IAM writes of each remediation kind, Apply and
// Rollback together. The stack grants a kind's writes only when that kind
// is enabled.
var KindWrites = map[iamprune.ActionKind][]Call{
	iamprune.KindDeactivateAccessKey: {
		{"IAM.UpdateAccessKey", "iam:UpdateAccessKey", "remediate/deactivate_access_key.go"},
	},
	iamprune.KindDeleteAccessKey: {
		{"IAM.DeleteAccessKey", "iam:DeleteAccessKey", "remediate/delete_access_key.go"},
	},
	iamprune.KindDeleteLoginProfile: {
		{"IAM.DeleteLoginProfile", "iam:DeleteLoginProfile", "remediate/delete_login_profile.go"},
		{"IAM.CreateLoginProfile", "iam:CreateLoginProfile", "remediate/delete_login_profile.go Rollback"},
	},
	iamprune.KindQuarantineRole: {
		{"IAM.PutRolePolicy", "iam:PutRolePolicy", "remediate/quarantine_role.go"},
		{"IAM.DeleteRolePolicy", "iam:DeleteRolePolicy", "remediate/quarantine_role.go Rollback"},
		{"IAM.AttachRolePolicy", "iam:AttachRolePolicy", "remediate/quarantine_role.go (AWSDenyAll, inline quota full)"},
		{"IAM.DetachRolePolicy", "iam:DetachRolePolicy", "remediate/quarantine_role.go Rollback"},
		{"IAM.TagRole", "iam:TagRole", "remediate/quarantine_role.go"},
		{"IAM.UntagRole", "iam:UntagRole", "remediate/quarantine_role.go Rollback"},
	},
	iamprune.KindDenyUnusedServices: {
		{"IAM.PutRolePolicy", "iam:PutRolePolicy", "remediate/entity.go putInline"},
		{"IAM.DeleteRolePolicy", "iam:DeleteRolePolicy", "remediate/entity.go deleteInline"},
		{"IAM.PutUserPolicy", "iam:PutUserPolicy", "remediate/entity.go putInline"},
		{"IAM.DeleteUserPolicy", "iam:DeleteUserPolicy", "remediate/entity.go deleteInline"},
		{"IAM.CreatePolicy", "iam:CreatePolicy", "remediate/deny_unused_services.go createManaged"},
		{"IAM.DeletePolicy", "iam:DeletePolicy", "remediate/deny_unused_services.go Rollback"},
		{"IAM.AttachRolePolicy", "iam:AttachRolePolicy", "remediate/entity.go attach"},
		{"IAM.DetachRolePolicy", "iam:DetachRolePolicy", "remediate/entity.go detach"},
		{"IAM.AttachUserPolicy", "iam:AttachUserPolicy", "remediate/entity.go attach"},
		{"IAM.DetachUserPolicy", "iam:DetachUserPolicy", "remediate/entity.go detach"},
	},
	// Attach and detach take any managed policy: the original (customer- or
	// AWS-managed) is detached and re-attached on rollback, the refined
	// copies are iamprune's own.
	iamprune.KindRewritePolicy: {
		{"IAM.PutRolePolicy", "iam:PutRolePolicy", "remediate/rewrite_policy.go applyChange, rewrite_rollback.go restoreInline"},
		{"IAM.DeleteRolePolicy", "iam:DeleteRolePolicy", "remediate/rewrite_policy.go applyChange (delete-inline)"},
		{"IAM.PutUserPolicy", "iam:PutUserPolicy", "remediate/rewrite_policy.go applyChange, rewrite_rollback.go restoreInline"},
		{"IAM.DeleteUserPolicy", "iam:DeleteUserPolicy", "remediate/rewrite_policy.go applyChange (delete-inline)"},
		{"IAM.AttachRolePolicy", "iam:AttachRolePolicy", "remediate/rewrite_policy.go applyChange (copies), rewrite_rollback.go (originals)"},
		{"IAM.DetachRolePolicy", "iam:DetachRolePolicy", "remediate/rewrite_policy.go Apply (originals), rewrite_rollback.go restoreCopy"},
		{"IAM.AttachUserPolicy", "iam:AttachUserPolicy", "remediate/rewrite_policy.go applyChange (copies), rewrite_rollback.go (originals)"},
		{"IAM.DetachUserPolicy", "iam:DetachUserPolicy", "remediate/rewrite_policy.go Apply (originals), rewrite_rollback.go restoreCopy"},
		{"IAM.CreatePolicy", "iam:CreatePolicy", "remediate/rewrite_managed.go createCopy (under RewritePolicyPath, tagged)"},
		{"IAM.DeletePolicy", "iam:DeletePolicy", "remediate/rewrite_managed.go removeCopy"},
		{"IAM.CreatePolicyVersion", "iam:CreatePolicyVersion", "remediate/rewrite_policy.go applyChange (new-version), rewrite_rollback.go restoreVersions"},
		{"IAM.DeletePolicyVersion", "iam:DeletePolicyVersion", "remediate/rewrite_policy.go applyChange (five-version limit), rewrite_managed.go removeCopy, rewrite_rollback.go"},
		{"IAM.SetDefaultPolicyVersion", "iam:SetDefaultPolicyVersion", "remediate/rewrite_rollback.go restoreVersions"},
	},
}

// TagOnCreate are the further actions a kind's create calls need because
// they pass Tags: IAM authorises a CreatePolicy that tags the new policy by
// iam:TagPolicy as well (Service Authorization Reference, IAM, operation
// CreatePolicy). The stack grants them with the kind's writes.
var TagOnCreate = map[iamprune.ActionKind][]Call{
	iamprune.KindRewritePolicy: {
		{"IAM.CreatePolicy", "iam:TagPolicy", "remediate/rewrite_managed.go createCopy (Tags)"},
	},
}

// NotifyCalls publish notices to the stack's topic.
var NotifyCalls = []Call{
	{"SNS.Publish", "sns:Publish", "notify/channel_sns.go (SNSPublisher)"},
}

// ExceptionsCalls read the exceptions file and the configuration from the
// stack's bucket.
var ExceptionsCalls = []Call{
	{"S3.GetObject", "s3:GetObject", "awsapi/s3.go S3Object.Get"},
}

// StateCalls are the DynamoDB store's, on the table and its indexes (the
// dynamodb package doc lists them too). The store calls a concrete client,
// so no test derives these; CreateTable and UpdateContinuousBackups are for
// provisioning without the stack and are not granted.
var StateCalls = []Call{
	{"DynamoDB.DescribeTable", "dynamodb:DescribeTable", "dynamodb/store.go Open"},
	{"DynamoDB.GetItem", "dynamodb:GetItem", "dynamodb/item.go"},
	{"DynamoDB.BatchGetItem", "dynamodb:BatchGetItem", "dynamodb/chunks.go"},
	{"DynamoDB.PutItem", "dynamodb:PutItem", "dynamodb/actions.go, lock.go, notices.go, runs.go"},
	{"DynamoDB.UpdateItem", "dynamodb:UpdateItem", "dynamodb/actions.go, item.go, runs.go"},
	{"DynamoDB.DeleteItem", "dynamodb:DeleteItem", "dynamodb/lock.go"},
	{"DynamoDB.BatchWriteItem", "dynamodb:BatchWriteItem", "dynamodb/chunks.go"},
	{"DynamoDB.Query", "dynamodb:Query", "dynamodb/item.go"},
}

// RuntimeCalls are made by Lambda on the function's behalf: the SQS event
// source mapping drains the queue (the actions of the managed policy
// AWSLambdaSQSQueueExecutionRole) and the runtime writes the logs.
var RuntimeCalls = []Call{
	{"SQS.ReceiveMessage", "sqs:ReceiveMessage", "Lambda SQS event source mapping"},
	{"SQS.DeleteMessage", "sqs:DeleteMessage", "Lambda SQS event source mapping"},
	{"SQS.GetQueueAttributes", "sqs:GetQueueAttributes", "Lambda SQS event source mapping"},
	{"CloudWatchLogs.CreateLogStream", "logs:CreateLogStream", "Lambda runtime"},
	{"CloudWatchLogs.PutLogEvents", "logs:PutLogEvents", "Lambda runtime"},
}

// ReportCalls publish the sweep's HTML report (report.publish) under
// reports/ of the stack's bucket.
var ReportCalls = []Call{
	{"S3.PutObject", "s3:PutObject", "awsapi/s3.go S3Object.Put"},
}

// FanOutCalls enqueue a scheduled sweep's messages to the stack's sweep
// queue (the function consumes them through the event source mapping,
// RuntimeCalls).
var FanOutCalls = []Call{
	{"SQS.SendMessageBatch", "sqs:SendMessage", "app/enqueue.go sendBatch"},
}

// CrossAccountCalls assume the member-account role (member-role.yaml) when
// the configuration names one (accounts: {role_name: ...}), once per member
// account and again when the credentials expire.
var CrossAccountCalls = []Call{
	{"STS.AssumeRole", "sts:AssumeRole", "awsapi/accounts.go Accounts.Config (stscreds.AssumeRoleProvider)"},
}

// WildcardOnly are the actions that support no resource-level permission,
// so that a policy can grant them only on Resource "*", with the reason.
// Any other action must be granted on ARNs.
var WildcardOnly = map[string]string{
	"access-analyzer:ListAnalyzers":      "lists the account's analyzers; no resource type",
	"iam:GetAccountAuthorizationDetails": "reads the whole account; no resource type",
	"iam:GenerateCredentialReport":       "the account's credential report; no resource type",
	"iam:GetCredentialReport":            "the account's credential report; no resource type",
	"iam:GetServiceLastAccessedDetails":  "reads a job by id; no resource type",
	"sts:GetCallerIdentity":              "no resource type (and needs no permission at all)",
}

// RemediationKinds are the kinds KindWrites covers, in a stable order.
func RemediationKinds() []iamprune.ActionKind {
	kinds := make([]iamprune.ActionKind, 0, len(KindWrites))
	for k := range KindWrites {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return kinds
}

// FunctionActions returns the IAM actions the stack's function role must
// allow, sorted, with the given remediation kinds enabled and, when
// crossAccount is set, the member role assumable.
func FunctionActions(kinds []iamprune.ActionKind, crossAccount bool) []string {
	groups := [][]Call{AnalyzerReads, RecommendationCalls, FactReads, IAMSourceReads, RemediationReads, NotifyCalls, ExceptionsCalls, StateCalls, RuntimeCalls, FanOutCalls, ReportCalls}
	if crossAccount {
		groups = append(groups, CrossAccountCalls)
	}
	return actions(kinds, groups...)
}

// MemberActions returns the IAM actions the member-account role must
// allow, sorted: the facts, service-last-accessed and remediation reads and the writes of the
// enabled kinds. Findings and recommendations are read in the central
// account, on its analyzer.
func MemberActions(kinds []iamprune.ActionKind) []string {
	return actions(kinds, FactReads, IAMSourceReads, RemediationReads)
}

func actions(kinds []iamprune.ActionKind, groups ...[]Call) []string {
	for _, k := range kinds {
		groups = append(groups, KindWrites[k], TagOnCreate[k])
	}
	var out []string
	for _, g := range groups {
		for _, c := range g {
			out = append(out, c.Action)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
