package remediate

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iamprune/iamprune"
)

// rewritePolicy rewrites a role's or user's policies down to what is used,
// exactly as the plan's PolicyChanges say: inline policies in place,
// customer-managed policies of this principal alone by a new default
// version, shared and AWS-managed ones by a refined copy attached in their
// stead, and policies granting nothing used are deleted or detached.
type rewritePolicy struct {
	iam  IAMAPI
	opts Options
}

var _ iamprune.Executor = (*rewritePolicy)(nil)

func (*rewritePolicy) Kind() iamprune.ActionKind { return iamprune.KindRewritePolicy }

func (e *rewritePolicy) Inspect(ctx context.Context, a iamprune.Action) (iamprune.Inspection, error) {
	p, err := principalOf(a, "")
	if err != nil {
		return iamprune.Inspection{}, err
	}
	chs, err := e.changes(a, p)
	if err != nil {
		return iamprune.Inspection{}, err
	}
	ent := entityOf(e.iam, p)
	ok, err := ent.exists(ctx)
	if err != nil {
		return iamprune.Inspection{}, err
	}
	if !ok {
		return iamprune.Inspection{Skip: fmt.Sprintf("%s %s no longer exists", p.Kind, p.Name)}, nil
	}
	attached, err := ent.listAttached(ctx)
	if err != nil {
		return iamprune.Inspection{}, err
	}
	var inline []string
	if slices.ContainsFunc(chs, func(c change) bool { return c.Type == iamprune.PolicyInline }) {
		if inline, err = ent.listInline(ctx); err != nil {
			return iamprune.Inspection{}, err
		}
	}
	img := rewriteImage{Kind: p.Kind, Name: p.Name, Attached: attached, Policies: []rewriteState{}}
	var skips []string
	done := true
	for _, c := range chs {
		st, skip, err := e.inspectChange(ctx, ent, p, c, attached, inline)
		if err != nil {
			return iamprune.Inspection{}, err
		}
		if skip != "" {
			skips = append(skips, skip)
			continue
		}
		img.Policies = append(img.Policies, st)
		done = done && st.Done
	}
	if len(skips) > 0 {
		return iamprune.Inspection{Skip: strings.Join(skips, "; ")}, nil
	}
	if peak := peakAttached(img); peak > len(attached) && peak > e.opts.maxAttached() {
		return iamprune.Inspection{Skip: fmt.Sprintf(
			"the refined policies of %s %s need %d managed policies attached to it at once (it has %d), over the quota of %d; raise the quota (and Options.MaxAttachedPolicies) or re-plan with fewer parts",
			p.Kind, p.Name, peak, len(attached), e.opts.maxAttached())}, nil
	}
	return iamprune.Inspection{PreImage: image(img), AlreadyDone: done}, nil
}

// inspectChange reads one policy and classifies it: as the plan saw it
// (to apply), already as planned (Done), or anything else (a skip reason).
func (e *rewritePolicy) inspectChange(ctx context.Context, ent entity, p principal, c change, attached, inline []string) (rewriteState, string, error) {
	st := rewriteState{Policy: c.Policy, Method: c.Method}
	if c.arn != "" {
		st.Policy = c.arn
	}
	copies, skip, err := e.inspectCopies(ctx, c, attached)
	if err != nil || skip != "" {
		return st, skip, err
	}
	st.Copies = copies
	in := inspecting{
		c:        c,
		owner:    p.Kind + " " + p.Name,
		copiesOK: !slices.ContainsFunc(copies, func(c copyImage) bool { return !c.ok() }),
	}
	if isInline(c.Method) {
		return in.inline(ctx, ent, st, inline)
	}
	return e.inspectManaged(ctx, in, st, attached)
}

// inspecting is what classifying one change needs besides the policy read.
type inspecting struct {
	c        change
	owner    string // "role NAME" or "user NAME"
	copiesOK bool   // every copy the change writes is in place
}

// inline classifies an inline policy change.
func (in inspecting) inline(ctx context.Context, ent entity, st rewriteState, inline []string) (rewriteState, string, error) {
	c := in.c
	if !slices.Contains(inline, c.name) {
		if c.Method == iamprune.MethodDeleteInline {
			st.Done = true
			return st, "", nil
		}
		return st, fmt.Sprintf("inline policy %s of %s no longer exists; re-plan", c.name, in.owner), nil
	}
	doc, err := ent.getInline(ctx, c.name)
	if err != nil {
		return st, "", err
	}
	st.Present, st.Document = true, doc
	got := canonical(doc)
	st.Written = c.Method == iamprune.MethodPutInline && got == c.canon[0]
	if !st.Written && got != c.before {
		return st, fmt.Sprintf("inline policy %s of %s changed since the plan; re-plan", c.name, in.owner), nil
	}
	st.Done = st.Written && in.copiesOK
	return st, "", nil
}

// inspectManaged classifies a managed policy change.
func (e *rewritePolicy) inspectManaged(ctx context.Context, in inspecting, st rewriteState, attached []string) (rewriteState, string, error) {
	c := in.c
	st.Present = slices.Contains(attached, c.arn)
	if c.Method == iamprune.MethodDetach && !st.Present {
		st.Done = true
		return st, "", nil
	}
	m, err := e.readManaged(ctx, c.arn)
	if err != nil {
		return st, "", err
	}
	if !m.exists {
		return st, fmt.Sprintf("policy %s no longer exists; re-plan", c.arn), nil
	}
	st.DefaultVersion, st.AttachmentCount, st.Document = m.defaultVersion, m.attachmentCount, m.document
	got := canonical(m.document)
	switch c.Method {
	case iamprune.MethodReplaceCopy:
		if !st.Present {
			if in.copiesOK {
				st.Done = true
				return st, "", nil
			}
			return st, fmt.Sprintf("policy %s is no longer attached to %s; re-plan", c.arn, in.owner), nil
		}
		if got != c.before {
			return st, changedSince(c, m), nil
		}
	case iamprune.MethodDetach:
		if got != c.before {
			return st, changedSince(c, m), nil
		}
	case iamprune.MethodNewVersion:
		return e.inspectNewVersion(ctx, in, st, m, got)
	}
	return st, "", nil
}

// inspectNewVersion classifies a new-version change of an attached policy
// whose default document reads got.
func (e *rewritePolicy) inspectNewVersion(ctx context.Context, in inspecting, st rewriteState, m managedState, got string) (rewriteState, string, error) {
	c := in.c
	if !st.Present {
		return st, fmt.Sprintf("policy %s is no longer attached to %s; re-plan", c.arn, in.owner), nil
	}
	st.NewDocument = c.after[0]
	st.Written = got == c.canon[0]
	if !st.Written {
		if got != c.before {
			return st, changedSince(c, m), nil
		}
		// A new default version would change every principal the
		// policy serves, not only this one.
		if others := m.attachmentCount - 1; others > 0 {
			return st, fmt.Sprintf("policy %s is now attached to %d principals (the plan saw %d): a new version would change it for all of them; re-plan", c.arn, m.attachmentCount, max(c.AttachmentCount, 1)), nil
		}
		if m.boundaryCount > 0 {
			return st, fmt.Sprintf("policy %s is now also a permissions boundary of %d principals: a new version would change them too; re-plan", c.arn, m.boundaryCount), nil
		}
	}
	var err error
	if st.Versions, err = e.readVersions(ctx, c.arn); err != nil {
		return st, "", err
	}
	st.Done = st.Written && in.copiesOK
	return st, "", nil
}

// changedSince is the skip reason of a managed policy whose default
// document is no longer the plan's.
func changedSince(c change, m managedState) string {
	if c.Version != "" && c.Version != m.defaultVersion {
		return fmt.Sprintf("policy %s changed since the plan (default version %s, plan saw %s); re-plan", c.arn, m.defaultVersion, c.Version)
	}
	return fmt.Sprintf("policy %s changed since the plan (default version %s); re-plan", c.arn, m.defaultVersion)
}

// inspectCopies reads the policies a change creates; one already there
// must hold exactly its part and serve nobody else.
func (e *rewritePolicy) inspectCopies(ctx context.Context, c change, attached []string) ([]copyImage, string, error) {
	out := slices.Clone(c.copies)
	for i := range out {
		m, err := e.readManaged(ctx, out[i].ARN)
		if err != nil {
			return nil, "", err
		}
		if !m.exists {
			continue
		}
		here := slices.Contains(attached, out[i].ARN)
		if canonical(m.document) != canonical(out[i].Document) {
			return nil, fmt.Sprintf("policy %s already exists and does not hold this plan's refinement of %s; delete it or re-plan", out[i].ARN, c.Policy), nil
		}
		if n := m.attachmentCount - btoi(here); n > 0 || m.boundaryCount > 0 {
			return nil, fmt.Sprintf("policy %s already exists and serves another principal (a role and a user of the same name?); re-plan", out[i].ARN), nil
		}
		out[i].Existed, out[i].Attached = true, here
	}
	return out, "", nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// peakAttached is the most managed policies the principal has attached at
// once while Apply runs, in Apply's order: detaches first, then for each
// change its copies before the original goes.
func peakAttached(img rewriteImage) int {
	n := len(img.Attached)
	for _, st := range img.Policies {
		if st.Method == iamprune.MethodDetach && !st.Done && st.Present {
			n--
		}
	}
	peak := n
	for _, st := range img.Policies {
		if st.Done || st.Method == iamprune.MethodDetach {
			continue
		}
		for _, c := range st.Copies {
			if !c.Attached {
				n++
			}
		}
		peak = max(peak, n)
		if st.Method == iamprune.MethodReplaceCopy && st.Present {
			n--
		}
	}
	return peak
}

// Apply makes the changes in an order that never leaves the principal with
// less than the refined grant: policies granting nothing used go first,
// then for each policy its refined copies are created and attached before
// the original is rewritten or detached.
func (e *rewritePolicy) Apply(ctx context.Context, a iamprune.Action, pre iamprune.Inspection) (json.RawMessage, error) {
	p, err := principalOf(a, "")
	if err != nil {
		return nil, err
	}
	chs, err := e.changes(a, p)
	if err != nil {
		return nil, err
	}
	var img rewriteImage
	if err := json.Unmarshal(pre.PreImage, &img); err != nil {
		return nil, iamprune.Errorf(iamprune.EINVALID, "action %s: rewrite pre-image is not valid: %v", a.ID, err)
	}
	if len(img.Policies) != len(chs) {
		return nil, iamprune.Errorf(iamprune.EINVALID, "action %s: the pre-image has %d policies, the action %d", a.ID, len(img.Policies), len(chs))
	}
	for i, c := range chs {
		if st := img.Policies[i]; st.Method != c.Method || (st.Policy != c.Policy && st.Policy != c.arn) {
			return nil, iamprune.Errorf(iamprune.EINVALID, "action %s: pre-image policy %d is %s %s, the action's %s %s", a.ID, i, st.Method, st.Policy, c.Method, c.Policy)
		}
	}
	ent := entityOf(e.iam, p)
	log := e.opts.logger()
	steps := newStepper(ctx, e.opts)
	post := rewritePost{Policies: []rewriteDone{}}
	for i, c := range chs {
		if st := img.Policies[i]; c.Method == iamprune.MethodDetach && !st.Done && st.Present {
			err := steps.do(detachOp(p), c.arn, nil, func() (any, error) {
				log.Debug("detach unused policy", "kind", p.Kind, "principal", p.Name, "policy", c.arn)
				if err := ent.detach(ctx, c.arn); err != nil && !isNoSuchEntity(err) {
					return nil, err
				}
				return nil, nil
			})
			if err != nil {
				return image(post), err
			}
			post.Policies = append(post.Policies, rewriteDone{Policy: c.arn, Detached: c.arn})
		}
	}
	for i, c := range chs {
		st := img.Policies[i]
		if st.Done || c.Method == iamprune.MethodDetach {
			continue
		}
		post.Policies = append(post.Policies, rewriteDone{Policy: st.Policy})
		d := &post.Policies[len(post.Policies)-1]
		if err := e.applyChange(ctx, steps, ent, p, c, st, d); err != nil {
			return image(post), err
		}
	}
	return image(post), nil
}

func (e *rewritePolicy) applyChange(ctx context.Context, steps *stepper, ent entity, p principal, c change, st rewriteState, d *rewriteDone) error {
	if err := e.applyCopies(ctx, steps, ent, p, c, st, d); err != nil {
		return err
	}
	log := e.opts.logger()
	switch c.Method {
	case iamprune.MethodPutInline:
		if !st.Written {
			err := steps.do(putOp(p), c.name, st.Document, func() (any, error) {
				log.Debug("rewrite inline policy", "kind", p.Kind, "principal", p.Name, "policy", c.name)
				return nil, ent.putInline(ctx, c.name, c.after[0])
			})
			if err != nil {
				return err
			}
			d.Wrote = true
		}
	case iamprune.MethodDeleteInline:
		err := steps.do(deleteOp(p), c.name, st.Document, func() (any, error) {
			log.Debug("delete unused inline policy", "kind", p.Kind, "principal", p.Name, "policy", c.name)
			if err := ent.deleteInline(ctx, c.name); err != nil && !isNoSuchEntity(err) {
				return nil, err
			}
			return nil, nil
		})
		if err != nil {
			return err
		}
		d.DeletedInline = true
	case iamprune.MethodNewVersion:
		if st.Written {
			return nil
		}
		return e.applyNewVersion(ctx, steps, c, st, d)
	case iamprune.MethodReplaceCopy:
		if st.Present {
			err := steps.do(detachOp(p), c.arn, nil, func() (any, error) {
				log.Debug("detach replaced policy", "kind", p.Kind, "principal", p.Name, "policy", c.arn)
				if err := ent.detach(ctx, c.arn); err != nil && !isNoSuchEntity(err) {
					return nil, err
				}
				return nil, nil
			})
			if err != nil {
				return err
			}
			d.Detached = c.arn
		}
	}
	return nil
}

// applyCopies creates the change's refined copies and attaches them, each
// unless already done.
func (e *rewritePolicy) applyCopies(ctx context.Context, steps *stepper, ent entity, p principal, c change, st rewriteState, d *rewriteDone) error {
	log := e.opts.logger()
	replaces, what := c.arn, "refined copy of "+c.arn
	if c.Type == iamprune.PolicyInline {
		replaces, what = "inline/"+c.name, "refined inline policy "+c.name
	}
	for i, cp := range st.Copies {
		if !cp.Existed {
			part := what
			if c.Method != iamprune.MethodReplaceCopy || i > 0 {
				part = fmt.Sprintf("part %d of the %s, split for size", len(c.after)-len(st.Copies)+i+1, what)
			}
			err := steps.do("CreatePolicy", cp.ARN, nil, func() (any, error) {
				return nil, e.createCopy(ctx, p, cp, replaces, part)
			})
			if err != nil {
				return err
			}
			d.CreatedCopies = append(d.CreatedCopies, cp.ARN)
		}
		if !cp.Attached {
			err := steps.do(attachOp(p), cp.ARN, nil, func() (any, error) {
				log.Debug("attach refined policy", "kind", p.Kind, "principal", p.Name, "policy", cp.ARN)
				return nil, ent.attach(ctx, cp.ARN)
			})
			if err != nil {
				return err
			}
			d.Attached = append(d.Attached, cp.ARN)
		}
	}
	return nil
}

// applyNewVersion makes the refined document the policy's default
// version, first deleting the oldest non-default version when the policy
// has IAM's five.
func (e *rewritePolicy) applyNewVersion(ctx context.Context, steps *stepper, c change, st rewriteState, d *rewriteDone) error {
	log := e.opts.logger()
	if len(st.Versions) >= maxPolicyVersions {
		old, ok := oldestNonDefault(st.Versions)
		if !ok {
			return fmt.Errorf("policy %s has %d versions and none to delete", c.arn, len(st.Versions))
		}
		err := steps.do("DeletePolicyVersion", c.arn+" "+old.ID, old, func() (any, error) {
			log.Debug("delete oldest policy version", "policy", c.arn, "version", old.ID)
			if _, err := e.iam.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(c.arn), VersionId: aws.String(old.ID)}); err != nil && !isNoSuchEntity(err) {
				return nil, fmt.Errorf("cannot delete version %s of policy %s to make room: %w", old.ID, c.arn, err)
			}
			return nil, nil
		})
		if err != nil {
			return err
		}
		d.DeletedVersion = &old
	}
	return steps.do("CreatePolicyVersion", c.arn, st.DefaultVersion, func() (any, error) {
		log.Debug("create default policy version", "policy", c.arn)
		out, err := e.iam.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(c.arn), PolicyDocument: aws.String(c.after[0]), SetAsDefault: true})
		if err != nil {
			return nil, fmt.Errorf("cannot create a new version of policy %s: %w", c.arn, err)
		}
		d.CreatedVersion = aws.ToString(out.PolicyVersion.VersionId)
		return d.CreatedVersion, nil
	})
}
