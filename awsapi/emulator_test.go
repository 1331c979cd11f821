package awsapi

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/snapshot"
)

// TestAgainstEmulator reads a snapshot served by the emulator, through the
// full LoadConfig path, with tiny pages (every list and every finding's
// details span several pages) and injected throttling, and checks that the
// adapters give what snapshot mode gives for the same data, with no call
// made twice. The policies snapshot adds inline, customer-managed and
// AWS-managed policies (one of them unknown to IAM).
func TestAgainstEmulator(t *testing.T) {
	for _, name := range []string{"basic", "policies"} {
		t.Run(name, func(t *testing.T) { testAgainstEmulator(t, filepath.Join("testdata", "emulator", name)) })
	}
}

func testAgainstEmulator(t *testing.T, dir string) {
	snap, err := snapshot.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	wantFindings, wantWarnings, err := snap.Findings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The API source asks Access Analyzer for ACTIVE findings only.
	var active []iamprune.Finding
	for _, f := range wantFindings {
		if f.Status == iamprune.StatusActive {
			active = append(active, f)
		}
	}
	snapFacts, err := snap.Facts(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		opts     emulator.Options
		throttle bool
	}{
		{name: "page size 1", opts: emulator.Options{PageSize: 1}},
		{name: "throttled", opts: emulator.Options{PageSize: 2, ThrottleEvery: 13}, throttle: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateEnv(t)
			emu := emulator.New(snap, tt.opts)
			srv := httptest.NewServer(emu)
			defer srv.Close()
			cfg, counter, err := LoadConfig(ctx, Options{
				Region:      snap.Meta.Region,
				Endpoint:    srv.URL,
				Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
			})
			if err != nil {
				t.Fatal(err)
			}
			findings, warnings, err := NewFindingSource(cfg, iamprune.AnalyzerAuto).Findings(ctx)
			if err != nil {
				t.Fatal(err)
			}
			facts, err := NewFacts(cfg).Facts(ctx, findings)
			if err != nil {
				t.Fatal(err)
			}

			sameJSON(t, "findings", findings, active)
			if len(warnings) != len(wantWarnings) {
				t.Errorf("warnings = %v, want the messages of %v", warnings, wantWarnings)
			}
			for i := range min(len(warnings), len(wantWarnings)) {
				if warnings[i].Message != wantWarnings[i].Message {
					t.Errorf("warning %d = %q, want %q", i, warnings[i].Message, wantWarnings[i].Message)
				}
			}
			sameJSON(t, "facts", facts, apiView(snapFacts, findings))

			if d := emu.Duplicates(); len(d) > 0 {
				t.Errorf("calls made twice: %v", d)
			}
			if counter.Total() != len(emu.Calls()) || counter.Attempts() != len(emu.Calls())+len(emu.Throttled()) {
				t.Errorf("counter %d calls %d attempts; emulator %d calls %d throttled",
					counter.Total(), counter.Attempts(), len(emu.Calls()), len(emu.Throttled()))
			}
			if tt.throttle && len(emu.Throttled()) == 0 {
				t.Errorf("no request was throttled: the retry path went untested")
			}
			// One GetPolicy per AWS-managed policy of a principal with an
			// UnusedPermission finding, one GetPolicyVersion per one IAM knows.
			wantGet, wantVersion := awsManagedReads(snap, findings)
			if ops := counter.ByOperation(); ops["IAM.GetPolicy"] != wantGet || ops["IAM.GetPolicyVersion"] != wantVersion {
				t.Errorf("GetPolicy %d, GetPolicyVersion %d calls; want %d, %d", ops["IAM.GetPolicy"], ops["IAM.GetPolicyVersion"], wantGet, wantVersion)
			}
		})
	}
}

// apiView is what the API adapter knows of the snapshot's facts: keys and
// login profiles (with their last use) only for the users whose findings
// need them, AWS-managed policies only for the principals of
// UnusedPermission findings.
func apiView(f *iamprune.Facts, findings []iamprune.Finding) *iamprune.Facts {
	keys, profiles, needed := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, fd := range findings {
		switch fd.Type {
		case iamprune.UnusedIAMUserAccessKey:
			keys[fd.Resource] = true
		case iamprune.UnusedIAMUserPassword:
			profiles[fd.Resource] = true
		case iamprune.UnusedPermission:
			if p := f.Principals[fd.Resource]; p != nil {
				for _, arn := range p.AttachedPolicies {
					needed[arn] = true
				}
			}
		}
	}
	out := *f
	out.PolicyVersions, out.ManagedPolicies = nil, nil
	for arn, v := range f.PolicyVersions {
		if !isAWSManaged(arn) || needed[arn] {
			if out.PolicyVersions == nil {
				out.PolicyVersions = map[string]string{}
			}
			out.PolicyVersions[arn] = v
		}
	}
	for arn, mp := range f.ManagedPolicies {
		if !mp.AWSManaged || needed[arn] {
			if out.ManagedPolicies == nil {
				out.ManagedPolicies = map[string]*iamprune.ManagedPolicy{}
			}
			out.ManagedPolicies[arn] = mp
		}
	}
	out.Principals = map[string]*iamprune.Principal{}
	for arn, p := range f.Principals {
		c := *p
		c.AccessKeys, c.KeysKnown, c.LoginProfile, c.LoginProfileKnown = nil, false, nil, false
		if keys[arn] {
			c.KeysKnown = true
			c.AccessKeys = p.AccessKeys
		}
		if profiles[arn] {
			c.LoginProfileKnown = true
			if p.LoginProfile != nil {
				lp := *p.LoginProfile
				c.LoginProfile = &lp
			}
		}
		out.Principals[arn] = &c
	}
	return &out
}

func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Errorf("%s differ:\ngot  %s\nwant %s", what, g, w)
	}
}

// awsManagedReads counts the AWS-managed policies attached to principals of
// UnusedPermission findings, and those of them the snapshot holds.
func awsManagedReads(snap *snapshot.Snapshot, findings []iamprune.Finding) (get, version int) {
	attached := map[string][]string{}
	for _, u := range snap.Auth.UserDetailList {
		for _, a := range u.AttachedManagedPolicies {
			attached[u.Arn] = append(attached[u.Arn], a.PolicyArn)
		}
	}
	for _, r := range snap.Auth.RoleDetailList {
		for _, a := range r.AttachedManagedPolicies {
			attached[r.Arn] = append(attached[r.Arn], a.PolicyArn)
		}
	}
	known := map[string]bool{}
	for _, p := range snap.Auth.Policies {
		known[p.Arn] = true
	}
	seen := map[string]bool{}
	for _, f := range findings {
		if f.Type != iamprune.UnusedPermission {
			continue
		}
		for _, arn := range attached[f.Resource] {
			if isAWSManaged(arn) && !seen[arn] {
				seen[arn] = true
				get++
				if known[arn] {
					version++
				}
			}
		}
	}
	return get, version
}
