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
	var pre rewriteImage
	if err := readImage(rec, "pre-image", rec.PreImage, &pre); err != nil {
		return iamprune.RollbackOutcome{}, err
	}
	var post *rewritePost
	if len(rec.PostImage) > 0 {
		post = new(rewritePost)
		if err := readImage(rec, "post-image", rec.PostImage, post); err != nil {
			return iamprune.RollbackOutcome{}, err
		}
	}
	p, err := principalOf(actionOf(rec), "")
	if err != nil {
		return iamprune.RollbackOutcome{}, err
	}
	if p.Kind != pre.Kind || p.Name != pre.Name {
		return iamprune.RollbackOutcome{}, iamprune.Errorf(iamprune.EINVALID, "remediate: action %s/%s: pre-image is of %s %s, the record of %s", rec.RunID, rec.ActionID, pre.Kind, pre.Name, rec.Principal)
	}
	ent := entityOf(e.iam, p)
	ok, err := ent.exists(ctx)
	if err != nil {
		return iamprune.RollbackOutcome{}, err
	}
	if !ok {
		return iamprune.RollbackOutcome{}, iamprune.Errorf(iamprune.ENOTFOUND, "remediate: %s %s no longer exists; its policies cannot be restored", p.Kind, p.Name)
	}
	var done []string
	outcome := func(err error) (iamprune.RollbackOutcome, error) {
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
	attached, err := ent.listAttached(ctx)
	if err != nil {
		return outcome(err)
	}
	// First the grants come back …
	for _, st := range pre.Policies {
		if st.Done {
			continue
		}
		var d []string
		switch st.Method {
		case iamprune.MethodPutInline, iamprune.MethodDeleteInline:
			d, err = e.restoreInline(ctx, ent, st)
		case iamprune.MethodNewVersion:
			d, err = e.restoreVersions(ctx, st, createdVersion(post, st.Policy))
		case iamprune.MethodReplaceCopy, iamprune.MethodDetach:
			if st.Present && !slices.Contains(attached, st.Policy) {
				if err = ent.attach(ctx, st.Policy); err == nil {
					d = []string{"re-attached " + st.Policy}
				}
			}
		}
		done = append(done, d...)
		if err != nil {
			return outcome(err)
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
				return outcome(err)
			}
		}
	}
	return outcome(nil)
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
			return nil, iamprune.Errorf(iamprune.ENOTFOUND, "remediate: policy %s no longer exists; its versions cannot be restored", arn)
		}
		return nil, err
	}
	has := func(id string) int { return slices.IndexFunc(live, func(v versionImage) bool { return v.ID == id }) }
	inPre := func(id string) bool {
		return slices.ContainsFunc(st.Versions, func(v versionImage) bool { return v.ID == id })
	}
	ours := map[string]bool{}
	var spare []versionImage // live, not in the pre-image
	for _, v := range live {
		if inPre(v.ID) {
			continue
		}
		spare = append(spare, v)
		if v.ID == created || (created == "" && canonical(v.Document) == canonical(st.NewDocument)) {
			ours[v.ID] = true
		}
	}
	var done []string
	setDefault := func(id string) error {
		if _, err := e.iam.SetDefaultPolicyVersion(ctx, &iam.SetDefaultPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String(id)}); err != nil {
			return fmt.Errorf("remediate: cannot make version %s the default of policy %s: %w", id, arn, err)
		}
		for i := range live {
			live[i].IsDefault = live[i].ID == id
		}
		done = append(done, fmt.Sprintf("made %s the default version of %s again", id, arn))
		return nil
	}
	deleteOurs := func() error {
		for _, v := range slices.Clone(live) {
			if !ours[v.ID] || v.IsDefault {
				continue
			}
			if _, err := e.iam.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String(v.ID)}); err != nil && !isNoSuchEntity(err) {
				return fmt.Errorf("remediate: cannot delete version %s of policy %s: %w", v.ID, arn, err)
			}
			live = slices.Delete(live, has(v.ID), has(v.ID)+1)
			done = append(done, fmt.Sprintf("deleted version %s of %s, which iamprune created", v.ID, arn))
		}
		return nil
	}
	if i := has(st.DefaultVersion); i >= 0 && !live[i].IsDefault {
		if err := setDefault(st.DefaultVersion); err != nil {
			return done, err
		}
	}
	// Versions the pre-image has and IAM no longer does, oldest first,
	// each matched to a spare version of the same document if there is
	// one (others' before iamprune's).
	missing := slices.DeleteFunc(slices.Clone(st.Versions), func(v versionImage) bool { return has(v.ID) >= 0 })
	slices.SortFunc(missing, func(a, b versionImage) int { return a.CreateDate.Compare(b.CreateDate) })
	slices.SortStableFunc(spare, func(a, b versionImage) int { return btoi(ours[a.ID]) - btoi(ours[b.ID]) })
	var recreate []versionImage
	for _, v := range missing {
		j := slices.IndexFunc(spare, func(s versionImage) bool { return canonical(s.Document) == canonical(v.Document) })
		if j < 0 {
			recreate = append(recreate, v)
			continue
		}
		delete(ours, spare[j].ID)
		if v.IsDefault && !live[has(spare[j].ID)].IsDefault {
			if err := setDefault(spare[j].ID); err != nil {
				return done, err
			}
		}
		spare = slices.Delete(spare, j, j+1)
	}
	if err := deleteOurs(); err != nil {
		return done, err
	}
	for _, v := range recreate {
		if len(live) >= maxPolicyVersions {
			return done, iamprune.Errorf(iamprune.ECONFLICT, "remediate: cannot re-create version %s of policy %s: it has %d versions, IAM's limit", v.ID, arn, len(live))
		}
		out, err := e.iam.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(arn), PolicyDocument: aws.String(v.Document), SetAsDefault: v.IsDefault})
		if err != nil {
			return done, fmt.Errorf("remediate: cannot re-create version %s of policy %s: %w", v.ID, arn, err)
		}
		id := aws.ToString(out.PolicyVersion.VersionId)
		if v.IsDefault {
			for i := range live {
				live[i].IsDefault = false
			}
		}
		live = append(live, versionImage{ID: id, Document: v.Document, IsDefault: v.IsDefault})
		done = append(done, fmt.Sprintf("re-created version %s of %s (created %s) as %s: IAM gives a re-created version a new id",
			v.ID, arn, v.CreateDate.UTC().Format("2006-01-02T15:04:05Z"), id))
	}
	// Ours was still the default when the previous default had been
	// deleted too; it no longer is.
	return done, deleteOurs()
}
