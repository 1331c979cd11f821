package decide

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/policy"
)

// refinePolicies fills a rewrite-policy or propose-policy entry with the
// exact change of every policy of the principal that grants the entry's
// services: each document refined down to what is used, and how it is to be
// written. Only the entry's services count as unused (services still within
// tolerance, exempt or held back for prior notice are kept), judged at
// remediate_after_days, so a rewrite removes exactly what the entry lists.
//
// Group policies are shared with other users and are never changed; an
// entry whose unused services come only from them, or whose policies could
// not be read, becomes a skip that says so.
func (d *decision) refinePolicies(a iamprune.Action, items []item) iamprune.Action {
	if a.Done != nil {
		return a
	}
	ready := map[string]bool{}
	for _, it := range items {
		ready[strings.ToLower(it.service)] = true
	}
	var services []iamprune.ServiceUsage
	for _, s := range d.f.Services {
		if ready[strings.ToLower(s.Namespace)] {
			services = append(services, s)
		}
	}
	r := &refiner{d: d, usage: policy.NewUsage(services)}
	a.Policies = append(a.Policies, r.inlineChanges()...)
	a.Policies = append(a.Policies, r.managedChanges()...)
	if len(d.p.Groups) > 0 {
		r.notes = append(r.notes, "group policies are never changed (groups: "+strings.Join(d.p.Groups, ", ")+")")
	}
	if len(a.Policies) == 0 {
		s := d.skip(a.Target, fmt.Sprintf("%s; no policy of the principal can be refined: %s", a.Reason, strings.Join(append(r.notes, "the unused services are not granted by its own policies"), "; ")))
		s.Services = a.Services
		return s
	}
	var what []string
	for _, c := range a.Policies {
		if a.Kind == iamprune.KindProposePolicy {
			what = append(what, c.Name) // no IAM method: the code changes
		} else {
			what = append(what, fmt.Sprintf("%s (%s)", c.Name, c.Method))
		}
	}
	a.Reason += "; policies: " + strings.Join(what, ", ")
	if len(r.notes) > 0 {
		a.Reason += "; " + strings.Join(r.notes, "; ")
	}
	return a
}

// refiner refines one principal's policies by the usage of the services
// an entry removes, and collects why a policy is left as it is.
type refiner struct {
	d     *decision
	usage policy.Usage
	notes []string
}

// refine parses and refines one document; changed is false when it grants
// nothing to remove or could not be read.
func (r *refiner) refine(doc []byte) (out policy.Document, rep policy.Report, changed bool) {
	parsed, err := policy.Parse(doc)
	if err != nil {
		r.notes = append(r.notes, err.Error())
		return policy.Document{}, policy.Report{}, false
	}
	out, rep, err = policy.Refine(parsed, r.usage, r.d.now, r.d.rule.RemediateAfterDays)
	if err != nil {
		r.notes = append(r.notes, err.Error())
		return policy.Document{}, policy.Report{}, false
	}
	return out, rep, rep.Changed()
}

// inlineChanges are the changes of the principal's inline policies. IAM
// limits the sum of a principal's inline policies; a refined one that no
// longer fits inline is split into managed-size parts (the executor writes
// the first inline and the rest as managed copies).
func (r *refiner) inlineChanges() []iamprune.PolicyChange {
	p := r.d.p
	limit := policy.LimitInlineRole
	if p.Kind == iamprune.KindUser {
		limit = policy.LimitInlineUser
	}
	total := 0 // the inline aggregate after the changes planned so far
	sizes := map[string]int{}
	for _, ip := range p.InlinePolicies {
		if doc, err := policy.Parse(ip.Document); err == nil {
			sizes[ip.Name] = policy.Size(doc)
			total += sizes[ip.Name]
		}
	}
	var out []iamprune.PolicyChange
	for _, ip := range p.InlinePolicies {
		doc, rep, changed := r.refine(ip.Document)
		if !changed {
			continue
		}
		c := iamprune.PolicyChange{Policy: ip.Name, Type: iamprune.PolicyInline, Name: ip.Name, Method: iamprune.MethodPutInline, Before: ip.Document, Evidence: rep.Markdown()}
		// The first part stays inline, so it must fit what the other
		// inline policies leave of the quota; the rest become managed
		// copies of managed size.
		room := limit - (total - sizes[ip.Name])
		var err error
		if c.After, err = inlineAfter(doc, room); err != nil {
			r.notes = append(r.notes, fmt.Sprintf("inline policy %s is left as it is: %v", ip.Name, err))
			continue
		}
		if len(c.After) == 0 {
			c.Method = iamprune.MethodDeleteInline
			total -= sizes[ip.Name]
		} else if first, err := policy.Parse(c.After[0]); err == nil {
			total += policy.Size(first) - sizes[ip.Name]
		}
		out = append(out, c)
	}
	return out
}

// managedChanges are the changes of the managed policies attached to the
// principal.
func (r *refiner) managedChanges() []iamprune.PolicyChange {
	var out []iamprune.PolicyChange
	for _, arn := range r.d.p.AttachedPolicies {
		mp := r.d.in.Facts.ManagedPolicies[arn]
		if mp == nil || mp.Document == nil {
			r.notes = append(r.notes, "managed policy "+arn+" could not be read and is left as it is")
			continue
		}
		doc, rep, changed := r.refine(mp.Document)
		if !changed {
			continue
		}
		c := iamprune.PolicyChange{
			Policy: arn, Type: iamprune.PolicyManaged, Name: mp.Name, Method: iamprune.MethodNewVersion,
			Version: mp.DefaultVersion, AttachmentCount: mp.AttachmentCount, Before: mp.Document, Evidence: rep.Markdown(),
		}
		if mp.AWSManaged {
			c.Type = iamprune.PolicyAWSManaged
		}
		// A new version would change it for every principal it is
		// attached to, or whose boundary it is.
		if c.Type == iamprune.PolicyAWSManaged || mp.AttachmentCount > 1 || mp.BoundaryCount > 0 {
			c.Method = iamprune.MethodReplaceCopy
		}
		var err error
		if c.After, err = after(doc, policy.LimitManaged); err != nil {
			r.notes = append(r.notes, fmt.Sprintf("managed policy %s is left as it is: %v", arn, err))
			continue
		}
		if len(c.After) == 0 {
			c.Method = iamprune.MethodDetach
		}
		out = append(out, c)
	}
	return out
}

// after returns the refined document as the compact JSON parts IAM takes:
// none when nothing remains, several when it exceeds limit.
// inlineAfter is after for an inline policy: its first part fits room,
// the inline quota left to it, and the others a managed policy each.
func inlineAfter(doc policy.Document, room int) ([]json.RawMessage, error) {
	if len(doc.Statement) == 0 || policy.Size(doc) <= room {
		return after(doc, max(room, 0))
	}
	if room <= 0 {
		return nil, fmt.Errorf("its refined grant does not fit: the other inline policies fill the inline quota")
	}
	first, err := policy.Split(doc, min(room, policy.LimitManaged))
	if err != nil {
		return nil, fmt.Errorf("its refined grant does not fit the %d characters left of the inline quota: %w", room, err)
	}
	head, err := after(first[0], room)
	if err != nil {
		return nil, err
	}
	if len(first) == 1 {
		return head, nil
	}
	rest := policy.Document{Version: doc.Version, ID: doc.ID}
	for _, d := range first[1:] {
		rest.Statement = append(rest.Statement, d.Statement...)
	}
	tail, err := after(rest, policy.LimitManaged)
	if err != nil {
		return nil, err
	}
	return append(head, tail...), nil
}

func after(doc policy.Document, limit int) ([]json.RawMessage, error) {
	if len(doc.Statement) == 0 {
		return nil, nil
	}
	parts, err := policy.Split(doc, limit)
	if err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, 0, len(parts))
	for _, p := range parts {
		b, err := policy.Marshal(p)
		if err != nil {
			return nil, err
		}
		var c bytes.Buffer
		if err := json.Compact(&c, b); err != nil {
			return nil, err
		}
		out = append(out, c.Bytes())
	}
	return out, nil
}
