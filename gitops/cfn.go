package gitops

import (
	"fmt"
	"strings"

	"github.com/iamprune/iamprune"
)

// CloudFormation resource types that hold policies.
const (
	cfnManagedPolicy = "AWS::IAM::ManagedPolicy"
	cfnPolicy        = "AWS::IAM::Policy"
	cfnRole          = "AWS::IAM::Role"
	cfnUser          = "AWS::IAM::User"
	cfnGroup         = "AWS::IAM::Group"
)

// cfnTree abstracts the JSON and YAML trees for locating a policy in a
// template by logical id.
type cfnTree[N any] struct {
	get   func(n N, key string) (N, bool)
	str   func(n N) (string, bool)
	elems func(n N) ([]N, bool)
	keys  func(n N) []string
}

// locate returns the path (keys/indices) of the policy document for chg
// in template root, given a logical id pointer ("" searches by name).
func (t cfnTree[N]) locate(root N, logicalID string, chg iamprune.PolicyChange) ([]string, error) {
	res, ok := t.get(root, "Resources")
	if !ok {
		return nil, fmt.Errorf("not a CloudFormation template: no Resources")
	}
	if logicalID == "" {
		// Search by name: a policy resource by logical id or policy name,
		// or an inline Policies entry of a role, user or group.
		var found [][]string
		for _, id := range t.keys(res) {
			r, _ := t.get(res, id)
			switch typ := t.field(r, "Type"); typ {
			case cfnManagedPolicy, cfnPolicy:
				nameKey := map[string]string{cfnManagedPolicy: "ManagedPolicyName", cfnPolicy: "PolicyName"}[typ]
				if id == chg.Name || t.field(r, "Properties", nameKey) == chg.Name {
					found = append(found, []string{"Resources", id, "Properties", "PolicyDocument"})
				}
			case cfnRole, cfnUser, cfnGroup:
				if chg.Type != iamprune.PolicyInline {
					continue
				}
				list, _ := t.elems(t.must(t.must(r, "Properties"), "Policies"))
				for i, p := range list {
					if t.field(p, "PolicyName") == chg.Name {
						found = append(found, []string{"Resources", id, "Properties", "Policies", fmt.Sprint(i), "PolicyDocument"})
					}
				}
			}
		}
		switch len(found) {
		case 0:
			return nil, fmt.Errorf("no policy named %q in the template (by logical id, ManagedPolicyName, PolicyName or a Policies entry); set a pointer", chg.Name)
		case 1:
			return found[0], nil
		}
		var where []string
		for _, f := range found {
			where = append(where, toPointer(f))
		}
		return nil, fmt.Errorf("policy name %q is ambiguous in the template (%s); set a pointer", chg.Name, strings.Join(where, ", "))
	}
	r, ok := t.get(res, logicalID)
	if !ok {
		return nil, fmt.Errorf("no resource %q in Resources", logicalID)
	}
	switch typ := t.field(r, "Type"); typ {
	case cfnManagedPolicy, cfnPolicy:
		if _, ok := t.get(t.must(r, "Properties"), "PolicyDocument"); !ok {
			return nil, fmt.Errorf("resource %q (%s) has no Properties.PolicyDocument", logicalID, typ)
		}
		return []string{"Resources", logicalID, "Properties", "PolicyDocument"}, nil
	case cfnRole, cfnUser, cfnGroup:
		pols, _ := t.get(t.must(r, "Properties"), "Policies")
		list, _ := t.elems(pols)
		for i, p := range list {
			if name, _ := t.str(t.must(p, "PolicyName")); name == chg.Name {
				if _, ok := t.get(p, "PolicyDocument"); !ok {
					break
				}
				return []string{"Resources", logicalID, "Properties", "Policies", fmt.Sprint(i), "PolicyDocument"}, nil
			}
		}
		return nil, fmt.Errorf("resource %q (%s) has no Properties.Policies entry with PolicyName %q", logicalID, typ, chg.Name)
	default:
		return nil, fmt.Errorf("resource %q is %q, not one of %s, %s, %s, %s", logicalID, typ, cfnManagedPolicy, cfnPolicy, cfnRole, cfnUser)
	}
}

func (t cfnTree[N]) must(n N, key string) N {
	v, _ := t.get(n, key)
	return v
}

func (t cfnTree[N]) field(n N, keys ...string) string {
	for _, k := range keys {
		n = t.must(n, k)
	}
	s, _ := t.str(n)
	return s
}

var jsonTree = cfnTree[*jnode]{
	get: func(n *jnode, key string) (*jnode, bool) {
		v := n.get(key)
		return v, v != nil
	},
	str: func(n *jnode) (string, bool) {
		if n == nil || n.kind != '"' {
			return "", false
		}
		return n.str, true
	},
	elems: func(n *jnode) ([]*jnode, bool) {
		if n == nil || n.kind != '[' {
			return nil, false
		}
		return n.elems, true
	},
	keys: func(n *jnode) []string {
		var out []string
		if n != nil {
			for _, m := range n.members {
				out = append(out, m.key)
			}
		}
		return out
	},
}

// toPointer writes a path as a JSON pointer.
func toPointer(path []string) string {
	var b strings.Builder
	for _, p := range path {
		b.WriteString("/" + strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

// cfnJSONSite locates the policy in a JSON file: a pointer starting with
// "/" is a JSON pointer; otherwise, in a template, a logical id.
func cfnJSONSite(src []byte, form, pointer string, chg iamprune.PolicyChange) (*jsonSite, error) {
	root, err := parseJSONOffsets(src)
	if err != nil {
		return nil, err
	}
	if form == FormCFNJSON && !strings.HasPrefix(pointer, "/") {
		path, err := jsonTree.locate(root, pointer, chg)
		if err != nil {
			return nil, err
		}
		pointer = toPointer(path)
	}
	n, _, err := root.pointer(pointer)
	if err != nil {
		return nil, err
	}
	if n.kind != '{' {
		return nil, fmt.Errorf("pointer %q does not name a JSON object", pointer)
	}
	return &jsonSite{src: src, node: n, cfn: form == FormCFNJSON}, nil
}
