package emulator

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iamprune/iamprune"
)

func TestMarkUsedHooks(t *testing.T) {
	env := newWriteEnv(t)
	at := time.Date(2026, 12, 2, 8, 30, 0, 0, time.UTC)

	if err := env.srv.MarkAccessKeyUsed("AKIAALICE00000000002", at); err != nil {
		t.Fatal(err)
	}
	k, err := env.iam.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String("AKIAALICE00000000002")})
	if err != nil || !timeEq(k.AccessKeyLastUsed.LastUsedDate, &at) || aws.ToString(k.AccessKeyLastUsed.Region) != "us-east-1" {
		t.Errorf("GetAccessKeyLastUsed after MarkAccessKeyUsed = %+v, %v", k.AccessKeyLastUsed, err)
	}

	if err := env.srv.MarkRoleUsed("CI-ROLE", at); err != nil {
		t.Fatal(err)
	}
	r, err := env.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("ci-role")})
	if err != nil || r.Role.RoleLastUsed == nil || !timeEq(r.Role.RoleLastUsed.LastUsedDate, &at) {
		t.Errorf("GetRole after MarkRoleUsed = %+v, %v", r.Role.RoleLastUsed, err)
	}

	if err := env.srv.MarkPasswordUsed("carol", at); err != nil {
		t.Fatal(err)
	}
	u, err := env.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("carol")})
	if err != nil || !timeEq(u.User.PasswordLastUsed, &at) {
		t.Errorf("GetUser after MarkPasswordUsed = %v, %v", u.User.PasswordLastUsed, err)
	}

	for name, err := range map[string]error{
		"key":      env.srv.MarkAccessKeyUsed("AKIANOPE", at),
		"role":     env.srv.MarkRoleUsed("nope", at),
		"password": env.srv.MarkPasswordUsed("bob", at), // bob has no login profile
	} {
		if iamprune.ErrorCode(err) != iamprune.ENOTFOUND {
			t.Errorf("%s hook on a missing entity: %v, want ENOTFOUND", name, err)
		}
	}
}

func TestSetFindingStatus(t *testing.T) {
	env := newWriteEnv(t)
	at := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	if err := env.srv.SetFindingStatus("f-key-alice", "RESOLVED", at); err != nil {
		t.Fatal(err)
	}
	f, err := env.aa.GetFindingV2(ctx, &accessanalyzer.GetFindingV2Input{AnalyzerArn: aws.String(basicAnalyzerARN), Id: aws.String("f-key-alice")})
	if err != nil || f.Status != aatypes.FindingStatusResolved || !timeEq(f.UpdatedAt, &at) {
		t.Errorf("GetFindingV2 = %v %v, %v", f.Status, f.UpdatedAt, err)
	}
	list, err := env.aa.ListFindingsV2(ctx, &accessanalyzer.ListFindingsV2Input{
		AnalyzerArn: aws.String(basicAnalyzerARN), MaxResults: aws.Int32(100),
		Filter: map[string]aatypes.Criterion{"status": {Eq: []string{"RESOLVED"}}, "id": {Eq: []string{"f-key-alice"}}},
	})
	if err != nil || len(list.Findings) != 1 || aws.ToString(list.Findings[0].Id) != "f-key-alice" {
		t.Errorf("ListFindingsV2 RESOLVED = %+v, %v", list, err)
	}
	if err := env.srv.SetFindingStatus("f-key-alice", "GONE", at); iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("bad status: %v", err)
	}
	if err := env.srv.SetFindingStatus("nope", "ACTIVE", at); iamprune.ErrorCode(err) != iamprune.ENOTFOUND {
		t.Errorf("unknown finding: %v", err)
	}
}

func TestFailNext(t *testing.T) {
	deactivate := func(env *testEnv) error {
		return updateKey(env.iam, "alice", "AKIAALICE00000000001", "Inactive")
	}
	tests := []struct {
		name     string
		code     string
		n        int
		wantCode string // "" when the call succeeds in the end
		injected int
	}{
		// The SDK retries a 500 (3 attempts here): one failure is absorbed.
		{"retried server failure", "ServiceFailure", 1, "", 1},
		{"persistent server failure", "ServiceFailure", 3, "ServiceFailure", 3},
		{"access denied is not retried", "AccessDenied", 2, "AccessDenied", 1},
		{"cancelled", "AccessDenied", 0, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newWriteEnv(t)
			env.srv.FailNext("UpdateAccessKey", tt.code, tt.n)
			err := deactivate(env)
			status := keyStatus(t, env, "alice", "AKIAALICE00000000001")
			if tt.wantCode == "" {
				if err != nil || status != types.StatusTypeInactive {
					t.Fatalf("want success, got %v (status %s)", err, status)
				}
			} else {
				wantErr(t, err, tt.wantCode)
				if status != types.StatusTypeActive {
					t.Errorf("a failed injected call changed the key to %s", status)
				}
			}
			if n := len(env.srv.Injected()); n != tt.injected {
				t.Errorf("Injected() has %d calls, want %d", n, tt.injected)
			}
			wantWrites := 0
			if tt.wantCode == "" {
				wantWrites = 1
			}
			if n := len(env.srv.Writes()); n != wantWrites {
				t.Errorf("Writes() has %d calls, want %d: failed injected calls are not recorded", n, wantWrites)
			}
		})
	}
	t.Run("analyzer operation", func(t *testing.T) {
		env := newWriteEnv(t)
		env.srv.FailNext("GetFindingV2", "AccessDeniedException", 1)
		_, err := env.aa.GetFindingV2(ctx, &accessanalyzer.GetFindingV2Input{AnalyzerArn: aws.String(basicAnalyzerARN), Id: aws.String("f-key-alice")})
		var denied *aatypes.AccessDeniedException
		if !errors.As(err, &denied) {
			t.Fatalf("want AccessDeniedException, got %v", err)
		}
		if _, err := env.aa.GetFindingV2(ctx, &accessanalyzer.GetFindingV2Input{AnalyzerArn: aws.String(basicAnalyzerARN), Id: aws.String("f-key-alice")}); err != nil {
			t.Errorf("the injection should be used up: %v", err)
		}
	})
}

func TestWritesListsOnlyMutatingCalls(t *testing.T) {
	env := newWriteEnv(t)
	if _, err := env.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("ci-role")}); err != nil {
		t.Fatal(err)
	}
	_ = updateKey(env.iam, "alice", "AKIANOPE000000000000", "Inactive") // fails, but is a write call
	if _, err := env.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("ci-role"), Tags: []types.Tag{tag("a", "b")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.iam.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("ci-role")}); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, c := range env.srv.Writes() {
		ops = append(ops, c.Operation)
	}
	if fmt.Sprint(ops) != "[UpdateAccessKey TagRole]" {
		t.Errorf("Writes() = %v", ops)
	}
	if n := len(env.srv.Calls()); n != 4 {
		t.Errorf("Calls() has %d calls, want 4", n)
	}
}

// TestConcurrentWrites runs writes, reads and hooks at once; with -race it
// proves the state is guarded, and the final state proves no write was
// lost.
func TestConcurrentWrites(t *testing.T) {
	env := newWriteEnv(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, 4*n)
	for i := range n {
		wg.Add(4)
		go func() {
			defer wg.Done()
			_, err := env.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("ci-role"), Tags: []types.Tag{tag(fmt.Sprintf("k%02d", i), "v")}})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := env.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("iamprune"), PolicyName: aws.String(fmt.Sprintf("p%02d", i)), PolicyDocument: aws.String(denyS3)})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := env.iam.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			if err := env.srv.MarkRoleUsed("app-role", fixedNow.Add(time.Duration(i)*time.Minute)); err != nil {
				errs <- err
				return
			}
			_, err := env.srv.Dump()
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := len(gaadRole(t, env.iam, "ci-role").Tags); got != n {
		t.Errorf("ci-role has %d tags, want %d", got, n)
	}
	if got := len(gaadRole(t, env.iam, "iamprune").RolePolicyList); got != n {
		t.Errorf("iamprune role has %d inline policies, want %d", got, n)
	}
}
