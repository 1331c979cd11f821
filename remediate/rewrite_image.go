package remediate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/policy"
)

// Names and tags of the policies rewrite-policy creates.
const (
	// RewriteCopyPrefix starts the name of every refined copy:
	// RewriteCopyPrefix+POLICY+"-"+PRINCIPAL, under RewritePolicyPath.
	RewriteCopyPrefix = "iamprune-"
	RewritePolicyPath = "/iamprune/"
	// TagReplaces, on a refined copy, names the policy it replaces.
	TagReplaces = "iamprune:replaces"
)

// namePattern is IAM's pattern for user, role and policy names.
var namePattern = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)

// IAM limits rewrite-policy works within.
const (
	maxPolicyNameLen  = 128
	maxPolicyVersions = 5
	maxTagValueLen    = 256
	maxDescriptionLen = 1000
)

// CopyName is the name of part (1-based) of the refined copy of policy for
// a principal: iamprune-POLICY-PRINCIPAL, then -2, -3, … for the further
// parts of a split. A name over IAM's 128 characters is cut and ends with 8
// hex digits of the full name's SHA-256, so that it stays deterministic and
// two long names cut alike still differ.
func CopyName(policy, principal string, part int) string {
	full := RewriteCopyPrefix + policy + "-" + principal
	suffix := ""
	if part > 1 {
		suffix = "-" + strconv.Itoa(part)
	}
	if len(full)+len(suffix) <= maxPolicyNameLen {
		return full + suffix
	}
	sum := sha256.Sum256([]byte(full))
	return full[:maxPolicyNameLen-len(suffix)-9] + "-" + hex.EncodeToString(sum[:4]) + suffix
}

// rewriteImage is rewrite-policy's pre-image: the principal's attachments
// and, per policy change, everything needed to put it back exactly.
type rewriteImage struct {
	Kind     string         `json:"principal_kind"`
	Name     string         `json:"principal_name"`
	Attached []string       `json:"attached"`
	Policies []rewriteState `json:"policies"`
}

// rewriteState is one policy as Inspect found it.
type rewriteState struct {
	Policy string                 `json:"policy"` // inline name or managed ARN
	Method iamprune.RewriteMethod `json:"method"`
	// Done: already in the planned state; nothing to apply or undo.
	Done bool `json:"done"`
	// Present: the inline policy exists, or the managed policy is attached
	// to the principal.
	Present bool `json:"present"`
	// Document is the inline document, or the managed default version's.
	Document string `json:"document,omitempty"`
	// Written is whether Document already equals After[0].
	Written bool `json:"written,omitempty"`
	// Managed policies: the default version and, for new-version, every
	// version, so that a deleted one can be re-created.
	DefaultVersion  string         `json:"default_version,omitempty"`
	AttachmentCount int            `json:"attachment_count,omitempty"`
	Versions        []versionImage `json:"versions,omitempty"`
	// NewDocument is After[0] for new-version: it tells the version
	// iamprune created when the post-image was never journaled.
	NewDocument string `json:"new_document,omitempty"`
	// Copies are the customer-managed policies this change writes: the
	// refined copy (replace-copy) and the further parts of a split.
	Copies []copyImage `json:"copies,omitempty"`
}

type versionImage struct {
	ID         string    `json:"id"`
	Document   string    `json:"document"`
	CreateDate time.Time `json:"create_date"`
	IsDefault  bool      `json:"is_default"`
}

// copyImage is one policy iamprune writes, with what Apply must write and
// what was there at inspection.
type copyImage struct {
	Name     string `json:"name"`
	ARN      string `json:"arn"`
	Document string `json:"document"` // the After part it holds
	Existed  bool   `json:"existed"`  // already there (an earlier, interrupted run)
	Attached bool   `json:"attached"` // already attached to the principal
}

// ok reports whether the copy is in place.
func (c copyImage) ok() bool { return c.Existed && c.Attached }

// rewritePost is what Apply did, per policy.
type rewritePost struct {
	Policies []rewriteDone `json:"policies"`
}

type rewriteDone struct {
	Policy string `json:"policy"`
	// CreatedVersion is the version new-version created, and
	// DeletedVersion the one it deleted to stay within five.
	CreatedVersion string        `json:"created_version,omitempty"`
	DeletedVersion *versionImage `json:"deleted_version,omitempty"`
	// CreatedCopies are the ARNs of the policies created.
	CreatedCopies []string `json:"created_copies,omitempty"`
	Attached      []string `json:"attached,omitempty"`
	Detached      string   `json:"detached,omitempty"`
	Wrote         bool     `json:"wrote_inline,omitempty"`
	DeletedInline bool     `json:"deleted_inline,omitempty"`
}

// change is a validated PolicyChange.
type change struct {
	iamprune.PolicyChange
	arn    string   // managed policies
	name   string   // the policy's name
	before string   // canonical Before
	after  []string // the After documents, compact JSON
	canon  []string // canonical After
	copies []copyImage
}

// docText reads a plan document: compact JSON, or a JSON string holding
// JSON or URL-encoded JSON (as IAM returns documents).
func docText(raw json.RawMessage) (string, error) {
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] == '"' {
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return "", err
		}
		return policy.DecodePolicyString(s)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, t); err != nil {
		return "", err
	}
	return policy.DecodePolicyString(buf.String())
}

// canonical is a document in a form where semantically equal JSON is equal
// text: object keys sorted, no whitespace, numbers as written. It is used
// only to compare; documents are always written as the plan or IAM had
// them.
func canonical(doc string) string {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "invalid:" + compact(doc)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "invalid:" + compact(doc)
	}
	return string(b)
}

// changes validates the action's policy changes against p and resolves
// their ARNs and the names of the policies they create.
func (e *rewritePolicy) changes(a iamprune.Action, p principal) ([]change, error) {
	if a.Target != "" && a.Target != p.Name {
		return nil, iamprune.Errorf(iamprune.EINVALID, "action %s: target %q is not the principal's name %q", a.ID, a.Target, p.Name)
	}
	if len(a.Policies) == 0 {
		return nil, iamprune.Errorf(iamprune.EINVALID, "action %s: policies is empty; there is nothing to rewrite", a.ID)
	}
	part := e.opts.partition(p)
	seen := map[string]bool{}
	copies := map[string]string{} // copy name -> the policy it serves
	out := make([]change, 0, len(a.Policies))
	for i, pc := range a.Policies {
		bad := func(format string, args ...any) error {
			return iamprune.Errorf(iamprune.EINVALID, "action %s: policies[%d]: "+format, append([]any{a.ID, i}, args...)...)
		}
		if err := checkMethod(pc, bad); err != nil {
			return nil, err
		}
		c, err := resolveChange(pc, part, p.Account, bad)
		if err != nil {
			return nil, err
		}
		key := c.arn
		if c.arn == "" {
			key = string(pc.Type) + " " + c.name
		}
		if seen[key] {
			return nil, bad("policy %s is listed twice", pc.Policy)
		}
		seen[key] = true
		if err := c.readDocuments(bad); err != nil {
			return nil, err
		}
		if err := c.nameCopies(p, part, copies, bad); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// badFunc builds the EINVALID error of one policy change.
type badFunc func(format string, args ...any) error

// isInline reports whether a method rewrites an inline policy.
func isInline(m iamprune.RewriteMethod) bool {
	return m == iamprune.MethodPutInline || m == iamprune.MethodDeleteInline
}

// checkMethod checks that the method is known, fits the policy's type, and
// has refined documents exactly when it writes one.
func checkMethod(pc iamprune.PolicyChange, bad badFunc) error {
	inline := isInline(pc.Method)
	switch pc.Method {
	case iamprune.MethodPutInline, iamprune.MethodDeleteInline, iamprune.MethodNewVersion, iamprune.MethodReplaceCopy, iamprune.MethodDetach:
	default:
		return bad("method %q is not one of put-inline, delete-inline, new-version, replace-copy, detach", pc.Method)
	}
	switch {
	case inline && pc.Type != iamprune.PolicyInline:
		return bad("method %s needs an inline policy, got type %q", pc.Method, pc.Type)
	case pc.Method == iamprune.MethodNewVersion && pc.Type != iamprune.PolicyManaged:
		return bad("method new-version needs a customer-managed policy, got type %q", pc.Type)
	case !inline && pc.Type != iamprune.PolicyManaged && pc.Type != iamprune.PolicyAWSManaged:
		return bad("method %s needs a managed policy, got type %q", pc.Method, pc.Type)
	}
	needAfter := pc.Method == iamprune.MethodPutInline || pc.Method == iamprune.MethodNewVersion || pc.Method == iamprune.MethodReplaceCopy
	if needAfter && len(pc.After) == 0 {
		return bad("method %s needs the refined document in after", pc.Method)
	}
	if !needAfter && len(pc.After) > 0 {
		return bad("method %s removes the policy, but after holds %d documents", pc.Method, len(pc.After))
	}
	return nil
}

// resolveChange resolves the policy's name and, for a managed one, its ARN.
func resolveChange(pc iamprune.PolicyChange, partition, account string, bad badFunc) (change, error) {
	c := change{PolicyChange: pc}
	if isInline(pc.Method) {
		if pc.Policy == "" || !namePattern.MatchString(pc.Policy) {
			return c, bad("policy %q is not an inline policy name", pc.Policy)
		}
		c.name = pc.Policy
		return c, nil
	}
	arn, err := policyARN(pc, partition, account)
	if err != nil {
		return c, bad("%v", err)
	}
	c.arn = arn
	c.name = arn[strings.LastIndexByte(arn, '/')+1:]
	return c, nil
}

// readDocuments reads Before and After into their compact and canonical
// forms.
func (c *change) readDocuments(bad badFunc) error {
	before, err := docText(c.Before)
	if err != nil || len(c.Before) == 0 {
		return bad("before is not a policy document: %v", err)
	}
	c.before = canonical(before)
	for j, raw := range c.After {
		doc, err := docText(raw)
		if err != nil {
			return bad("after[%d] is not a policy document: %v", j, err)
		}
		c.after = append(c.after, doc)
		c.canon = append(c.canon, canonical(doc))
	}
	return nil
}

// nameCopies names the policies the change creates; copies maps the copy
// names already taken in this action to the policy they serve.
func (c *change) nameCopies(p principal, partition string, copies map[string]string, bad badFunc) error {
	first := 1 // After[0] replaces the policy in place …
	if c.Method == iamprune.MethodReplaceCopy {
		first = 0 // … or goes into the copy.
	}
	for j := first; j < len(c.after); j++ {
		name := CopyName(c.name, p.Name, j+1)
		// Two policies of one name (an AWS-managed one and a
		// customer-managed one) would share their copies' names: refuse
		// before any write rather than fail half-way.
		if other, dup := copies[name]; dup {
			return bad("its refined copy would be named %s, like the copy of %s; rewrite them in separate runs or rename one", name, other)
		}
		copies[name] = c.Policy
		c.copies = append(c.copies, copyImage{
			Name: name, ARN: "arn:" + partition + ":iam::" + p.Account + ":policy" + RewritePolicyPath + name, Document: c.after[j],
		})
	}
	return nil
}

// policyARN resolves a managed PolicyChange's ARN. An AWS-managed policy
// may be named by its name alone; its ARN then takes the principal's
// partition.
func policyARN(pc iamprune.PolicyChange, partition, account string) (string, error) {
	arn := pc.Policy
	if pc.Type == iamprune.PolicyAWSManaged && !strings.HasPrefix(arn, "arn:") && namePattern.MatchString(arn) {
		arn = "arn:" + partition + ":iam::aws:policy/" + arn
	}
	a, ok := iamprune.ParseARN(arn)
	if !ok || a.Service != "iam" || a.Kind != "policy" {
		return "", fmt.Errorf("policy %q is not a managed policy ARN", pc.Policy)
	}
	if a.Partition != partition {
		return "", fmt.Errorf("policy %s is in partition %s, the principal in %s", arn, a.Partition, partition)
	}
	switch {
	case pc.Type == iamprune.PolicyAWSManaged && a.Account != "aws":
		return "", fmt.Errorf("policy %s is typed aws-managed but is not an AWS managed policy ARN", arn)
	case pc.Type == iamprune.PolicyManaged && a.Account == "aws":
		return "", fmt.Errorf("policy %s is an AWS managed policy, typed managed", arn)
	case pc.Type == iamprune.PolicyManaged && a.Account != account:
		return "", fmt.Errorf("policy %s is in account %s, the principal in %s", arn, a.Account, account)
	}
	return arn, nil
}
