package remediate

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iamprune/iamprune"
)

// Names that make a quarantine recognisably iamprune's.
const (
	QuarantinePolicyName = "iamprune-quarantine"
	TagQuarantinedAt     = "iamprune:quarantined-at"
	TagQuarantineReason  = "iamprune:quarantine-reason"
	TagRunID             = "iamprune:run-id"
)

// QuarantinePolicy is the inline deny-all written into a quarantined role.
const QuarantinePolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"IamprunesQuarantine","Effect":"Deny","Action":"*","Resource":"*"}]}`

var quarantineTags = []string{TagQuarantinedAt, TagQuarantineReason, TagRunID}

// Quarantine mechanisms, as the post-image names them.
const (
	mechInline     = "inline"                      // the iamprune-quarantine inline policy
	mechDenyAll    = "AWSDenyAll"                  // iamprune attached AWSDenyAll
	mechDenyAllPre = "AWSDenyAll-already-attached" // only tagged
)

// quarantineRole denies everything to an unused role, reversibly: the inline
// iamprune-quarantine policy, or the AWS managed AWSDenyAll when the role's
// inline quota is full; plus tags saying when and why.
type quarantineRole struct {
	iam  IAMAPI
	opts Options
}

var _ iamprune.Executor = (*quarantineRole)(nil)

type quarantineImage struct {
	Role            string `json:"role"`
	DenyAllAttached bool   `json:"deny_all_attached"`
	// Inline: iamprune-quarantine was already there (an earlier apply
	// stopped before tagging); Apply then only completes the tags.
	Inline bool `json:"inline,omitempty"`
	// Tags holds the previous values of the iamprune tags the role had;
	// a key absent here was absent.
	Tags map[string]string `json:"tags,omitempty"`
}

type quarantinePost struct {
	Role      string            `json:"role"`
	Mechanism string            `json:"mechanism"`
	PolicyARN string            `json:"policy_arn,omitempty"`
	Tags      map[string]string `json:"tags"`
}

// roleState is what a quarantine looks at.
type roleState struct {
	lastUsed        *time.Time
	tags            map[string]string
	inline          bool // iamprune-quarantine present
	denyAllAttached bool
}

func (*quarantineRole) Kind() iamprune.ActionKind { return iamprune.KindQuarantineRole }

func (e *quarantineRole) denyAllARN(p principal) string {
	return "arn:" + e.opts.partition(p) + ":iam::aws:policy/AWSDenyAll"
}

// read returns the role's state, or nil when the role is gone.
func (e *quarantineRole) read(ctx context.Context, p principal) (*roleState, error) {
	out, err := e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(p.Name)})
	if isNoSuchEntity(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read role %s: %w", p.Name, err)
	}
	st := &roleState{tags: map[string]string{}}
	if out.Role != nil {
		if out.Role.RoleLastUsed != nil {
			st.lastUsed = out.Role.RoleLastUsed.LastUsedDate
		}
		for _, t := range out.Role.Tags {
			if k := aws.ToString(t.Key); slices.Contains(quarantineTags, k) {
				st.tags[k] = aws.ToString(t.Value)
			}
		}
	}
	ent := roleEntity(e.iam, p.Name)
	names, err := ent.listInline(ctx)
	if err != nil {
		return nil, err
	}
	st.inline = slices.Contains(names, QuarantinePolicyName)
	attached, err := ent.listAttached(ctx)
	if err != nil {
		return nil, err
	}
	st.denyAllAttached = slices.Contains(attached, e.denyAllARN(p))
	return st, nil
}

func (e *quarantineRole) Inspect(ctx context.Context, a iamprune.Action) (iamprune.Inspection, error) {
	p, err := principalOf(a, "role")
	if err != nil {
		return iamprune.Inspection{}, err
	}
	st, err := e.read(ctx, p)
	if err != nil {
		return iamprune.Inspection{}, err
	}
	if st == nil {
		return iamprune.Inspection{Skip: fmt.Sprintf("role %s no longer exists", p.Name)}, nil
	}
	in := iamprune.Inspection{
		PreImage: image(quarantineImage{Role: p.Name, DenyAllAttached: st.denyAllAttached, Inline: st.inline, Tags: st.tags}),
		LastUsed: st.lastUsed,
	}
	_, at := st.tags[TagQuarantinedAt]
	_, why := st.tags[TagQuarantineReason]
	// Done means every step is there: the deny and the tags. A deny
	// without tags is an apply that stopped half-way: it is completed,
	// whatever use came since, as the role is already denied.
	switch {
	case (st.inline || st.denyAllAttached) && at && why:
		in.AlreadyDone = true
	case st.inline:
	case usedSince(st.lastUsed, knownLastUse(a)):
		in.Skip = fmt.Sprintf("role %s used on %s, after the finding", p.Name, stamp(*st.lastUsed))
	}
	return in, nil
}

func (e *quarantineRole) Apply(ctx context.Context, a iamprune.Action, pre iamprune.Inspection) (json.RawMessage, error) {
	p, err := principalOf(a, "role")
	if err != nil {
		return nil, err
	}
	var img quarantineImage
	if err := json.Unmarshal(pre.PreImage, &img); err != nil {
		return nil, iamprune.Errorf(iamprune.EINVALID, "action %s: quarantine pre-image is not valid: %v", a.ID, err)
	}
	log := e.opts.logger()
	steps := newStepper(ctx, e.opts)
	post := quarantinePost{Role: p.Name, Mechanism: mechInline}
	if !img.Inline {
		err = steps.do("PutRolePolicy", QuarantinePolicyName, nil, func() (any, error) {
			log.Debug("PutRolePolicy", "role", p.Name, "policy", QuarantinePolicyName)
			_, err := e.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
				RoleName: aws.String(p.Name), PolicyName: aws.String(QuarantinePolicyName), PolicyDocument: aws.String(QuarantinePolicy),
			})
			return nil, err
		})
	}
	switch {
	case apiCode(err) == "LimitExceeded" && img.DenyAllAttached:
		post.Mechanism = mechDenyAllPre
	case apiCode(err) == "LimitExceeded":
		// The inline quota is full: AWSDenyAll denies the same.
		post.Mechanism, post.PolicyARN = mechDenyAll, e.denyAllARN(p)
		err = steps.do("AttachRolePolicy", post.PolicyARN, nil, func() (any, error) {
			log.Debug("AttachRolePolicy", "role", p.Name, "policy", post.PolicyARN)
			_, err := e.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(p.Name), PolicyArn: aws.String(post.PolicyARN)})
			return nil, err
		})
		if err != nil {
			return nil, fmt.Errorf("cannot quarantine role %s: its inline policy quota is full and attaching %s failed: %w", p.Name, post.PolicyARN, err)
		}
	case err != nil:
		return nil, fmt.Errorf("cannot put the quarantine policy on role %s: %w", p.Name, err)
	}
	post.Tags = e.tags(a)
	tags := make([]types.Tag, 0, len(post.Tags))
	for _, k := range quarantineTags {
		if v, ok := post.Tags[k]; ok {
			tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
	}
	// The step's pre-image is the previous value of each iamprune tag.
	err = steps.do("TagRole", strings.Join(quarantineTags, ","), img.Tags, func() (any, error) {
		log.Debug("TagRole", "role", p.Name)
		_, err := e.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String(p.Name), Tags: tags})
		return post.Tags, err
	})
	if err != nil {
		post.Tags = nil
		return image(post), fmt.Errorf("role %s is quarantined (%s) but cannot be tagged (apply again to finish, or roll back to lift it): %w", p.Name, post.Mechanism, err)
	}
	return image(post), nil
}

// tags are the iamprune tags a quarantine writes.
func (e *quarantineRole) tags(a iamprune.Action) map[string]string {
	reason := tagValue(a.Reason)
	if reason == "" {
		reason = "unused role"
	}
	m := map[string]string{TagQuarantinedAt: stamp(e.opts.now()), TagQuarantineReason: reason}
	if e.opts.RunID != "" {
		m[TagRunID] = tagValue(e.opts.RunID)
	}
	return m
}

// maxTagValue is IAM's limit on a tag value, in characters.
const maxTagValue = 256

// tagValue makes s a valid IAM tag value: only letters, digits, spaces and
// _ . : / = + - @ are allowed, at most 256 characters.
func tagValue(s string) string {
	var b strings.Builder
	n := 0
	space := false
	for _, r := range s {
		ok := unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_.:/=+-@", r)
		if !ok {
			// Dropped characters become one space, so words stay apart.
			space = b.Len() > 0
			continue
		}
		if space {
			if n+1 >= maxTagValue {
				break
			}
			b.WriteByte(' ')
			n++
			space = false
		}
		if n == maxTagValue {
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// Rollback removes exactly what Apply added and restores the tags to their
// pre-image. It reads the live role, so it also undoes an Apply whose
// post-image was never journaled.
func (e *quarantineRole) Rollback(ctx context.Context, rec iamprune.ActionRecord) (iamprune.RollbackOutcome, error) {
	var pre quarantineImage
	if err := readImage(rec, "pre-image", rec.PreImage, &pre); err != nil {
		return iamprune.RollbackOutcome{}, err
	}
	var post quarantinePost
	if len(rec.PostImage) > 0 {
		if err := readImage(rec, "post-image", rec.PostImage, &post); err != nil {
			return iamprune.RollbackOutcome{}, err
		}
	}
	p, err := principalOf(actionOf(rec), "role")
	if err != nil {
		return iamprune.RollbackOutcome{}, err
	}
	st, err := e.read(ctx, p)
	if err != nil {
		return iamprune.RollbackOutcome{}, err
	}
	if st == nil {
		return iamprune.RollbackOutcome{}, iamprune.Errorf(iamprune.ENOTFOUND, "role %s no longer exists; there is no quarantine to lift", p.Name)
	}
	log := e.opts.logger()
	var done []string
	if st.inline {
		log.Debug("DeleteRolePolicy", "role", p.Name, "policy", QuarantinePolicyName)
		if _, err := e.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(p.Name), PolicyName: aws.String(QuarantinePolicyName)}); err != nil && !isNoSuchEntity(err) {
			return iamprune.RollbackOutcome{}, fmt.Errorf("cannot delete the quarantine policy of role %s: %w", p.Name, err)
		}
		done = append(done, "deleted inline policy "+QuarantinePolicyName)
	}
	// Detach AWSDenyAll only when iamprune attached it: a step of this
	// action attached it or, without steps, it was not there before and
	// the post-image (if journaled) says Apply attached it.
	attachedByUs := !pre.DenyAllAttached && (post.Mechanism == "" || post.Mechanism == mechDenyAll)
	if len(rec.Steps) > 0 {
		attachedByUs = len(stepsOf(rec, "AttachRolePolicy")) > 0
	}
	if st.denyAllAttached && attachedByUs {
		arn := e.denyAllARN(p)
		log.Debug("DetachRolePolicy", "role", p.Name, "policy", arn)
		if _, err := e.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(p.Name), PolicyArn: aws.String(arn)}); err != nil && !isNoSuchEntity(err) {
			return iamprune.RollbackOutcome{}, fmt.Errorf("cannot detach %s from role %s: %w", arn, p.Name, err)
		}
		done = append(done, "detached "+arn)
	}
	restore, remove := tagDiff(st.tags, pre.Tags)
	if len(remove) > 0 {
		log.Debug("UntagRole", "role", p.Name, "keys", remove)
		if _, err := e.iam.UntagRole(ctx, &iam.UntagRoleInput{RoleName: aws.String(p.Name), TagKeys: remove}); err != nil {
			return iamprune.RollbackOutcome{}, fmt.Errorf("cannot remove the quarantine tags of role %s: %w", p.Name, err)
		}
		done = append(done, "removed tags "+strings.Join(remove, ", "))
	}
	if len(restore) > 0 {
		log.Debug("TagRole", "role", p.Name)
		if _, err := e.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String(p.Name), Tags: restore}); err != nil {
			return iamprune.RollbackOutcome{}, fmt.Errorf("cannot restore the tags of role %s: %w", p.Name, err)
		}
		done = append(done, "restored previous iamprune tags")
	}
	if len(done) == 0 {
		return iamprune.RollbackOutcome{AlreadyDone: true, Detail: fmt.Sprintf("role %s is not quarantined", p.Name)}, nil
	}
	return iamprune.RollbackOutcome{Detail: fmt.Sprintf("quarantine of role %s lifted: %s", p.Name, strings.Join(done, "; "))}, nil
}

// tagDiff returns the tags to write back and the keys to remove so that the
// live iamprune tags equal the pre-image's.
func tagDiff(live, pre map[string]string) (restore []types.Tag, remove []string) {
	for _, k := range quarantineTags {
		lv, inLive := live[k]
		pv, inPre := pre[k]
		switch {
		case inPre && (!inLive || lv != pv):
			restore = append(restore, types.Tag{Key: aws.String(k), Value: aws.String(pv)})
		case !inPre && inLive:
			remove = append(remove, k)
		}
	}
	return restore, remove
}
