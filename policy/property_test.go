package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/catalog"
)

// The property tests generate policies and usage from a fixed seed and
// check, with the package's own evaluator, that refinement removes exactly
// the unused access and that splitting keeps the meaning.

// propServices are small services, so that each case checks every one of
// their actions quickly.
var propServices = []string{"sqs", "sns", "kms", "sts", "ecr", "logs", "secretsmanager"}

const propCases = 300

// The cases are drawn and refined in order from one seed, then checked in
// parallel: the checks draw nothing, so every case is the same as when
// they ran one by one.
func TestRefineProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(20261128))
	type propCase struct {
		doc, refined   Document
		u              Usage
		days           int
		universe       []string
		splitRefined   int // limits for checkSplit
		splitDoc       int
		narrowsChecked bool
	}
	cases := make([]propCase, propCases)
	for i := range cases {
		g := newGen(rng)
		doc := g.document()
		u := g.usage()
		days := []int{1, 30, 90, 365}[rng.Intn(4)]
		refined, _, err := Refine(doc, u, testNow, days)
		if err != nil {
			t.Fatalf("case%03d: %v\npolicy: %s", i, err, mustMarshal(t, doc))
		}
		cases[i] = propCase{doc: doc, refined: refined, u: u, days: days, universe: g.universe(),
			splitRefined: splitLimit(rng, refined), splitDoc: splitLimit(rng, doc),
			narrowsChecked: i%10 == 0 && len(refined.Statement) > 0}
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("case%03d", i), func(t *testing.T) {
			t.Parallel()
			defer func() {
				if t.Failed() {
					t.Logf("policy:\n%s\nrefined:\n%s", mustMarshal(t, c.doc), mustMarshal(t, c.refined))
				}
			}()
			checkRefinedOver(t, c.doc, c.refined, c.u, c.days, c.universe)
			checkSplit(t, c.refined, c.splitRefined, c.universe)
			checkSplit(t, c.doc, c.splitDoc, c.universe)
			if c.narrowsChecked {
				checkNarrows(t, c.doc, c.refined, c.u)
			}
		})
	}
}

func mustMarshal(t *testing.T, d Document) []byte {
	t.Helper()
	b, err := Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkRefined checks the refinement properties over the whole catalogue
// and the actions the usage data names.
func checkRefined(t *testing.T, before, after Document, u Usage, days int) {
	t.Helper()
	var all []string
	for _, a := range catalog.Match("*") {
		all = append(all, a.String())
	}
	all = append(all, u.extraActions()...)
	for _, su := range u.sortedServices() {
		all = append(all, su.namespace+":FutureAction") // in no catalogue
	}
	checkRefinedOver(t, before, after, u, days, all)
}

// checkRefinedOver checks, for every action in universe:
//   - allowed after refinement ⇒ allowed before (nothing broadened);
//   - used, allowed before and known (catalogue, usage data, or written
//     literally in the policy) ⇒ still allowed;
//   - unused past the threshold ⇒ no longer allowed, by any statement;
//
// and that Deny statements are byte for byte unchanged, and surviving Allow
// statements keep their Sid, principals, resources and Condition bytes.
func checkRefinedOver(t *testing.T, before, after Document, u Usage, days int, universe []string) {
	t.Helper()
	literals := map[string]bool{}
	for _, s := range before.Statement {
		if s.Effect != Allow {
			continue
		}
		for _, a := range s.Action.Values {
			if !IsWildcard(a) {
				literals[strings.ToLower(a)] = true
			}
		}
	}
	for _, a := range universe {
		b, r := Allowed([]Document{before}, a), Allowed([]Document{after}, a)
		unused := u.Unused(a, testNow, days)
		_, inCatalogue := catalog.Lookup(a)
		known := inCatalogue || u.Tracked(a) || literals[strings.ToLower(a)]
		switch {
		case r && !b:
			t.Errorf("%s: allowed after refinement, not before", a)
		case b && !unused && known && !r:
			t.Errorf("%s: used and allowed before, no longer allowed", a)
		case unused && r:
			t.Errorf("%s: unused for %d days, still allowed", a, days)
		}
		if unused {
			for i, s := range after.Statement {
				if s.Effect == Allow && s.MatchesAction(a) {
					t.Errorf("%s: unused, still granted by Statement[%d]", a, i)
				}
			}
		}
		if t.Failed() {
			return
		}
	}
	checkUntouched(t, before, after)
}

// checkUntouched pairs each input statement with its output statement (Allow
// statements may have been dropped) and checks what must not change.
func checkUntouched(t *testing.T, before, after Document) {
	t.Helper()
	j := 0
	for i, s := range before.Statement {
		if s.Effect == Deny {
			if j >= len(after.Statement) {
				t.Fatalf("Statement[%d]: Deny statement missing after refinement", i)
			}
			want, _ := MarshalStatement(s)
			got, _ := MarshalStatement(after.Statement[j])
			if !bytes.Equal(want, got) {
				t.Errorf("Statement[%d]: Deny changed:\n%s\n%s", i, want, got)
			}
			j++
			continue
		}
		if j >= len(after.Statement) || !sameFrame(s, after.Statement[j]) {
			continue // dropped
		}
		j++
	}
	if j != len(after.Statement) {
		t.Errorf("after refinement %d statements, only %d pair with the input", len(after.Statement), j)
	}
}

// sameFrame reports whether an output Allow statement is the refinement of
// an input one: everything but its actions equal, Condition byte for byte.
func sameFrame(in, out Statement) bool {
	return in.Effect == out.Effect && in.Sid == out.Sid && bytes.Equal(in.Condition, out.Condition) &&
		reflect.DeepEqual(in.Resource, out.Resource) && reflect.DeepEqual(in.NotResource, out.NotResource) &&
		reflect.DeepEqual(in.Principal, out.Principal) && reflect.DeepEqual(in.NotPrincipal, out.NotPrincipal)
}

// splitLimit draws a limit for checkSplit that every statement of d can
// meet.
func splitLimit(rng *rand.Rand, d Document) int {
	return minSplitLimit(d) + rng.Intn(Size(d)/2+1)
}

// checkSplit splits d under limit and checks each piece's size and that
// together they mean what d means.
func checkSplit(t *testing.T, d Document, limit int, universe []string) {
	t.Helper()
	pieces, err := Split(d, limit)
	if err != nil {
		t.Fatalf("split at %d: %v", limit, err)
	}
	for i, p := range pieces {
		if n := Size(p); n > limit {
			t.Errorf("piece %d is %d characters, over %d", i, n, limit)
		}
		if len(p.Statement) == 0 {
			t.Errorf("piece %d is empty", i)
		}
	}
	for _, a := range universe {
		if Allowed(pieces, a) != Allowed([]Document{d}, a) {
			t.Errorf("%s: split into %d pieces at %d changes whether it is allowed", a, len(pieces), limit)
			return
		}
	}
}

// minSplitLimit is the smallest limit Split must meet for d: the largest
// statement that cannot be cut, or a cuttable one holding only its longest
// action.
func minSplitLimit(d Document) int {
	m := 0
	for _, s := range d.Statement {
		probe := s.Clone()
		if s.Action.Set() && len(s.Action.Values) >= 2 {
			longest := slices.MaxFunc(s.Action.Values, func(a, b string) int { return len(a) - len(b) })
			probe.Action = List(longest)
		}
		m = max(m, Size(Document{Version: d.Version, ID: d.ID, Statement: []Statement{probe}}))
	}
	return m
}

// gen draws one case: a few services, a policy over them and their usage.
type gen struct {
	rng      *rand.Rand
	services []string
}

func newGen(rng *rand.Rand) *gen {
	g := &gen{rng: rng}
	perm := rng.Perm(len(propServices))
	for _, i := range perm[:2+rng.Intn(3)] {
		g.services = append(g.services, propServices[i])
	}
	slices.Sort(g.services)
	return g
}

func (g *gen) pick(xs []string) string { return xs[g.rng.Intn(len(xs))] }

func (g *gen) action(svc string) catalog.Action {
	as := catalog.Actions(svc)
	return as[g.rng.Intn(len(as))]
}

// pattern draws an Action or NotAction entry.
func (g *gen) pattern() string {
	svc := g.pick(g.services)
	a := g.action(svc)
	switch g.rng.Intn(12) {
	case 0:
		return svc + ":*"
	case 1, 2: // a CamelCase word prefix: "sqs:Get*"
		bs := wordBoundaries(a.Name)
		return svc + ":" + a.Name[:bs[1+g.rng.Intn(len(bs)-1)]] + "*"
	case 3: // a "?" in place of one letter
		n := []byte(a.Name)
		n[g.rng.Intn(len(n))] = '?'
		return svc + ":" + string(n)
	case 4: // odd case, as IAM ignores it
		return strings.ToUpper(svc) + ":" + strings.ToLower(a.Name)
	case 5: // an action no catalogue knows
		return svc + ":FutureAction"
	case 6: // rarely, as these expand across all services: slow
		switch g.rng.Intn(10) {
		case 0:
			return "*"
		case 1:
			return "*:" + a.Name[:wordBoundaries(a.Name)[1]] + "*"
		}
	}
	return a.String()
}

func (g *gen) strings(n int) Strings {
	var vs []string
	for range 1 + g.rng.Intn(n) {
		vs = append(vs, g.pattern())
	}
	if len(vs) == 1 && g.rng.Intn(2) == 0 {
		return One(vs[0])
	}
	return List(vs...)
}

func (g *gen) document() Document {
	d := Document{Version: Version2012, SingleStatement: g.rng.Intn(4) == 0}
	for i := range 1 + g.rng.Intn(5) {
		s := Statement{Effect: Allow, Resource: One("*")}
		if g.rng.Intn(4) == 0 {
			s.Effect = Deny
		}
		if g.rng.Intn(3) == 0 {
			s.Sid = fmt.Sprintf("S%d", i)
		}
		if g.rng.Intn(5) == 0 {
			s.NotAction = g.strings(3)
		} else {
			s.Action = g.strings(6)
		}
		switch g.rng.Intn(6) {
		case 0:
			s.Condition = []byte(`{"StringEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]},"Bool":{"aws:SecureTransport":true}}`)
		case 1:
			s.Resource = List("arn:aws:sqs:us-east-1:111122223333:queue-*", "*")
		case 2:
			s.Resource = Strings{}
			s.NotResource = One("arn:aws:kms:*:111122223333:key/protected")
		}
		d.Statement = append(d.Statement, s)
	}
	return d
}

// usage draws usage for the case's services: some not known at all, some
// at service level only, some with tracked actions; dates recent, old or
// never.
func (g *gen) usage() Usage {
	date := func() *time.Time {
		if g.rng.Intn(4) == 0 {
			return nil
		}
		t := testNow.Add(-time.Duration(g.rng.Intn(500*24)) * time.Hour)
		return &t
	}
	var services []iamprune.ServiceUsage
	for _, svc := range g.services {
		if g.rng.Intn(6) == 0 {
			continue // not known: counts as used
		}
		s := iamprune.ServiceUsage{Namespace: svc, LastAccessed: date()}
		if g.rng.Intn(2) == 0 {
			for _, a := range catalog.Actions(svc) {
				if g.rng.Intn(3) > 0 {
					s.Actions = append(s.Actions, iamprune.ActionUsage{Action: a.Name, LastAccessed: date()})
				}
			}
			if g.rng.Intn(3) == 0 {
				s.Actions = append(s.Actions, iamprune.ActionUsage{Action: svc + ":FutureTracked", LastAccessed: date()})
			}
		}
		services = append(services, s)
	}
	return NewUsage(services)
}

// universe is what a case is checked over: every action of its services,
// actions no catalogue knows, and a few from services outside the case.
func (g *gen) universe() []string {
	var out []string
	for _, svc := range g.services {
		for _, a := range catalog.Actions(svc) {
			out = append(out, a.String())
		}
		out = append(out, svc+":FutureAction", svc+":FutureTracked", svc+":Future")
	}
	return append(out, "iam:CreateUser", "ec2:RunInstances", "s3:GetObject", "unknownsvc:DoThing")
}

// checkNarrows checks that apply's guard accepts what Refine wrote.
func checkNarrows(t *testing.T, before, after Document, u Usage) {
	t.Helper()
	var svcs []string
	for _, su := range u.sortedServices() {
		svcs = append(svcs, su.namespace)
	}
	if err := Narrows(mustMarshal(t, before), []json.RawMessage{mustMarshal(t, after)}, svcs); err != nil {
		t.Errorf("Narrows refused Refine's output: %v", err)
	}
}
