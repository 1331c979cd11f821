package cloudformation

import (
	"io/fs"
	"os"
	"testing"
	"testing/fstest"

	"github.com/iamprune/iamprune/snapshot"
)

// rewriteSnapshotDir is remediate's rewrite-policy account: inline
// policies, a customer-managed policy of one role with five versions, one
// shared by two roles, and an AWS-managed one.
const rewriteSnapshotDir = "../../remediate/testdata/rewrite"

// rewriteFindings are UnusedPermission findings on that account, chosen so
// that the plan uses every rewrite method: put-inline and delete-inline
// (inline-role), new-version at the five-version limit (versioned-role),
// replace-copy of a shared policy (shared-role-a) and of an AWS-managed one,
// and detach (analyst). The demo account adds the user inline policies.
const rewriteFindings = `[
  ` + unusedFinding + `"f-inline", "resource": "arn:aws:iam::111122223333:role/inline-role", "resourceType": "AWS::IAM::Role",
   "findingDetails": [{"unusedPermissionDetails": {"serviceNamespace": "dynamodb"}}, {"unusedPermissionDetails": {"serviceNamespace": "sqs"}}]},
  ` + unusedFinding + `"f-versioned", "resource": "arn:aws:iam::111122223333:role/versioned-role", "resourceType": "AWS::IAM::Role",
   "findingDetails": [{"unusedPermissionDetails": {"serviceNamespace": "cloudwatch"}}]},
  ` + unusedFinding + `"f-shared", "resource": "arn:aws:iam::111122223333:role/shared-role-a", "resourceType": "AWS::IAM::Role",
   "findingDetails": [{"unusedPermissionDetails": {"serviceNamespace": "kms"}}]},
  ` + unusedFinding + `"f-analyst", "resource": "arn:aws:iam::111122223333:user/analyst", "resourceType": "AWS::IAM::User",
   "findingDetails": [{"unusedPermissionDetails": {"serviceNamespace": "sns"}}, {"unusedPermissionDetails": {"serviceNamespace": "autoscaling"}}]}
]`

const unusedFinding = `{"analyzedAt": "2026-11-27T18:00:00Z", "createdAt": "2026-01-05T00:00:00Z", "updatedAt": "2026-11-27T18:00:00Z",
   "status": "ACTIVE", "resourceOwnerAccount": "111122223333", "findingType": "UnusedPermission", "id": `

const rewriteAnalyzer = `{"arn": "arn:aws:access-analyzer:us-east-1:111122223333:analyzer/unused-access-analyzer",
  "name": "unused-access-analyzer", "type": "ACCOUNT_UNUSED_ACCESS", "status": "ACTIVE", "createdAt": "2025-10-01T00:00:00Z",
  "configuration": {"unusedAccess": {"unusedAccessAge": 90}}}`

// rewriteSnapshot is the rewrite account with those findings and an
// analyzer; remediate's folder itself is left as it is.
func rewriteSnapshot(t *testing.T) *snapshot.Snapshot {
	t.Helper()
	fsys := fstest.MapFS{
		"findings.json": {Data: []byte(rewriteFindings)},
		"analyzer.json": {Data: []byte(rewriteAnalyzer)},
	}
	entries, err := fs.ReadDir(os.DirFS(rewriteSnapshotDir), ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if fsys[e.Name()] != nil {
			t.Fatalf("%s now has %s: use it instead of this test's", rewriteSnapshotDir, e.Name())
		}
		b, err := os.ReadFile(rewriteSnapshotDir + "/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		fsys[e.Name()] = &fstest.MapFile{Data: b}
	}
	snap, err := snapshot.Load(fsys, rewriteSnapshotDir+" (with findings)")
	if err != nil {
		t.Fatal(err)
	}
	return snap
}
