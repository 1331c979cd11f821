package iamprune

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// DefaultHoldDays is how long a rolled-back item is held when neither
// rollback --hold-days nor the config's holds.days says otherwise.
const DefaultHoldDays = 30

// MaxHoldDays bounds a hold (ten years): a hold is a pause until an
// exception makes it permanent, and an end date past year 9999 cannot be
// stored.
const MaxHoldDays = 3650

// Hold keeps a rolled-back item from being remediated again: a rollback
// usually means the change broke something, and the next sweep must not
// break it again. While a hold lasts the item is planned as exempt, with a
// reason naming the rollback.
type Hold struct {
	// ID is stable for an item (HoldID), so a second rollback of the same
	// item replaces its hold instead of adding one.
	ID          string      `json:"id"`
	Account     string      `json:"account"`
	Principal   string      `json:"principal"`
	FindingType FindingType `json:"finding_type"`
	// Kind is the remediation that was rolled back.
	Kind   ActionKind `json:"kind"`
	Target string     `json:"target"`
	// Services are the services whose deny or removal was rolled back
	// (UnusedPermission); never null.
	Services []string `json:"services"`
	// RunID is the apply run whose change was rolled back; RollbackRunID
	// the rollback run that set the hold.
	RunID         string `json:"run_id"`
	RollbackRunID string `json:"rollback_run_id"`
	// By is who rolled back (the caller ARN, or the OS user).
	By         string     `json:"by"`
	At         time.Time  `json:"at"`
	Until      time.Time  `json:"until"`
	ReleasedAt *time.Time `json:"released_at,omitempty"`
	ReleasedBy string     `json:"released_by,omitempty"`
}

// HoldID is the stable id of the hold on one item.
func HoldID(account, principal string, t FindingType, target string) string {
	h := sha256.Sum256([]byte(strings.Join([]string{account, principal, string(t), target}, "\x00")))
	return "hold-" + hex.EncodeToString(h[:6])
}

// Active reports whether the hold still applies at now.
func (h Hold) Active(now time.Time) bool {
	return h.ReleasedAt == nil && now.Before(h.Until)
}

// Covers reports whether the hold is about the item a is about: the same
// account, principal, finding type and target. For UnusedPermission it
// covers only the held services (HeldServices).
func (h Hold) Covers(a Action) bool {
	return h.Account == a.Account && h.Principal == a.Principal && h.FindingType == a.FindingType && h.Target == a.Target
}

// HeldServices returns the services of a that h holds; all of them when h
// holds no particular service.
func (h Hold) HeldServices(a Action) []string {
	if len(h.Services) == 0 {
		return a.Services
	}
	var out []string
	for _, s := range a.Services {
		if slices.Contains(h.Services, s) {
			out = append(out, s)
		}
	}
	return out
}
