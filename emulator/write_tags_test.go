package emulator

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

func tag(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }

func tagsString(tags []types.Tag) string {
	var parts []string
	for _, t := range tags {
		parts = append(parts, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func listRoleTags(t *testing.T, env *testEnv, role string) string {
	t.Helper()
	var all []types.Tag
	p := iam.NewListRoleTagsPaginator(env.iam, &iam.ListRoleTagsInput{RoleName: aws.String(role)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out.Tags...)
	}
	return tagsString(all)
}

func TestTagRole(t *testing.T) {
	env := newWriteEnv(t)
	role := aws.String("app-role")
	_, err := env.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: role, Tags: []types.Tag{
		tag("iamprune:quarantined-at", "2026-12-01T12:00:00Z"), tag("iamprune:reason", "unused for 120 days"), tag("ENV", "staging"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Keys are case insensitive: ENV replaced env.
	want := "ENV=staging,iamprune:quarantined-at=2026-12-01T12:00:00Z,iamprune:reason=unused for 120 days"
	if got := listRoleTags(t, env, "app-role"); got != want {
		t.Errorf("ListRoleTags = %s, want %s", got, want)
	}
	r, err := env.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: role})
	if err != nil || tagsString(r.Role.Tags) != want {
		t.Errorf("GetRole tags = %s (%v)", tagsString(r.Role.Tags), err)
	}
	if got := tagsString(gaadRole(t, env.iam, "app-role").Tags); got != want {
		t.Errorf("GetAccountAuthorizationDetails tags = %s", got)
	}
	if _, err := env.iam.UntagRole(ctx, &iam.UntagRoleInput{RoleName: role, TagKeys: []string{"iamprune:quarantined-at", "IAMPRUNE:REASON", "absent"}}); err != nil {
		t.Fatal(err)
	}
	if got := listRoleTags(t, env, "app-role"); got != "ENV=staging" {
		t.Errorf("after UntagRole tags = %s", got)
	}
}

func TestTagRoleErrors(t *testing.T) {
	many := func(n int) []types.Tag {
		var tags []types.Tag
		for i := range n {
			tags = append(tags, tag("k"+strconv.Itoa(i), "v"))
		}
		return tags
	}
	tests := []struct {
		name string
		role string
		tags []types.Tag
		code string
	}{
		{"unknown role", "nope", []types.Tag{tag("a", "b")}, "NoSuchEntity"},
		// app-role has one tag already: 49 more reach 50, 50 more do not fit.
		{"over 50 tags", "app-role", many(50), "LimitExceeded"},
		{"key too long", "ci-role", []types.Tag{tag(strings.Repeat("k", 129), "v")}, "InvalidInput"},
		{"value too long", "ci-role", []types.Tag{tag("k", strings.Repeat("v", 257))}, "InvalidInput"},
		{"value with disallowed characters", "ci-role", []types.Tag{tag("k", "why (not)")}, "InvalidInput"},
		{"reserved prefix", "ci-role", []types.Tag{tag("aws:cloudformation", "x")}, "InvalidInput"},
		{"duplicate keys", "ci-role", []types.Tag{tag("a", "1"), tag("A", "2")}, "InvalidInput"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newWriteEnv(t)
			_, err := env.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String(tt.role), Tags: tt.tags})
			wantErr(t, err, tt.code)
			if tt.role == "ci-role" {
				if got := listRoleTags(t, env, "ci-role"); got != "" {
					t.Errorf("a refused TagRole left tags %s", got)
				}
			}
		})
	}
	t.Run("exactly 50", func(t *testing.T) {
		env := newWriteEnv(t)
		if _, err := env.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("app-role"), Tags: many(49)}); err != nil {
			t.Fatalf("50 tags in all must pass: %v", err)
		}
		if _, err := env.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("ci-role"), Tags: []types.Tag{tag(strings.Repeat("k", 128), strings.Repeat("v", 256))}}); err != nil {
			t.Errorf("key of 128 and value of 256 characters must pass: %v", err)
		}
	})
}
