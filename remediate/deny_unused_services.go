package remediate

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iamprune/iamprune"
)

// Names of the policies deny-unused-services writes.
const (
	// DenyPolicyPrefix starts every iamprune deny policy name: inline
	// policies are DenyPolicyPrefix+N, managed ones
	// DenyPolicyPrefix+PRINCIPAL+"-"+N under DenyPolicyPath.
	DenyPolicyPrefix = "iamprune-deny-unused-"
	DenyPolicyPath   = "/iamprune/"
)

// denyUnusedServices denies the services a role or user never uses, with
// explicit Deny statements in iamprune-named policies: inline while the
// principal's inline quota allows, then customer-managed policies.
type denyUnusedServices struct {
	iam  IAMAPI
	opts Options
}

var _ iamprune.Executor = (*denyUnusedServices)(nil)

type policyImage struct {
	Name     string `json:"name,omitempty"`
	ARN      string `json:"arn,omitempty"`
	Document string `json:"document"`
}

type denyImage struct {
	Kind string `json:"principal_kind"`
	Name string `json:"principal_name"`
	// InlineSize is the size of all the principal's inline policies
	// together, and Attached the number of its attached managed policies.
	InlineSize int `json:"inline_size"`
	Attached   int `json:"attached"`
	// Inline and Managed are the iamprune deny policies already there.
	Inline  []policyImage `json:"inline"`
	Managed []policyImage `json:"managed"`
}

type writtenPolicy struct {
	Name     string   `json:"name"`
	ARN      string   `json:"arn,omitempty"`
	Services []string `json:"services"`
}

type denyPost struct {
	Inline  []writtenPolicy `json:"inline"`
	Managed []writtenPolicy `json:"managed"`
}

func (*denyUnusedServices) Kind() iamprune.ActionKind { return iamprune.KindDenyUnusedServices }

func inlineQuota(kind string) int {
	if kind == "user" {
		return UserInlineQuota
	}
	return RoleInlineQuota
}

// isDenyManaged reports whether arn is an iamprune deny policy.
func isDenyManaged(arn string) bool {
	_, res, ok := strings.Cut(arn, ":policy"+DenyPolicyPath)
	return ok && strings.HasPrefix(res, DenyPolicyPrefix) && !strings.Contains(res, "/")
}

func (e *denyUnusedServices) Inspect(ctx context.Context, a iamprune.Action) (iamprune.Inspection, error) {
	p, err := principalOf(a, "")
	if err != nil {
		return iamprune.Inspection{}, err
	}
	want, bad := normServices(a.Services)
	if bad >= 0 {
		return iamprune.Inspection{}, iamprune.Errorf(iamprune.EINVALID, "action %s: services[%d] %q is not a service namespace", a.ID, bad, a.Services[bad])
	}
	if len(want) == 0 {
		return iamprune.Inspection{}, iamprune.Errorf(iamprune.EINVALID, "action %s: services is empty; there is nothing to deny", a.ID)
	}
	ent := entityOf(e.iam, p)
	ok, err := ent.exists(ctx)
	if err != nil {
		return iamprune.Inspection{}, err
	}
	if !ok {
		return iamprune.Inspection{Skip: fmt.Sprintf("%s %s no longer exists", p.Kind, p.Name)}, nil
	}
	img := denyImage{Kind: p.Kind, Name: p.Name, Inline: []policyImage{}, Managed: []policyImage{}}
	names, err := ent.listInline(ctx)
	if err != nil {
		return iamprune.Inspection{}, err
	}
	slices.Sort(names)
	for _, n := range names {
		doc, err := ent.getInline(ctx, n)
		if err != nil {
			return iamprune.Inspection{}, err
		}
		img.InlineSize += PolicySize(doc)
		if strings.HasPrefix(n, DenyPolicyPrefix) {
			img.Inline = append(img.Inline, policyImage{Name: n, Document: doc})
		}
	}
	arns, err := ent.listAttached(ctx)
	if err != nil {
		return iamprune.Inspection{}, err
	}
	img.Attached = len(arns)
	slices.Sort(arns)
	for _, arn := range arns {
		if !isDenyManaged(arn) {
			continue
		}
		doc, _, err := e.managedDoc(ctx, arn)
		if err != nil {
			return iamprune.Inspection{}, err
		}
		img.Managed = append(img.Managed, policyImage{ARN: arn, Document: doc})
	}
	return iamprune.Inspection{PreImage: image(img), AlreadyDone: len(missing(want, img)) == 0}, nil
}

// missing returns the wanted services that the iamprune policies in img do
// not deny yet.
func missing(want []string, img denyImage) []string {
	denied := map[string]bool{}
	for _, p := range slices.Concat(img.Inline, img.Managed) {
		svcs, all := deniedServices(p.Document)
		if all {
			return nil
		}
		for _, s := range svcs {
			denied[s] = true
		}
	}
	var out []string
	for _, s := range want {
		if !denied[s] {
			out = append(out, s)
		}
	}
	return out
}

// managedDoc reads a managed policy's default document; exists is false
// when the policy is gone.
func (e *denyUnusedServices) managedDoc(ctx context.Context, arn string) (doc string, exists bool, err error) {
	pol, err := e.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if isNoSuchEntity(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("cannot read policy %s: %w", arn, err)
	}
	ver, err := e.iam.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: pol.Policy.DefaultVersionId})
	if err != nil {
		return "", false, fmt.Errorf("cannot read the default version of policy %s: %w", arn, err)
	}
	doc, err = decodeDoc(aws.ToString(ver.PolicyVersion.Document), arn, "the account")
	return doc, err == nil, err
}

func (e *denyUnusedServices) Apply(ctx context.Context, a iamprune.Action, pre iamprune.Inspection) (json.RawMessage, error) {
	p, err := principalOf(a, "")
	if err != nil {
		return nil, err
	}
	var img denyImage
	if err := json.Unmarshal(pre.PreImage, &img); err != nil {
		return nil, iamprune.Errorf(iamprune.EINVALID, "action %s: deny pre-image is not valid: %v", a.ID, err)
	}
	want, bad := normServices(a.Services)
	if bad >= 0 {
		return nil, iamprune.Errorf(iamprune.EINVALID, "action %s: services[%d] %q is not a service namespace", a.ID, bad, a.Services[bad])
	}
	todo := missing(want, img)
	lay, err := pack(todo, inlineQuota(p.Kind)-img.InlineSize, ManagedPolicySize)
	if err != nil {
		return nil, err
	}
	if n := img.Attached + len(lay.Managed); len(lay.Managed) > 0 && n > e.opts.maxAttached() {
		return nil, iamprune.Errorf(iamprune.ECONFLICT,
			"cannot deny %d services to %s %s: its inline policies are full and they need %d new managed policies, but it already has %d of the %d managed policies IAM allows attached; nothing was written",
			len(todo), p.Kind, p.Name, len(lay.Managed), img.Attached, e.opts.maxAttached())
	}
	ent := entityOf(e.iam, p)
	log := e.opts.logger()
	steps := newStepper(ctx, e.opts)
	post := denyPost{Inline: []writtenPolicy{}, Managed: []writtenPolicy{}}
	if lay.Inline != nil {
		name := DenyPolicyPrefix + strconv.Itoa(nextNumber(img.Inline, DenyPolicyPrefix))
		err := steps.do(putOp(p), name, nil, func() (any, error) {
			log.Debug("put inline deny policy", "kind", p.Kind, "principal", p.Name, "policy", name, "services", len(lay.Inline))
			return nil, ent.putInline(ctx, name, DenyDocument(lay.Inline))
		})
		if err != nil {
			return image(post), err
		}
		post.Inline = append(post.Inline, writtenPolicy{Name: name, Services: lay.Inline})
	}
	prefix := DenyPolicyPrefix + p.Name + "-"
	n := nextNumber(img.Managed, prefix)
	for _, svcs := range lay.Managed {
		w, next, err := e.createManaged(ctx, steps, p, prefix, n, svcs)
		if err != nil {
			return image(post), err
		}
		n = next
		// Recorded before the attach, so that a rollback also deletes a
		// policy whose attach failed.
		post.Managed = append(post.Managed, w)
		err = steps.do(attachOp(p), w.ARN, nil, func() (any, error) {
			log.Debug("attach managed deny policy", "kind", p.Kind, "principal", p.Name, "policy", w.ARN, "services", len(svcs))
			return nil, ent.attach(ctx, w.ARN)
		})
		if err != nil {
			return image(post), err
		}
	}
	return image(post), nil
}

// The IAM operations of the steps, as journaled.
func putOp(p principal) string {
	if p.Kind == "user" {
		return "PutUserPolicy"
	}
	return "PutRolePolicy"
}

func deleteOp(p principal) string {
	if p.Kind == "user" {
		return "DeleteUserPolicy"
	}
	return "DeleteRolePolicy"
}

func detachOp(p principal) string {
	if p.Kind == "user" {
		return "DetachUserPolicy"
	}
	return "DetachRolePolicy"
}

func attachOp(p principal) string {
	if p.Kind == "user" {
		return "AttachUserPolicy"
	}
	return "AttachRolePolicy"
}

// createdPolicy is the post-image of a CreatePolicy step: the policy made
// or adopted, or Existed when the name was another's and nothing was made.
type createdPolicy struct {
	ARN     string `json:"arn"`
	Existed bool   `json:"existed,omitempty"`
}

// nextNumber returns one more than the highest N of the policies named
// prefix+N (by name, or by the last part of the ARN).
func nextNumber(ps []policyImage, prefix string) int {
	max := 0
	for _, p := range ps {
		name := p.Name
		if p.ARN != "" {
			name = p.ARN[strings.LastIndexByte(p.ARN, '/')+1:]
		}
		if v, err := strconv.Atoi(strings.TrimPrefix(name, prefix)); err == nil && strings.HasPrefix(name, prefix) && v > max {
			max = v
		}
	}
	return max + 1
}

// createManaged creates the deny policy prefix+n, or the next free number:
// the name may be taken by another principal of the same name and kind
// (a user and a role may share a name), or by a policy an interrupted run
// created but never attached, which is adopted when it says the same.
func (e *denyUnusedServices) createManaged(ctx context.Context, steps *stepper, p principal, prefix string, n int, svcs []string) (writtenPolicy, int, error) {
	doc := DenyDocument(svcs)
	for tries := 0; tries < 100; tries, n = tries+1, n+1 {
		name := prefix + strconv.Itoa(n)
		arn := "arn:" + e.opts.partition(p) + ":iam::" + p.Account + ":policy" + DenyPolicyPath + name
		var made createdPolicy
		err := steps.do("CreatePolicy", arn, nil, func() (any, error) {
			e.opts.logger().Debug("CreatePolicy", "policy", name)
			out, err := e.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{
				PolicyName:     aws.String(name),
				Path:           aws.String(DenyPolicyPath),
				PolicyDocument: aws.String(doc),
				Description:    aws.String(fmt.Sprintf("iamprune: denies services unused by %s", p.ARN)),
			})
			if err == nil {
				made.ARN = aws.ToString(out.Policy.Arn)
				return made, nil
			}
			if apiCode(err) != "EntityAlreadyExists" {
				return nil, fmt.Errorf("cannot create policy %s: %w", name, err)
			}
			// The name is taken: by a policy an interrupted run created
			// and never attached (adopted when it says the same), or by
			// another's, which rollback must leave alone.
			made = createdPolicy{ARN: arn, Existed: true}
			pol, err := e.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
			if err != nil || pol.Policy == nil || aws.ToInt32(pol.Policy.AttachmentCount) != 0 {
				return made, nil
			}
			if have, _, err := e.managedDoc(ctx, arn); err == nil && compact(have) == compact(doc) {
				made.Existed = false
			}
			return made, nil
		})
		if err != nil {
			return writtenPolicy{}, n, err
		}
		if !made.Existed {
			return writtenPolicy{Name: name, ARN: made.ARN, Services: svcs}, n + 1, nil
		}
	}
	return writtenPolicy{}, n, fmt.Errorf("cannot find a free name for a deny policy of %s %s (tried up to %s%d)", p.Kind, p.Name, prefix, n)
}

// Rollback deletes the inline policies Apply wrote, restoring any iamprune
// document that was there before, and detaches and deletes the managed
// policies it created. What it wrote is read from its journaled steps,
// else its post-image; without either (an apply that stopped before
// journaling them) it undoes the iamprune policies the pre-image does not
// list. Policies an earlier run wrote are never removed.
func (e *denyUnusedServices) Rollback(ctx context.Context, rec iamprune.ActionRecord) (iamprune.RollbackOutcome, error) {
	pre, post, err := readDenyImages(rec)
	if err != nil {
		return iamprune.RollbackOutcome{}, err
	}
	p, err := principalOf(actionOf(rec), "")
	if err != nil {
		return iamprune.RollbackOutcome{}, err
	}
	ent := entityOf(e.iam, p)
	ok, err := ent.exists(ctx)
	if err != nil {
		return iamprune.RollbackOutcome{}, err
	}
	if !ok {
		return iamprune.RollbackOutcome{}, iamprune.Errorf(iamprune.ENOTFOUND, "%s %s no longer exists; there are no deny policies to remove", p.Kind, p.Name)
	}
	liveInline, err := ent.listInline(ctx)
	if err != nil {
		return iamprune.RollbackOutcome{}, err
	}
	liveAttached, err := ent.listAttached(ctx)
	if err != nil {
		return iamprune.RollbackOutcome{}, err
	}
	inline, managed, err := denyWritten(rec, pre, post, liveInline, liveAttached)
	if err != nil {
		return iamprune.RollbackOutcome{}, err
	}
	var done []string
	fail := func(err error) (iamprune.RollbackOutcome, error) {
		if len(done) > 0 {
			err = fmt.Errorf("%w (already done: %s)", err, strings.Join(done, "; "))
		}
		return iamprune.RollbackOutcome{}, err
	}
	before := map[string]string{}
	for _, pi := range pre.Inline {
		before[pi.Name] = pi.Document
	}
	for _, name := range inline {
		doc, had := before[name]
		d, err := restoreDenyInline(ctx, ent, name, doc, had, slices.Contains(liveInline, name))
		if err != nil {
			return fail(err)
		}
		if d != "" {
			done = append(done, d)
		}
	}
	for _, arn := range managed {
		d, err := e.removeManaged(ctx, ent, arn, slices.Contains(liveAttached, arn))
		done = append(done, d...)
		if err != nil {
			return fail(err)
		}
	}
	if len(done) == 0 {
		return iamprune.RollbackOutcome{AlreadyDone: true, Detail: fmt.Sprintf("%s %s has none of the deny policies this action wrote", p.Kind, p.Name)}, nil
	}
	return iamprune.RollbackOutcome{Detail: fmt.Sprintf("%s %s: %s", p.Kind, p.Name, strings.Join(done, "; "))}, nil
}

// readDenyImages reads the record's pre-image and, when there is one, its
// post-image.
func readDenyImages(rec iamprune.ActionRecord) (denyImage, *denyPost, error) {
	var pre denyImage
	if err := readImage(rec, "pre-image", rec.PreImage, &pre); err != nil {
		return pre, nil, err
	}
	if len(rec.PostImage) == 0 {
		return pre, nil, nil
	}
	post := new(denyPost)
	if err := readImage(rec, "post-image", rec.PostImage, post); err != nil {
		return pre, nil, err
	}
	return pre, post, nil
}

// restoreDenyInline puts back the inline policy the pre-image had (doc),
// or deletes one the action added; it returns what it did, if anything.
func restoreDenyInline(ctx context.Context, ent entity, name, doc string, had, present bool) (string, error) {
	switch {
	case had:
		cur := ""
		if present {
			var err error
			if cur, err = ent.getInline(ctx, name); err != nil {
				return "", err
			}
		}
		if compact(cur) == compact(doc) {
			return "", nil
		}
		if err := ent.putInline(ctx, name, doc); err != nil {
			return "", err
		}
		return "restored inline policy " + name, nil
	case present:
		if err := ent.deleteInline(ctx, name); err != nil && !isNoSuchEntity(err) {
			return "", err
		}
		return "deleted inline policy " + name, nil
	}
	return "", nil
}

// denyWritten returns the inline policy names and managed policy ARNs the
// action may have written: from its steps (a pending step's write may have
// happened), else its post-image, else the live iamprune policies the
// pre-image lacks.
func denyWritten(rec iamprune.ActionRecord, pre denyImage, post *denyPost, liveInline, liveAttached []string) (inline, managed []string, err error) {
	switch {
	case len(rec.Steps) > 0:
		for _, st := range rec.Steps {
			switch st.Op {
			case "PutRolePolicy", "PutUserPolicy":
				inline = append(inline, st.Target)
			case "CreatePolicy":
				var made createdPolicy
				if len(st.Post) > 0 {
					if err := json.Unmarshal(st.Post, &made); err != nil {
						return nil, nil, iamprune.Errorf(iamprune.EINVALID, "action %s/%s: step %d: %v", rec.RunID, rec.ActionID, st.Seq, err)
					}
				}
				if !made.Existed && !slices.Contains(managed, st.Target) {
					managed = append(managed, st.Target)
				}
			case "AttachRolePolicy", "AttachUserPolicy":
				if !slices.Contains(managed, st.Target) {
					managed = append(managed, st.Target)
				}
			}
		}
	case post != nil:
		for _, w := range post.Inline {
			inline = append(inline, w.Name)
		}
		for _, w := range post.Managed {
			managed = append(managed, w.ARN)
		}
	default:
		for _, n := range liveInline {
			if strings.HasPrefix(n, DenyPolicyPrefix) {
				inline = append(inline, n)
			}
		}
		for _, arn := range liveAttached {
			if isDenyManaged(arn) && !slices.ContainsFunc(pre.Managed, func(p policyImage) bool { return p.ARN == arn }) {
				managed = append(managed, arn)
			}
		}
	}
	// A policy the pre-image lists as attached was there before: never
	// removed, whatever the record says.
	managed = slices.DeleteFunc(managed, func(arn string) bool {
		return slices.ContainsFunc(pre.Managed, func(p policyImage) bool { return p.ARN == arn })
	})
	return inline, managed, nil
}

// removeManaged detaches a deny policy the action created and deletes it,
// unless something else has it attached now.
func (e *denyUnusedServices) removeManaged(ctx context.Context, ent entity, arn string, attached bool) ([]string, error) {
	var done []string
	if attached {
		if err := ent.detach(ctx, arn); err != nil && !isNoSuchEntity(err) {
			return done, err
		}
		done = append(done, "detached "+arn)
	}
	pol, err := e.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if isNoSuchEntity(err) {
		return done, nil
	}
	if err != nil {
		return done, fmt.Errorf("cannot read policy %s: %w", arn, err)
	}
	if pol.Policy != nil && (aws.ToInt32(pol.Policy.AttachmentCount) > 0 || aws.ToInt32(pol.Policy.PermissionsBoundaryUsageCount) > 0) {
		return append(done, "left "+arn+" in place: something else has it attached"), nil
	}
	if _, err := e.iam.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(arn)}); err != nil && !isNoSuchEntity(err) {
		return done, fmt.Errorf("cannot delete policy %s: %w", arn, err)
	}
	return append(done, "deleted "+arn), nil
}

// compact drops whitespace, so that documents IAM reformatted compare equal.
func compact(doc string) string {
	return strings.Join(strings.Fields(doc), "")
}
