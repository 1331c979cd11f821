package remediate

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/aws/smithy-go"

	"github.com/iamprune/iamprune"
)

// principal is the action's principal ARN split into what the IAM calls
// need.
type principal struct {
	ARN       string
	Kind      string // user or role
	Name      string
	Account   string
	Partition string
}

// principalOf reads the principal of a: its ARN names it; for actions whose
// Target is the principal name, Target must agree.
func principalOf(a iamprune.Action, want string) (principal, error) {
	p, ok := iamprune.ParseARN(a.Principal)
	if !ok || p.Service != "iam" || (p.Kind != "user" && p.Kind != "role") {
		return principal{}, iamprune.Errorf(iamprune.EINVALID, "action %s: principal %q is not an IAM user or role ARN", a.ID, a.Principal)
	}
	if want != "" && p.Kind != want {
		return principal{}, iamprune.Errorf(iamprune.EINVALID, "action %s: %s needs a %s, got %s", a.ID, a.Kind, want, a.Principal)
	}
	return principal{ARN: a.Principal, Kind: p.Kind, Name: p.Name, Account: p.Account, Partition: p.Partition}, nil
}

// apiCode returns the AWS error code in err's chain, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func isNoSuchEntity(err error) bool { return apiCode(err) == "NoSuchEntity" }

// knownLastUse is the latest use of the credential the plan knew about: the
// finding's lastAccessed or the live value read at plan time.
func knownLastUse(a iamprune.Action) *time.Time {
	last := a.LastAccessed
	if a.Basis != nil && a.Basis.LastUsed != nil && (last == nil || a.Basis.LastUsed.After(*last)) {
		last = a.Basis.LastUsed
	}
	return last
}

// usedSince reports whether live is a use the plan did not know about. IAM
// reports whole seconds while the analyzer may carry fractions, so both
// are compared at second precision.
func usedSince(live, known *time.Time) bool {
	if live == nil {
		return false
	}
	if known == nil {
		return true
	}
	return live.Truncate(time.Second).After(known.Truncate(time.Second))
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// image marshals a pre- or post-image; our image types always marshal.
func image(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("cannot marshal image: " + err.Error())
	}
	return b
}

// readImage decodes the pre- or post-image of a journal record.
func readImage(rec iamprune.ActionRecord, which string, raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return iamprune.Errorf(iamprune.EINVALID, "action %s/%s has no %s to restore from", rec.RunID, rec.ActionID, which)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return iamprune.Errorf(iamprune.EINVALID, "action %s/%s: %s is not valid: %v", rec.RunID, rec.ActionID, which, err)
	}
	return nil
}
