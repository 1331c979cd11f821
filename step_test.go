package iamprune_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
)

func TestStepValidate(t *testing.T) {
	ok := iamprune.Step{Seq: 1, Op: "PutRolePolicy", Status: iamprune.StepPending, Pre: json.RawMessage(`{"a":1}`)}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid step: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*iamprune.Step)
		want string
	}{
		{"seq 0", func(s *iamprune.Step) { s.Seq = 0 }, "seq 0"},
		{"unknown status", func(s *iamprune.Step) { s.Status = "half" }, `status "half"`},
		{"pre not JSON", func(s *iamprune.Step) { s.Pre = json.RawMessage("{") }, "pre-image is not JSON"},
		{"post not JSON", func(s *iamprune.Step) { s.Post = json.RawMessage("nope") }, "post-image is not JSON"},
	} {
		s := ok
		tc.edit(&s)
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || iamprune.ErrorCode(err) != iamprune.EINVALID {
			t.Errorf("%s: %v, want EINVALID naming %q", tc.name, err, tc.want)
		}
	}
}
