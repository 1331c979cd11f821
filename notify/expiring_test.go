package notify

import (
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func TestExpiring(t *testing.T) {
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	day := func(d int) time.Time { return now.AddDate(0, 0, d) }
	facts := &iamprune.Facts{Account: "111122223333", Principals: map[string]*iamprune.Principal{
		"arn:aws:iam::111122223333:role/Forensics":   {ARN: "arn:aws:iam::111122223333:role/Forensics", Name: "Forensics"},
		"arn:aws:iam::111122223333:role/BreakGlassA": {ARN: "arn:aws:iam::111122223333:role/BreakGlassA", Name: "BreakGlassA"},
		"arn:aws:iam::111122223333:role/BreakGlassB": {ARN: "arn:aws:iam::111122223333:role/BreakGlassB", Name: "BreakGlassB"},
	}}
	excs := []iamprune.Exception{
		{Principal: "arn:aws:iam::111122223333:role/Forensics", Expires: day(10), File: "e.yaml", Line: 3, Reason: "IR"},
		{Principal: "arn:aws:iam::*:role/BreakGlass*", Expires: day(13)},
		{Principal: "arn:aws:iam::111122223333:role/Forensics", Expires: day(30)}, // not yet
		{Principal: "arn:aws:iam::111122223333:role/Forensics", Expires: day(-1)}, // expired
		{Principal: "arn:aws:iam::111122223333:role/Forensics"},                   // never expires
	}
	got := Expiring(excs, facts, nil, now, 14*24*time.Hour)
	if len(got) != 3 {
		t.Fatalf("got %d notices, want 3 (Forensics, BreakGlassA, BreakGlassB): %+v", len(got), got)
	}
	if got[0].Action.Target != "Forensics" || got[0].Action.RemediateOn != "2026-12-08" || got[0].Notice != NoticeExpiring {
		t.Errorf("first = %+v", got[0])
	}
	// Once sent, the same expiry is not noticed again; a renewal is.
	var log []iamprune.NoticeRecord
	for _, p := range got {
		log = append(log, iamprune.NoticeRecord{ItemKey: p.Keys[0], Fingerprint: p.Fingerprint, Status: iamprune.NoticeSent})
	}
	if again := Expiring(excs, facts, log, now.AddDate(0, 0, 1), 14*24*time.Hour); len(again) != 0 {
		t.Errorf("noticed again: %+v", again)
	}
	excs[0].Expires = day(12)
	if renewed := Expiring(excs[:1], facts, log, now, 14*24*time.Hour); len(renewed) != 1 {
		t.Errorf("a changed expiry was not noticed: %+v", renewed)
	}
	// A failed notice does not count.
	log[0].Status = iamprune.NoticeFailed
	excs[0].Expires = day(10)
	if retry := Expiring(excs[:1], facts, log, now, 14*24*time.Hour); len(retry) != 1 {
		t.Errorf("a failed notice counted as sent: %+v", retry)
	}
}
