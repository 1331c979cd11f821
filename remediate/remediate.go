// Package remediate carries out iamprune's remediations against IAM through
// aws-sdk-go-v2, and undoes them. There is one file per remediation kind,
// each holding Inspect, Apply and Rollback side by side, and an explicit
// registry (Executors) instead of init side effects.
//
// Every executor reads the live state in Inspect and records a pre-image
// that is enough to restore exactly what was there; Rollback works from the
// pre-image and the live state, so it also undoes an Apply that crashed
// before its post-image was journaled. An executor that makes more than
// one write journals each as an iamprune.Step (iamprune.JournalStep), so
// that a half-done change is completed by the next apply and undone by
// rollback, step by step.
//
// It is an adapter (IAM writes): it imports only the root and policy, never
// another adapter; app and cmd import it.
package remediate

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iamprune/iamprune"
)

// IAMAPI is the part of *iam.Client the executors use. Tests can wrap a real
// client to count or fail calls.
type IAMAPI interface {
	ListAccessKeys(ctx context.Context, in *iam.ListAccessKeysInput, optFns ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	GetAccessKeyLastUsed(ctx context.Context, in *iam.GetAccessKeyLastUsedInput, optFns ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error)
	UpdateAccessKey(ctx context.Context, in *iam.UpdateAccessKeyInput, optFns ...func(*iam.Options)) (*iam.UpdateAccessKeyOutput, error)
	DeleteAccessKey(ctx context.Context, in *iam.DeleteAccessKeyInput, optFns ...func(*iam.Options)) (*iam.DeleteAccessKeyOutput, error)

	GetUser(ctx context.Context, in *iam.GetUserInput, optFns ...func(*iam.Options)) (*iam.GetUserOutput, error)
	GetLoginProfile(ctx context.Context, in *iam.GetLoginProfileInput, optFns ...func(*iam.Options)) (*iam.GetLoginProfileOutput, error)
	DeleteLoginProfile(ctx context.Context, in *iam.DeleteLoginProfileInput, optFns ...func(*iam.Options)) (*iam.DeleteLoginProfileOutput, error)
	CreateLoginProfile(ctx context.Context, in *iam.CreateLoginProfileInput, optFns ...func(*iam.Options)) (*iam.CreateLoginProfileOutput, error)

	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	TagRole(ctx context.Context, in *iam.TagRoleInput, optFns ...func(*iam.Options)) (*iam.TagRoleOutput, error)
	UntagRole(ctx context.Context, in *iam.UntagRoleInput, optFns ...func(*iam.Options)) (*iam.UntagRoleOutput, error)

	ListRolePolicies(ctx context.Context, in *iam.ListRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error)
	GetRolePolicy(ctx context.Context, in *iam.GetRolePolicyInput, optFns ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	PutRolePolicy(ctx context.Context, in *iam.PutRolePolicyInput, optFns ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
	DeleteRolePolicy(ctx context.Context, in *iam.DeleteRolePolicyInput, optFns ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error)
	ListAttachedRolePolicies(ctx context.Context, in *iam.ListAttachedRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
	AttachRolePolicy(ctx context.Context, in *iam.AttachRolePolicyInput, optFns ...func(*iam.Options)) (*iam.AttachRolePolicyOutput, error)
	DetachRolePolicy(ctx context.Context, in *iam.DetachRolePolicyInput, optFns ...func(*iam.Options)) (*iam.DetachRolePolicyOutput, error)

	ListUserPolicies(ctx context.Context, in *iam.ListUserPoliciesInput, optFns ...func(*iam.Options)) (*iam.ListUserPoliciesOutput, error)
	GetUserPolicy(ctx context.Context, in *iam.GetUserPolicyInput, optFns ...func(*iam.Options)) (*iam.GetUserPolicyOutput, error)
	PutUserPolicy(ctx context.Context, in *iam.PutUserPolicyInput, optFns ...func(*iam.Options)) (*iam.PutUserPolicyOutput, error)
	DeleteUserPolicy(ctx context.Context, in *iam.DeleteUserPolicyInput, optFns ...func(*iam.Options)) (*iam.DeleteUserPolicyOutput, error)
	ListAttachedUserPolicies(ctx context.Context, in *iam.ListAttachedUserPoliciesInput, optFns ...func(*iam.Options)) (*iam.ListAttachedUserPoliciesOutput, error)
	AttachUserPolicy(ctx context.Context, in *iam.AttachUserPolicyInput, optFns ...func(*iam.Options)) (*iam.AttachUserPolicyOutput, error)
	DetachUserPolicy(ctx context.Context, in *iam.DetachUserPolicyInput, optFns ...func(*iam.Options)) (*iam.DetachUserPolicyOutput, error)

	CreatePolicy(ctx context.Context, in *iam.CreatePolicyInput, optFns ...func(*iam.Options)) (*iam.CreatePolicyOutput, error)
	GetPolicy(ctx context.Context, in *iam.GetPolicyInput, optFns ...func(*iam.Options)) (*iam.GetPolicyOutput, error)
	GetPolicyVersion(ctx context.Context, in *iam.GetPolicyVersionInput, optFns ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error)
	DeletePolicy(ctx context.Context, in *iam.DeletePolicyInput, optFns ...func(*iam.Options)) (*iam.DeletePolicyOutput, error)
	ListPolicyVersions(ctx context.Context, in *iam.ListPolicyVersionsInput, optFns ...func(*iam.Options)) (*iam.ListPolicyVersionsOutput, error)
	CreatePolicyVersion(ctx context.Context, in *iam.CreatePolicyVersionInput, optFns ...func(*iam.Options)) (*iam.CreatePolicyVersionOutput, error)
	DeletePolicyVersion(ctx context.Context, in *iam.DeletePolicyVersionInput, optFns ...func(*iam.Options)) (*iam.DeletePolicyVersionOutput, error)
	SetDefaultPolicyVersion(ctx context.Context, in *iam.SetDefaultPolicyVersionInput, optFns ...func(*iam.Options)) (*iam.SetDefaultPolicyVersionOutput, error)
}

var _ IAMAPI = (*iam.Client)(nil)

// DefaultMaxAttachedPolicies is IAM's default quota of managed policies
// attached to one user or role.
const DefaultMaxAttachedPolicies = 10

// Options configures the executors.
type Options struct {
	// Now stamps the quarantine tag; nil means time.Now.
	Now func() time.Time
	// Partition builds AWS managed policy ARNs (AWSDenyAll); empty means
	// the partition of the action's principal ARN.
	Partition string
	// RunID is written into the iamprune:run-id tag.
	RunID string
	// MaxAttachedPolicies is the account's quota of managed policies per
	// principal; 0 means DefaultMaxAttachedPolicies.
	MaxAttachedPolicies int
	// Logger receives one debug line per write call; nil discards.
	Logger *slog.Logger
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o Options) maxAttached() int {
	if o.MaxAttachedPolicies > 0 {
		return o.MaxAttachedPolicies
	}
	return DefaultMaxAttachedPolicies
}

func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// partition returns the partition for managed policy ARNs of p.
func (o Options) partition(p principal) string {
	if o.Partition != "" {
		return o.Partition
	}
	return p.Partition
}

// Executors returns one executor per remediation kind, all sharing client.
func Executors(client IAMAPI, opts Options) map[iamprune.ActionKind]iamprune.Executor {
	return register(
		&deactivateAccessKey{iam: client, opts: opts},
		&deleteAccessKey{iam: client, opts: opts},
		&deleteLoginProfile{iam: client, opts: opts},
		&quarantineRole{iam: client, opts: opts},
		&denyUnusedServices{iam: client, opts: opts},
		&rewritePolicy{iam: client, opts: opts},
	)
}

// register builds the registry from an explicit list; two executors of one
// kind are a programming error.
func register(execs ...iamprune.Executor) map[iamprune.ActionKind]iamprune.Executor {
	m := make(map[iamprune.ActionKind]iamprune.Executor, len(execs))
	for _, e := range execs {
		if _, dup := m[e.Kind()]; dup {
			panic(fmt.Sprintf("two executors for kind %q", e.Kind()))
		}
		m[e.Kind()] = e
	}
	return m
}
