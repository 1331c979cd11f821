// Package snapshottest generates synthetic snapshot folders of any size,
// for benchmarks and for tests that need more than a hand-written
// snapshot: an organisation of accounts × principals with the mix of
// findings a real unused-access analyzer reports. The output is
// deterministic: the same Options always give the same files.
package snapshottest

import (
	"fmt"
	"time"

	"github.com/iamprune/iamprune/snapshot"
)

// Options size a synthetic organisation.
type Options struct {
	// Accounts is the number of accounts; 1 (or 0) makes a single-account
	// snapshot, more an organisation snapshot whose home folder holds
	// every finding and whose sub-folders are the member accounts.
	Accounts int
	// Principals is the number of IAM users and roles per account; every
	// principal has two findings (see Generate for the mix).
	Principals int
	// CapturedAt is the capture time; zero means Now.
	CapturedAt time.Time
}

// Now is the capture time of a snapshot without Options.CapturedAt: plan
// with --now at this time for the ages the generator intends.
var Now = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

// FindingsPerPrincipal is how many findings every generated principal has.
const FindingsPerPrincipal = 2

// HomeAccount is the home (delegated administrator) account's id; member
// k (1-based) is 200000000000+k.
const HomeAccount = "111122223333"

// ForFindings returns Options for about n findings spread over accounts
// accounts (at least one principal per account).
func ForFindings(n, accounts int) Options {
	accounts = max(accounts, 1)
	return Options{Accounts: accounts, Principals: max(n/(FindingsPerPrincipal*accounts), 1)}
}

// Findings is the number of findings o generates.
func (o Options) Findings() int { return max(o.Accounts, 1) * o.Principals * FindingsPerPrincipal }

// Write generates the snapshot of o into dir (created), the way
// 'iamprune snapshot capture' writes one, and returns the number of
// findings written.
func Write(dir string, o Options) (int, error) {
	s := Generate(o)
	if err := snapshot.Write(dir, s); err != nil {
		return 0, err
	}
	return len(s.FindingList), nil
}

// Generate builds the snapshot of o in memory. Principal i of an account
// is, by i mod 4:
//
//	0  a user with one access key and a password: UnusedIAMUserAccessKey
//	   and UnusedIAMUserPassword findings
//	1  a role with an inline policy: UnusedIAMRole and UnusedPermission
//	   (service level)
//	2  a user with two keys and a shared customer managed policy:
//	   UnusedIAMUserAccessKey (both keys) and UnusedPermission
//	3  a role with the shared managed policy: UnusedIAMRole and
//	   UnusedPermission with action-level details
//
// Last uses spread from 0 to 400 days before the capture, so a plan holds
// every kind: nothing yet, notify, remediate. One finding in 50 is
// ARCHIVED.
func Generate(o Options) *snapshot.Snapshot {
	at := o.CapturedAt
	if at.IsZero() {
		at = Now
	}
	accounts := max(o.Accounts, 1)
	home := account(HomeAccount, o.Principals, at)
	home.Analyzer = &snapshot.Analyzer{
		Arn:  "arn:aws:access-analyzer:us-east-1:" + HomeAccount + ":analyzer/org-unused-access",
		Name: "org-unused-access", Type: "ORGANIZATION_UNUSED_ACCESS", Status: "ACTIVE",
	}
	home.HasFindings = true
	home.FindingList = findings(HomeAccount, o.Principals, at, 0)
	for k := 1; k < accounts; k++ {
		id := fmt.Sprintf("%012d", 200000000000+k)
		home.Members = append(home.Members, account(id, o.Principals, at))
		home.FindingList = append(home.FindingList, findings(id, o.Principals, at, k)...)
	}
	return home
}

// account builds one account's facts: users, roles, keys, passwords and
// the shared managed policy.
func account(id string, n int, at time.Time) *snapshot.Snapshot {
	s := &snapshot.Snapshot{
		Meta:             snapshot.Meta{AccountID: id, Partition: "aws", Region: "us-east-1", CapturedAt: at},
		HasAccessKeys:    true,
		HasLoginProfiles: true,
	}
	shared := sharedPolicy(id, at)
	created := at.AddDate(-2, 0, 0)
	for i := range n {
		name := principalName(i)
		switch i % 4 {
		case 0, 2:
			u := snapshot.UserDetail{Path: "/", UserName: name, UserId: fmt.Sprintf("AIDA%016d", i), Arn: arn(id, i), CreateDate: created}
			keys := 1
			if i%4 == 2 {
				keys = 2
				u.AttachedManagedPolicies = []snapshot.AttachedPolicy{{PolicyName: shared.PolicyName, PolicyArn: shared.Arn}}
			} else {
				s.LoginProfiles = append(s.LoginProfiles, snapshot.LoginProfile{UserName: name, CreateDate: created, PasswordLastUsed: lastUse(at, i, 1)})
			}
			for k := range keys {
				s.AccessKeys = append(s.AccessKeys, snapshot.AccessKey{UserName: name, AccessKeyId: keyID(id, i, k), Status: "Active",
					CreateDate: created, LastUsedDate: lastUse(at, i, k)})
			}
			s.Auth.UserDetailList = append(s.Auth.UserDetailList, u)
		default:
			r := snapshot.RoleDetail{Path: "/service/", RoleName: name, RoleId: fmt.Sprintf("AROA%016d", i), Arn: arn(id, i), CreateDate: created,
				AssumeRolePolicyDocument: &snapshot.PolicyDocument{JSON: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`},
				RoleLastUsed:             &snapshot.RoleLastUsed{LastUsedDate: lastUse(at, i, 0)},
				Tags:                     []snapshot.Tag{{Key: "team", Value: fmt.Sprintf("team-%d", i%17)}}}
			if i%4 == 1 {
				r.RolePolicyList = []snapshot.PolicyDetail{{PolicyName: "inline", PolicyDocument: snapshot.PolicyDocument{JSON: inlineDoc}}}
			} else {
				r.AttachedManagedPolicies = []snapshot.AttachedPolicy{{PolicyName: shared.PolicyName, PolicyArn: shared.Arn}}
			}
			s.Auth.RoleDetailList = append(s.Auth.RoleDetailList, r)
		}
	}
	shared.AttachmentCount = n / 2
	s.Auth.Policies = []snapshot.ManagedPolicyDetail{shared}
	return s
}

const inlineDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:ListBucket"],"Resource":"*"},` +
	`{"Effect":"Allow","Action":["sqs:SendMessage","sqs:ReceiveMessage","sqs:DeleteMessage"],"Resource":"*"},` +
	`{"Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:PutItem","dynamodb:Query"],"Resource":"*"},` +
	`{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}`

func sharedPolicy(id string, at time.Time) snapshot.ManagedPolicyDetail {
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","sns:Publish","lambda:InvokeFunction","logs:PutLogEvents","kms:Decrypt"],"Resource":"*"}]}`
	created := at.AddDate(-3, 0, 0)
	return snapshot.ManagedPolicyDetail{
		PolicyName: "AppShared", PolicyId: "ANPA" + id, Arn: "arn:aws:iam::" + id + ":policy/AppShared", Path: "/",
		DefaultVersionId: "v3", IsAttachable: true, CreateDate: created, UpdateDate: created,
		PolicyVersionList: []snapshot.PolicyVersion{{Document: snapshot.PolicyDocument{JSON: doc}, VersionId: "v3", IsDefaultVersion: true, CreateDate: created}},
	}
}

// findings returns the two findings of every principal of account id.
func findings(id string, n int, at time.Time, acct int) []snapshot.Finding {
	out := make([]snapshot.Finding, 0, n*FindingsPerPrincipal)
	analyzed := at.Add(-6 * time.Hour)
	for i := range n {
		created := at.AddDate(0, 0, -(30 + (i*7+acct)%300))
		base := func(seq int, typ, resourceType string, details ...snapshot.FindingDetail) snapshot.Finding {
			status := "ACTIVE"
			if (i*FindingsPerPrincipal+seq)%50 == 7 {
				status = "ARCHIVED"
			}
			return snapshot.Finding{AnalyzedAt: &analyzed, CreatedAt: &created, UpdatedAt: &analyzed,
				Id: findingID(acct, i, seq), Resource: arn(id, i), ResourceOwnerAccount: id, ResourceType: resourceType,
				Status: status, FindingType: typ, FindingDetails: details}
		}
		switch i % 4 {
		case 0:
			out = append(out,
				base(0, "UnusedIAMUserAccessKey", "AWS::IAM::User", keyDetail(id, i, 0, at)),
				base(1, "UnusedIAMUserPassword", "AWS::IAM::User", snapshot.FindingDetail{UnusedIamUserPasswordDetails: &snapshot.UnusedIamUserPasswordDetails{LastAccessed: lastUse(at, i, 1)}}))
		case 2:
			out = append(out,
				base(0, "UnusedIAMUserAccessKey", "AWS::IAM::User", keyDetail(id, i, 0, at), keyDetail(id, i, 1, at)),
				base(1, "UnusedPermission", "AWS::IAM::User", serviceDetails(at, i, "sns", "kms")...))
		default:
			perms := serviceDetails(at, i, "sqs", "dynamodb", "ec2")
			if i%4 == 3 {
				perms = serviceDetails(at, i, "lambda", "logs")
				perms[0].UnusedPermissionDetails.Actions = []snapshot.UnusedAction{{Action: "InvokeFunction", LastAccessed: lastUse(at, i, 3)}}
			}
			out = append(out,
				base(0, "UnusedIAMRole", "AWS::IAM::Role", snapshot.FindingDetail{UnusedIamRoleDetails: &snapshot.UnusedIamRoleDetails{LastAccessed: lastUse(at, i, 0)}}),
				base(1, "UnusedPermission", "AWS::IAM::Role", perms...))
		}
	}
	return out
}

func keyDetail(id string, i, k int, at time.Time) snapshot.FindingDetail {
	return snapshot.FindingDetail{UnusedIamUserAccessKeyDetails: &snapshot.UnusedIamUserAccessKeyDetails{AccessKeyId: keyID(id, i, k), LastAccessed: lastUse(at, i, k)}}
}

func serviceDetails(at time.Time, i int, namespaces ...string) []snapshot.FindingDetail {
	out := make([]snapshot.FindingDetail, len(namespaces))
	for j, ns := range namespaces {
		out[j] = snapshot.FindingDetail{UnusedPermissionDetails: &snapshot.UnusedPermissionDetails{ServiceNamespace: ns, LastAccessed: lastUse(at, i, j+2)}}
	}
	return out
}

// lastUse spreads last uses from 0 to 400 days before at; one use in 9
// never happened (nil).
func lastUse(at time.Time, i, salt int) *time.Time {
	h := (i*2654435761 + salt*40503) % 401
	if h < 0 {
		h = -h
	}
	if (i+salt)%9 == 4 {
		return nil
	}
	t := at.AddDate(0, 0, -h)
	return &t
}

func principalName(i int) string {
	switch i % 4 {
	case 0, 2:
		return fmt.Sprintf("user-%06d", i)
	}
	return fmt.Sprintf("role-%06d", i)
}

func arn(id string, i int) string {
	kind := "role"
	if i%4 == 0 || i%4 == 2 {
		kind = "user"
	}
	return "arn:aws:iam::" + id + ":" + kind + "/" + principalName(i)
}

// keyID is a 20-character access key id, unique within the account.
func keyID(id string, i, k int) string { return fmt.Sprintf("AKIA%s%d%011d", id[len(id)-4:], k, i) }

func findingID(acct, i, seq int) string {
	return fmt.Sprintf("%08x-%04x-4000-8000-%012x", acct, seq, i)
}
