package remediate

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iamprune/iamprune"
)

// Rollback puts back every policy the pre-image recorded: inline documents,
// the default version and the versions of a new-version policy, and the
// attachments; then it detaches and deletes the policies iamprune created.
// Grants come back before the refined copies go, so the principal never
// has less than either state. It reads the live state before each write,
// so it also undoes an interrupted Apply, and undoing twice writes nothing.
func (e *rewritePolicy) Rollback(ctx context.Context, rec iamprune.ActionRecord) (iamprune.RollbackOutcome, error) {
	pre, post, err := readRewriteImages(rec)
	if err != nil {
		return iamprune.RollbackOutcome{}, err
	}
	p, err := principalOf(actionOf(rec), "")
	if err != nil {
		return iamprune.RollbackOutcome{}, err
	}
	if p.Kind != pre.Kind || p.Name != pre.Name {
		return iamprune.RollbackOutcome{}, iamprune.Errorf(iamprune.EINVALID, "action %s/%s: pre-image is of %s %s, the record of %s", rec.RunID, rec.ActionID, pre.Kind, pre.Name, rec.Principal)
	}
	ent := entityOf(e.iam, p)
	ok, err := ent.exists(ctx)
	if err != nil {
		return iamprune.RollbackOutcome{}, err
	}
	if !ok {
		return iamprune.RollbackOutcome{}, iamprune.Errorf(iamprune.ENOTFOUND, "%s %s no longer exists; its policies cannot be restored", p.Kind, p.Name)
	}
	done, err := e.restorePolicies(ctx, ent, pre, post)
	return rewriteOutcome(p, done, err)
}

// readRewriteImages reads the record's pre-image and, when there is one,
// its post-image.
func readRewriteImages(rec iamprune.ActionRecord) (rewriteImage, *rewritePost, error) {
	var pre rewriteImage
	if err := readImage(rec, "pre-image", rec.PreImage, &pre); err != nil {
		return pre, nil, err
	}
	if len(rec.PostImage) == 0 {
		return pre, nil, nil
	}
	post := new(rewritePost)
	if err := readImage(rec, "post-image", rec.PostImage, post); err != nil {
		return pre, nil, err
	}
	return pre, post, nil
}

// rewriteOutcome tells what Rollback did; an error lists what was done
// before it.
func rewriteOutcome(p principal, done []string, err error) (iamprune.RollbackOutcome, error) {
	if err != nil {
		if len(done) > 0 {
			err = fmt.Errorf("%w (already done: %s)", err, strings.Join(done, "; "))
		}
		return iamprune.RollbackOutcome{}, err
	}
	if len(done) == 0 {
		return iamprune.RollbackOutcome{AlreadyDone: true, Detail: fmt.Sprintf("%s %s already has the policies it had before", p.Kind, p.Name)}, nil
	}
	return iamprune.RollbackOutcome{Detail: fmt.Sprintf("%s %s: %s", p.Kind, p.Name, strings.Join(done, "; "))}, nil
}

// restorePolicies brings the grants back, then removes the refined copies,
// and returns what it did.
func (e *rewritePolicy) restorePolicies(ctx context.Context, ent entity, pre rewriteImage, post *rewritePost) ([]string, error) {
	attached, err := ent.listAttached(ctx)
	if err != nil {
		return nil, err
	}
	var done []string
	// First the grants come back …
	for _, st := range pre.Policies {
		if st.Done {
			continue
		}
		d, err := e.restoreGrant(ctx, ent, st, post, attached)
		done = append(done, d...)
		if err != nil {
			return done, err
		}
	}
	// … then the refined copies go.
	for _, st := range pre.Policies {
		if st.Done {
			continue
		}
		for _, c := range st.Copies {
			d, err := e.restoreCopy(ctx, ent, c, slices.Contains(attached, c.ARN))
			done = append(done, d...)
			if err != nil {
				return done, err
			}
		}
	}
	return done, nil
}

// restoreGrant puts one policy's grant back as the pre-image found it.
func (e *rewritePolicy) restoreGrant(ctx context.Context, ent entity, st rewriteState, post *rewritePost, attached []string) ([]string, error) {
	switch st.Method {
	case iamprune.MethodPutInline, iamprune.MethodDeleteInline:
		return e.restoreInline(ctx, ent, st)
	case iamprune.MethodNewVersion:
		return e.restoreVersions(ctx, st, createdVersion(post, st.Policy))
	case iamprune.MethodReplaceCopy, iamprune.MethodDetach:
		if st.Present && !slices.Contains(attached, st.Policy) {
			if err := ent.attach(ctx, st.Policy); err != nil {
				return nil, err
			}
			return []string{"re-attached " + st.Policy}, nil
		}
	}
	return nil, nil
}

// createdVersion is the version Apply journaled creating, or "" when it
// is not known (no post-image, or the creation's answer was lost).
func createdVersion(post *rewritePost, arn string) string {
	if post == nil {
		return ""
	}
	for _, d := range post.Policies {
		if d.Policy == arn {
			return d.CreatedVersion
		}
	}
	return ""
}

// restoreInline puts the inline document back as it was.
func (e *rewritePolicy) restoreInline(ctx context.Context, ent entity, st rewriteState) ([]string, error) {
	if !st.Present {
		return nil, nil
	}
	names, err := ent.listInline(ctx)
	if err != nil {
		return nil, err
	}
	if slices.Contains(names, st.Policy) {
		cur, err := ent.getInline(ctx, st.Policy)
		if err != nil {
			return nil, err
		}
		if canonical(cur) == canonical(st.Document) {
			return nil, nil
		}
	}
	if err := ent.putInline(ctx, st.Policy, st.Document); err != nil {
		return nil, err
	}
	if slices.Contains(names, st.Policy) {
		return []string{"restored inline policy " + st.Policy}, nil
	}
	return []string{"re-created inline policy " + st.Policy}, nil
}

// restoreCopy undoes one policy iamprune wrote: detached and deleted when
// this action created it, else left as the pre-image found it.
func (e *rewritePolicy) restoreCopy(ctx context.Context, ent entity, c copyImage, attached bool) ([]string, error) {
	var done []string
	switch {
	case attached && !c.Attached:
		if err := ent.detach(ctx, c.ARN); err != nil && !isNoSuchEntity(err) {
			return nil, err
		}
		done = append(done, "detached "+c.ARN)
	case !attached && c.Attached:
		if err := ent.attach(ctx, c.ARN); err != nil {
			return nil, err
		}
		return []string{"re-attached " + c.ARN}, nil
	}
	if c.Existed {
		return done, nil
	}
	d, err := e.removeCopy(ctx, c.ARN)
	if d != "" {
		done = append(done, d)
	}
	return done, err
}

// restoreVersions gives a new-version policy back its default version and
// its versions. The version iamprune created is the one the post-image
// names or, without one, any version the pre-image lacks that holds the
// refined document. A version Apply deleted is re-created, and IAM gives it
// a new id; a version the pre-image lacks that holds the same document
// (an earlier rollback's re-creation, or iamprune's own when the refined
// document was that old one) stands for it instead, so undoing twice
// writes nothing.
func (e *rewritePolicy) restoreVersions(ctx context.Context, st rewriteState, created string) ([]string, error) {
	arn := st.Policy
	live, err := e.readVersions(ctx, arn)
	if err != nil {
		if isNoSuchEntity(err) {
			return nil, iamprune.Errorf(iamprune.ENOTFOUND, "policy %s no longer exists; its versions cannot be restored", arn)
		}
		return nil, err
	}
	r := &versionRestore{e: e, ctx: ctx, arn: arn, live: live, ours: map[string]bool{}}
	spare := r.spareVersions(st, created)
	if i := r.has(st.DefaultVersion); i >= 0 && !live[i].IsDefault {
		if err := r.setDefault(st.DefaultVersion); err != nil {
			return r.done, err
		}
	}
	recreate, err := r.reuseSpares(st, spare)
	if err != nil {
		return r.done, err
	}
	if err := r.deleteOurs(); err != nil {
		return r.done, err
	}
	if err := r.recreate(recreate); err != nil {
		return r.done, err
	}
	// Ours was still the default when the previous default had been
	// deleted too; it no longer is.
	return r.done, r.deleteOurs()
}

// versionRestore is restoreVersions' state: the policy's live versions as
// it changes them, the ones iamprune created, and what it did.
type versionRestore struct {
	e    *rewritePolicy
	ctx  context.Context
	arn  string
	live []versionImage
	ours map[string]bool
	done []string
}

// has is the index of version id among the live ones, or -1.
func (r *versionRestore) has(id string) int {
	return slices.IndexFunc(r.live, func(v versionImage) bool { return v.ID == id })
}

// spareVersions returns the live versions the pre-image lacks and marks
// those iamprune created as ours.
func (r *versionRestore) spareVersions(st rewriteState, created string) []versionImage {
	inPre := func(id string) bool {
		return slices.ContainsFunc(st.Versions, func(v versionImage) bool { return v.ID == id })
	}
	var spare []versionImage
	for _, v := range r.live {
		if inPre(v.ID) {
			continue
		}
		spare = append(spare, v)
		if v.ID == created || (created == "" && canonical(v.Document) == canonical(st.NewDocument)) {
			r.ours[v.ID] = true
		}
	}
	return spare
}

func (r *versionRestore) setDefault(id string) error {
	if _, err := r.e.iam.SetDefaultPolicyVersion(r.ctx, &iam.SetDefaultPolicyVersionInput{PolicyArn: aws.String(r.arn), VersionId: aws.String(id)}); err != nil {
		return fmt.Errorf("cannot make version %s the default of policy %s: %w", id, r.arn, err)
	}
	for i := range r.live {
		r.live[i].IsDefault = r.live[i].ID == id
	}
	r.done = append(r.done, fmt.Sprintf("made %s the default version of %s again", id, r.arn))
	return nil
}

// deleteOurs deletes the non-default versions iamprune created.
func (r *versionRestore) deleteOurs() error {
	for _, v := range slices.Clone(r.live) {
		if !r.ours[v.ID] || v.IsDefault {
			continue
		}
		if _, err := r.e.iam.DeletePolicyVersion(r.ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(r.arn), VersionId: aws.String(v.ID)}); err != nil && !isNoSuchEntity(err) {
			return fmt.Errorf("cannot delete version %s of policy %s: %w", v.ID, r.arn, err)
		}
		r.live = slices.Delete(r.live, r.has(v.ID), r.has(v.ID)+1)
		r.done = append(r.done, fmt.Sprintf("deleted version %s of %s, which iamprune created", v.ID, r.arn))
	}
	return nil
}

// reuseSpares takes the versions the pre-image has and IAM no longer does,
// oldest first, and matches each to a spare version of the same document
// if there is one (others' before iamprune's), which then stands for it.
// It returns those that must be re-created.
func (r *versionRestore) reuseSpares(st rewriteState, spare []versionImage) ([]versionImage, error) {
	missing := slices.DeleteFunc(slices.Clone(st.Versions), func(v versionImage) bool { return r.has(v.ID) >= 0 })
	slices.SortFunc(missing, func(a, b versionImage) int { return a.CreateDate.Compare(b.CreateDate) })
	slices.SortStableFunc(spare, func(a, b versionImage) int { return btoi(r.ours[a.ID]) - btoi(r.ours[b.ID]) })
	var recreate []versionImage
	for _, v := range missing {
		j := slices.IndexFunc(spare, func(s versionImage) bool { return canonical(s.Document) == canonical(v.Document) })
		if j < 0 {
			recreate = append(recreate, v)
			continue
		}
		delete(r.ours, spare[j].ID)
		if v.IsDefault && !r.live[r.has(spare[j].ID)].IsDefault {
			if err := r.setDefault(spare[j].ID); err != nil {
				return nil, err
			}
		}
		spare = slices.Delete(spare, j, j+1)
	}
	return recreate, nil
}

// recreate re-creates deleted versions within IAM's limit of five.
func (r *versionRestore) recreate(vs []versionImage) error {
	for _, v := range vs {
		if len(r.live) >= maxPolicyVersions {
			return iamprune.Errorf(iamprune.ECONFLICT, "cannot re-create version %s of policy %s: it has %d versions, IAM's limit", v.ID, r.arn, len(r.live))
		}
		out, err := r.e.iam.CreatePolicyVersion(r.ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(r.arn), PolicyDocument: aws.String(v.Document), SetAsDefault: v.IsDefault})
		if err != nil {
			return fmt.Errorf("cannot re-create version %s of policy %s: %w", v.ID, r.arn, err)
		}
		id := aws.ToString(out.PolicyVersion.VersionId)
		if v.IsDefault {
			for i := range r.live {
				r.live[i].IsDefault = false
			}
		}
		r.live = append(r.live, versionImage{ID: id, Document: v.Document, IsDefault: v.IsDefault})
		r.done = append(r.done, fmt.Sprintf("re-created version %s of %s (created %s) as %s: IAM gives a re-created version a new id",
			v.ID, r.arn, v.CreateDate.UTC().Format("2006-01-02T15:04:05Z"), id))
	}
	return nil
}
