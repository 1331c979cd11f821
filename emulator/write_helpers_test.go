package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

var ctx = context.Background()

// fixedNow is the emulator clock in write tests.
var fixedNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func newWriteEnv(t *testing.T) *testEnv {
	t.Helper()
	return newEnv(t, "basic", Options{PageSize: 2, Now: func() time.Time { return fixedNow }})
}

// isTyped reports whether err is the SDK's typed exception for code, as
// callers test it with errors.As.
func isTyped(err error, code string) bool {
	switch code {
	case "NoSuchEntity":
		var e *types.NoSuchEntityException
		return errors.As(err, &e)
	case "LimitExceeded":
		var e *types.LimitExceededException
		return errors.As(err, &e)
	case "MalformedPolicyDocument":
		var e *types.MalformedPolicyDocumentException
		return errors.As(err, &e)
	case "EntityAlreadyExists":
		var e *types.EntityAlreadyExistsException
		return errors.As(err, &e)
	case "DeleteConflict":
		var e *types.DeleteConflictException
		return errors.As(err, &e)
	case "PasswordPolicyViolation":
		var e *types.PasswordPolicyViolationException
		return errors.As(err, &e)
	case "InvalidInput":
		var e *types.InvalidInputException
		return errors.As(err, &e)
	case "ServiceFailure":
		var e *types.ServiceFailureException
		return errors.As(err, &e)
	}
	return false
}

// statusOf is the HTTP status IAM answers each error code with.
var statusOf = map[string]int{
	"NoSuchEntity": 404, "LimitExceeded": 409, "MalformedPolicyDocument": 400, "EntityAlreadyExists": 409,
	"DeleteConflict": 409, "PasswordPolicyViolation": 400, "InvalidInput": 400, "ValidationError": 400,
	"AccessDenied": 403, "ServiceFailure": 500,
}

// wantErr checks err is the AWS error code, with its HTTP status and,
// for modelled errors, as the SDK's typed exception.
func wantErr(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s, got success", code)
	}
	wantAPIError(t, err, code, statusOf[code])
	if _, modelled := map[string]bool{"ValidationError": true, "AccessDenied": true}[code]; !modelled && !isTyped(err, code) {
		t.Errorf("error %v is not the SDK's typed exception for %s", err, code)
	}
}

// nonSpace counts characters as IAM's policy size quotas do.
func nonSpace(s string) int {
	n := 0
	for _, r := range s {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// docOfSize builds a valid identity policy of exactly n non-white-space
// characters, indented so that white space is present and must not count.
func docOfSize(t *testing.T, n int) string {
	t.Helper()
	build := func(pad int) string {
		doc := map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Sid": strings.Repeat("A", pad), "Effect": "Deny", "Action": "s3:*", "Resource": "*",
			}},
		}
		b, err := json.MarshalIndent(doc, "", "    ")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	base := nonSpace(build(0))
	if n < base {
		t.Fatalf("docOfSize(%d): smallest document has %d characters", n, base)
	}
	doc := build(n - base)
	if got := nonSpace(doc); got != n {
		t.Fatalf("docOfSize(%d) built %d", n, got)
	}
	return doc
}

const denyS3 = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}`

func dump(t *testing.T, srv *Server) string {
	t.Helper()
	b, err := srv.Dump()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func gaadRole(t *testing.T, c *iam.Client, name string) types.RoleDetail {
	t.Helper()
	p := iam.NewGetAccountAuthorizationDetailsPaginator(c, &iam.GetAccountAuthorizationDetailsInput{Filter: []types.EntityType{types.EntityTypeRole}})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.RoleDetailList {
			if aws.ToString(r.RoleName) == name {
				return r
			}
		}
	}
	t.Fatalf("role %s not in GetAccountAuthorizationDetails", name)
	return types.RoleDetail{}
}
