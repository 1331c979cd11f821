package emulator

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iamprune/iamprune/snapshot"
)

func TestGetAccountAuthorizationDetailsPages(t *testing.T) {
	tests := []struct {
		name                          string
		filter                        []types.EntityType
		users, groups, roles, pols    []string
		pages                         int
		wantInlineUser, wantAssumeDoc bool
	}{
		{
			name:  "everything",
			users: []string{"alice", "bob", "carol"}, groups: []string{"admins"},
			roles: []string{"app-role", "ci-role", "iamprune"}, pols: []string{"app-policy", "ReadOnlyAccess"},
			pages: 5, // 9 entities, 2 per page
		},
		{name: "users", filter: []types.EntityType{types.EntityTypeUser}, users: []string{"alice", "bob", "carol"}, pages: 2},
		{name: "roles and groups", filter: []types.EntityType{types.EntityTypeRole, types.EntityTypeGroup},
			groups: []string{"admins"}, roles: []string{"app-role", "ci-role", "iamprune"}, pages: 2},
		{name: "local policies", filter: []types.EntityType{types.EntityTypeLocalManagedPolicy}, pols: []string{"app-policy"}, pages: 1},
		{name: "aws policies", filter: []types.EntityType{types.EntityTypeAWSManagedPolicy}, pols: []string{"ReadOnlyAccess"}, pages: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, "basic", Options{PageSize: 2})
			p := iam.NewGetAccountAuthorizationDetailsPaginator(env.iam, &iam.GetAccountAuthorizationDetailsInput{Filter: tt.filter})
			var users, groups, roles, pols []string
			pages := 0
			for p.HasMorePages() {
				out, err := p.NextPage(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, u := range out.UserDetailList {
					users = append(users, *u.UserName)
				}
				for _, g := range out.GroupDetailList {
					groups = append(groups, *g.GroupName)
				}
				for _, r := range out.RoleDetailList {
					roles = append(roles, *r.RoleName)
				}
				for _, pol := range out.Policies {
					pols = append(pols, *pol.PolicyName)
				}
			}
			for _, c := range []struct {
				what      string
				got, want []string
			}{{"users", users, tt.users}, {"groups", groups, tt.groups}, {"roles", roles, tt.roles}, {"policies", pols, tt.pols}} {
				if !slices.Equal(c.got, c.want) {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
			if pages != tt.pages {
				t.Errorf("pages = %d, want %d", pages, tt.pages)
			}
			if n := len(env.srv.Calls()); n != tt.pages {
				t.Errorf("calls = %d, want one per page (%d)", n, tt.pages)
			}
			if d := env.srv.Duplicates(); len(d) != 0 {
				t.Errorf("duplicate calls: %v", d)
			}
		})
	}
}

// decodeDoc decodes a policy document as returned by IAM, checking that the
// two common decoders agree (IAM encodes spaces as %20, never +).
func decodeDoc(t *testing.T, s *string) string {
	t.Helper()
	if s == nil {
		t.Fatal("policy document missing")
	}
	q, err := url.QueryUnescape(*s)
	if err != nil {
		t.Fatal(err)
	}
	p, err := url.PathUnescape(*s)
	if err != nil {
		t.Fatal(err)
	}
	if q != p {
		t.Errorf("QueryUnescape and PathUnescape disagree on %q", *s)
	}
	return q
}

func TestGetAccountAuthorizationDetailsContent(t *testing.T) {
	env := newEnv(t, "basic", Options{})
	out, err := env.iam.GetAccountAuthorizationDetails(context.Background(), &iam.GetAccountAuthorizationDetailsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if out.IsTruncated || out.Marker != nil {
		t.Errorf("default page size truncated a 9-entity account: marker %v", out.Marker)
	}
	auth := env.snap.Auth
	var docs int
	check := func(what string, got *string, want snapshot.PolicyDocument) {
		t.Helper()
		docs++
		if d := decodeDoc(t, got); d != want.JSON {
			t.Errorf("%s: document round-trip\n got %s\nwant %s", what, d, want.JSON)
		}
	}
	carol := out.UserDetailList[2]
	check("carol inline", carol.UserPolicyList[0].PolicyDocument, auth.UserDetailList[2].UserPolicyList[0].PolicyDocument)
	check("admins inline", out.GroupDetailList[0].GroupPolicyList[0].PolicyDocument, auth.GroupDetailList[0].GroupPolicyList[0].PolicyDocument)
	for i, r := range out.RoleDetailList {
		check("assume "+*r.RoleName, r.AssumeRolePolicyDocument, *auth.RoleDetailList[i].AssumeRolePolicyDocument)
	}
	for i, p := range out.Policies {
		for j, v := range p.PolicyVersionList {
			check(*p.PolicyName+" "+*v.VersionId, v.Document, auth.Policies[i].PolicyVersionList[j].Document)
		}
	}
	if docs != 8 {
		t.Errorf("checked %d documents, want 8", docs)
	}

	if got := carol.Tags; len(got) != 1 || *got[0].Value != "data & analytics <core>" {
		t.Errorf("carol tags = %+v (XML escaping lost?)", got)
	}
	if b := carol.PermissionsBoundary; b == nil || *b.PermissionsBoundaryArn != "arn:aws:iam::111122223333:policy/boundary" ||
		b.PermissionsBoundaryType != types.PermissionsBoundaryAttachmentTypePolicy {
		t.Errorf("carol boundary = %+v", b)
	}
	if !timeEq(carol.CreateDate, ptrTime("2024-03-01T12:00:00Z")) {
		t.Errorf("carol CreateDate = %v", carol.CreateDate)
	}
	if g := out.UserDetailList[0].GroupList; !slices.Equal(g, []string{"admins"}) {
		t.Errorf("alice groups = %v", g)
	}
	app := out.RoleDetailList[0]
	if lu := app.RoleLastUsed; lu == nil || !timeEq(lu.LastUsedDate, ptrTime("2026-10-01T09:15:00Z")) || *lu.Region != "eu-west-1" {
		t.Errorf("app-role RoleLastUsed = %+v", lu)
	}
	if lu := out.RoleDetailList[1].RoleLastUsed; lu == nil || lu.LastUsedDate != nil {
		t.Errorf("ci-role (never used) RoleLastUsed = %+v, want present without a date", lu)
	}
	if ips := app.InstanceProfileList; len(ips) != 1 || *ips[0].InstanceProfileName != "app-profile" ||
		len(ips[0].Roles) != 1 || *ips[0].Roles[0].RoleName != "app-role" {
		t.Errorf("app-role instance profiles = %+v", ips)
	}
	if pol := out.Policies[0]; *pol.DefaultVersionId != "v2" || !pol.IsAttachable || *pol.AttachmentCount != 1 || *pol.Description != "App access" {
		t.Errorf("app-policy = %+v", pol)
	}
}

func TestGetAccountAuthorizationDetailsBadInput(t *testing.T) {
	env := newEnv(t, "basic", Options{})
	ctx := context.Background()
	_, err := env.iam.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{Filter: []types.EntityType{"Bucket"}})
	wantAPIError(t, err, "ValidationError", 400)
	_, err = env.iam.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{MaxItems: aws.Int32(0)})
	wantAPIError(t, err, "ValidationError", 400)
	_, err = env.iam.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{Marker: aws.String("garbage")})
	wantAPIError(t, err, "ValidationError", 400)

	// A marker is bound to the operation and the filters it came from.
	env2 := newEnv(t, "basic", Options{PageSize: 1})
	users, err := env2.iam.ListUsers(ctx, &iam.ListUsersInput{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = env2.iam.ListRoles(ctx, &iam.ListRolesInput{Marker: users.Marker})
	wantAPIError(t, err, "ValidationError", 400)
	_, err = env2.iam.ListUsers(ctx, &iam.ListUsersInput{Marker: users.Marker, PathPrefix: aws.String("/eng/")})
	wantAPIError(t, err, "ValidationError", 400)
}

func TestListAccessKeys(t *testing.T) {
	env := newEnv(t, "basic", Options{PageSize: 2})
	ctx := context.Background()
	p := iam.NewListAccessKeysPaginator(env.iam, &iam.ListAccessKeysInput{UserName: aws.String("alice")})
	var ids []string
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range out.AccessKeyMetadata {
			if *k.UserName != "alice" {
				t.Errorf("key %s has user %s", *k.AccessKeyId, *k.UserName)
			}
			ids = append(ids, *k.AccessKeyId+":"+string(k.Status))
		}
	}
	want := []string{"AKIAALICE00000000001:Active", "AKIAALICE00000000002:Active", "AKIAALICE00000000003:Inactive"}
	if !slices.Equal(ids, want) {
		t.Errorf("keys = %v, want %v", ids, want)
	}
	if n := len(env.srv.Calls()); n != 2 {
		t.Errorf("calls = %d, want 2 pages", n)
	}

	out, err := env.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("carol")})
	if err != nil || len(out.AccessKeyMetadata) != 0 || out.IsTruncated {
		t.Errorf("carol (no keys) = %+v, %v", out, err)
	}

	_, err = env.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("mallory")})
	var nse *types.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Fatalf("unknown user: want *types.NoSuchEntityException, got %v", err)
	}
	wantAPIError(t, err, "NoSuchEntity", 404)

	// Without UserName IAM uses the caller, which here is a role.
	_, err = env.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	wantAPIError(t, err, "ValidationError", 400)
}

func TestListAccessKeysDefaultsToCallingUser(t *testing.T) {
	env := newEnv(t, "analyzer", Options{})
	out, err := env.iam.ListAccessKeys(context.Background(), &iam.ListAccessKeysInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AccessKeyMetadata) != 1 || *out.AccessKeyMetadata[0].UserName != "dave" {
		t.Errorf("keys = %+v, want dave's one key", out.AccessKeyMetadata)
	}
}

func TestGetAccessKeyLastUsed(t *testing.T) {
	tests := []struct {
		key, user, service, region string
		date                       *string
		notFound                   bool
	}{
		{key: "AKIAALICE00000000001", user: "alice", service: "s3", region: "us-east-1", date: aws.String("2026-11-20T14:00:00Z")},
		{key: "AKIAALICE00000000002", user: "alice", service: "N/A", region: "N/A"},
		{key: "AKIABOB0000000000001", user: "bob", service: "N/A", region: "N/A"},
		{key: "AKIANOSUCHKEY0000000", notFound: true},
	}
	env := newEnv(t, "basic", Options{})
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			out, err := env.iam.GetAccessKeyLastUsed(context.Background(), &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(tt.key)})
			if tt.notFound {
				wantAPIError(t, err, "NoSuchEntity", 404)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			lu := out.AccessKeyLastUsed
			if *out.UserName != tt.user || *lu.ServiceName != tt.service || *lu.Region != tt.region {
				t.Errorf("got user %s service %s region %s", *out.UserName, *lu.ServiceName, *lu.Region)
			}
			var want *string
			if tt.date != nil {
				want = tt.date
			}
			if (want == nil) != (lu.LastUsedDate == nil) || (want != nil && !timeEq(lu.LastUsedDate, ptrTime(*want))) {
				t.Errorf("LastUsedDate = %v, want %v", lu.LastUsedDate, tt.date)
			}
		})
	}
}

func TestGetLoginProfile(t *testing.T) {
	env := newEnv(t, "basic", Options{})
	ctx := context.Background()
	out, err := env.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("carol")})
	if err != nil {
		t.Fatal(err)
	}
	if lp := out.LoginProfile; *lp.UserName != "carol" || !lp.PasswordResetRequired || !timeEq(lp.CreateDate, ptrTime("2024-03-01T12:01:00Z")) {
		t.Errorf("carol login profile = %+v", lp)
	}

	tests := []struct{ user, message string }{
		{"bob", "Login Profile for User bob cannot be found."},
		{"mallory", "The user with name mallory cannot be found."},
	}
	for _, tt := range tests {
		_, err := env.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String(tt.user)})
		var nse *types.NoSuchEntityException
		if !errors.As(err, &nse) {
			t.Fatalf("%s: want *types.NoSuchEntityException, got %v", tt.user, err)
		}
		if nse.ErrorMessage() != tt.message {
			t.Errorf("%s: message = %q, want %q", tt.user, nse.ErrorMessage(), tt.message)
		}
		wantAPIError(t, err, "NoSuchEntity", 404)
	}
}

func TestGetUser(t *testing.T) {
	env := newEnv(t, "basic", Options{})
	ctx := context.Background()
	alice, err := env.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("ALICE")})
	if err != nil {
		t.Fatalf("IAM names are case-insensitive: %v", err)
	}
	u := alice.User
	if *u.UserName != "alice" || *u.Arn != "arn:aws:iam::111122223333:user/alice" || *u.UserId != "AIDAALICE0000000000001" || *u.Path != "/" {
		t.Errorf("alice = %+v", u)
	}
	if !timeEq(u.PasswordLastUsed, ptrTime("2026-02-02T02:02:02Z")) {
		t.Errorf("alice PasswordLastUsed = %v", u.PasswordLastUsed)
	}
	if len(u.Tags) != 1 || *u.Tags[0].Key != "owner" {
		t.Errorf("alice tags = %+v", u.Tags)
	}
	carol, err := env.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("carol")})
	if err != nil {
		t.Fatal(err)
	}
	if carol.User.PasswordLastUsed != nil || carol.User.PermissionsBoundary == nil {
		t.Errorf("carol = %+v", carol.User)
	}
	_, err = env.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("mallory")})
	var nse *types.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Fatalf("want *types.NoSuchEntityException, got %v", err)
	}

	// GetUser without a name describes the calling user.
	env2 := newEnv(t, "analyzer", Options{})
	me, err := env2.iam.GetUser(ctx, &iam.GetUserInput{})
	if err != nil || *me.User.UserName != "dave" {
		t.Errorf("GetUser() as dave = %+v, %v", me, err)
	}
}

func TestGetRole(t *testing.T) {
	env := newEnv(t, "basic", Options{})
	ctx := context.Background()
	out, err := env.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app-role")})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Role
	if *r.Arn != "arn:aws:iam::111122223333:role/service-role/app-role" || *r.Path != "/service-role/" || *r.RoleId != "AROAAPP00000000000001" {
		t.Errorf("app-role = %+v", r)
	}
	if d := decodeDoc(t, r.AssumeRolePolicyDocument); d != env.snap.Auth.RoleDetailList[0].AssumeRolePolicyDocument.JSON {
		t.Errorf("trust policy = %s", d)
	}
	if r.RoleLastUsed == nil || !timeEq(r.RoleLastUsed.LastUsedDate, ptrTime("2026-10-01T09:15:00Z")) {
		t.Errorf("RoleLastUsed = %+v", r.RoleLastUsed)
	}
	if len(r.Tags) != 1 || *r.Tags[0].Value != "prod" {
		t.Errorf("tags = %+v", r.Tags)
	}
	_, err = env.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("nope")})
	var nse *types.NoSuchEntityException
	if !errors.As(err, &nse) || nse.ErrorMessage() != "The role with name nope cannot be found." {
		t.Fatalf("want NoSuchEntityException for a missing role, got %v", err)
	}
}

func TestListUsersAndRoles(t *testing.T) {
	tests := []struct {
		prefix     string
		users      []string
		roles      []string
		pageSize   int
		userPages  int
		rolesPages int
	}{
		{prefix: "", users: []string{"alice", "bob", "carol"}, roles: []string{"app-role", "ci-role", "iamprune"}, pageSize: 1, userPages: 3, rolesPages: 3},
		{prefix: "/eng/", users: []string{"bob", "carol"}, pageSize: 1, userPages: 2, rolesPages: 1},
		{prefix: "/service-role/", roles: []string{"app-role"}, pageSize: 2, userPages: 1, rolesPages: 1},
		{prefix: "/", users: []string{"alice", "bob", "carol"}, roles: []string{"app-role", "ci-role", "iamprune"}, pageSize: 2, userPages: 2, rolesPages: 2},
	}
	for _, tt := range tests {
		t.Run("prefix="+tt.prefix, func(t *testing.T) {
			env := newEnv(t, "basic", Options{PageSize: tt.pageSize})
			ctx := context.Background()
			var prefix *string
			if tt.prefix != "" {
				prefix = aws.String(tt.prefix)
			}
			var users, roles []string
			up := iam.NewListUsersPaginator(env.iam, &iam.ListUsersInput{PathPrefix: prefix})
			upages := 0
			for up.HasMorePages() {
				out, err := up.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				upages++
				for _, u := range out.Users {
					users = append(users, *u.UserName)
					if u.Tags != nil {
						t.Errorf("ListUsers returned tags for %s; AWS does not", *u.UserName)
					}
				}
			}
			rp := iam.NewListRolesPaginator(env.iam, &iam.ListRolesInput{PathPrefix: prefix})
			rpages := 0
			for rp.HasMorePages() {
				out, err := rp.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				rpages++
				for _, r := range out.Roles {
					roles = append(roles, *r.RoleName)
					if r.AssumeRolePolicyDocument == nil {
						t.Errorf("ListRoles lost the trust policy of %s", *r.RoleName)
					}
				}
			}
			if !slices.Equal(users, tt.users) || !slices.Equal(roles, tt.roles) {
				t.Errorf("users %v roles %v, want %v %v", users, roles, tt.users, tt.roles)
			}
			if upages != tt.userPages || rpages != tt.rolesPages {
				t.Errorf("pages users %d roles %d, want %d %d", upages, rpages, tt.userPages, tt.rolesPages)
			}
		})
	}
}

func TestUnknownIAMAction(t *testing.T) {
	env := newEnv(t, "basic", Options{})
	// ListGroups is a real IAM action the emulator does not serve yet.
	_, err := env.iam.ListGroups(context.Background(), &iam.ListGroupsInput{})
	wantAPIError(t, err, "InvalidAction", 400)
}
