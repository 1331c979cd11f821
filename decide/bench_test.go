package decide_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/decide"
)

// BenchmarkPlan decides an organisation-sized batch: 10,000 findings over
// 2,500 principals, with exceptions and protected globs to match against.
func BenchmarkPlan(b *testing.B) {
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	facts := &iamprune.Facts{Account: "111122223333", Caller: "arn:aws:sts::111122223333:assumed-role/iamprune/x", Principals: map[string]*iamprune.Principal{}}
	var findings []iamprune.Finding
	var excs []iamprune.Exception
	for i := range 2500 {
		user := fmt.Sprintf("arn:aws:iam::111122223333:user/u%d", i)
		role := fmt.Sprintf("arn:aws:iam::111122223333:role/r%d", i)
		created := now.Add(-time.Duration(400+i%100) * 24 * time.Hour)
		last := now.Add(-time.Duration(i%200) * 24 * time.Hour)
		key := fmt.Sprintf("AKIA%016d", i)
		facts.Principals[user] = &iamprune.Principal{ARN: user, Kind: iamprune.KindUser, Name: fmt.Sprintf("u%d", i), Path: "/", CreateDate: created,
			AccessKeys: []iamprune.AccessKey{{ID: key, Status: "Active", CreateDate: created}}, KeysKnown: true,
			LoginProfile: &iamprune.LoginProfile{CreateDate: created}, LoginProfileKnown: true}
		facts.Principals[role] = &iamprune.Principal{ARN: role, Kind: iamprune.KindRole, Name: fmt.Sprintf("r%d", i), Path: "/", CreateDate: created}
		findings = append(findings,
			iamprune.Finding{ID: fmt.Sprintf("k%d", i), Type: iamprune.UnusedIAMUserAccessKey, Status: iamprune.StatusActive, Resource: user, AccessKeys: []iamprune.KeyUsage{{AccessKeyID: key, LastAccessed: &last}}},
			iamprune.Finding{ID: fmt.Sprintf("p%d", i), Type: iamprune.UnusedIAMUserPassword, Status: iamprune.StatusActive, Resource: user},
			iamprune.Finding{ID: fmt.Sprintf("r%d", i), Type: iamprune.UnusedIAMRole, Status: iamprune.StatusActive, Resource: role, LastAccessed: &last},
			iamprune.Finding{ID: fmt.Sprintf("s%d", i), Type: iamprune.UnusedPermission, Status: iamprune.StatusActive, Resource: role, Services: []iamprune.ServiceUsage{
				{Namespace: "ec2", LastAccessed: &last}, {Namespace: "s3"}, {Namespace: "sqs", LastAccessed: &last}}},
		)
		if i%50 == 0 {
			excs = append(excs, iamprune.Exception{Principal: fmt.Sprintf("arn:aws:iam::111122223333:role/r%d*", i)})
		}
	}
	cfg := iamprune.DefaultConfig()
	cfg.Protected = []string{"arn:aws:iam::*:role/BreakGlass*"}
	in := decide.Input{Findings: findings, Facts: facts, Config: cfg, Exceptions: excs, Now: now}
	b.ReportAllocs()
	for b.Loop() {
		p := decide.Plan(in)
		if len(p.Actions) == 0 {
			b.Fatal("empty plan")
		}
	}
	b.ReportMetric(float64(len(findings)), "findings/op")
}
