package apply_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/apply"
	"github.com/iamprune/iamprune/audit"
	"github.com/iamprune/iamprune/mock"
)

const account = "111122223333"

var (
	now      = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	updated  = time.Date(2026, 11, 20, 8, 30, 0, 0, time.UTC)
	lastUsed = time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
)

// world is a fake IAM account shared by one mock executor per remediation
// kind: each action's change is either in place or not. It is keyed by
// action id, since a role can be both quarantined and denied services.
type world struct {
	mu       sync.Mutex
	changed  map[string]bool
	lastUsed map[string]*time.Time
	skip     map[string]string
	applyErr map[string]error
	rbErr    map[string]error
	inspErr  map[string]error
	secret   string // returned by the login-profile rollback
	// calls lists every executor call as "method action-id", in order.
	calls []string
	// applies and restores count the changes really made per action:
	// applies, and rollbacks that restored something.
	applies, restores map[string]int
	// seen lists every action an executor was given.
	seen []iamprune.Action
	// block, when set, is waited on inside Apply, after a signal on
	// entered (concurrency tests).
	block, entered chan struct{}
}

func newWorld() *world {
	return &world{
		changed: map[string]bool{}, lastUsed: map[string]*time.Time{}, skip: map[string]string{},
		applyErr: map[string]error{}, rbErr: map[string]error{}, inspErr: map[string]error{},
		applies: map[string]int{}, restores: map[string]int{},
	}
}

func (w *world) executors() map[iamprune.ActionKind]iamprune.Executor {
	m := map[iamprune.ActionKind]iamprune.Executor{}
	for _, k := range []iamprune.ActionKind{iamprune.KindDeactivateAccessKey, iamprune.KindDeleteAccessKey,
		iamprune.KindDeleteLoginProfile, iamprune.KindQuarantineRole, iamprune.KindDenyUnusedServices, iamprune.KindRewritePolicy} {
		m[k] = w.executor(k)
	}
	return m
}

func (w *world) executor(kind iamprune.ActionKind) *mock.Executor {
	return &mock.Executor{
		KindFn: func() iamprune.ActionKind { return kind },
		InspectFn: func(ctx context.Context, a iamprune.Action) (iamprune.Inspection, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.calls = append(w.calls, "inspect "+a.ID)
			w.seen = append(w.seen, a)
			if err := w.inspErr[a.ID]; err != nil {
				return iamprune.Inspection{}, err
			}
			pre, _ := json.Marshal(map[string]any{"target": a.Target, "changed": w.changed[a.ID]})
			return iamprune.Inspection{PreImage: pre, AlreadyDone: w.changed[a.ID], Skip: w.skip[a.ID], LastUsed: w.lastUsed[a.ID]}, nil
		},
		ApplyFn: func(ctx context.Context, a iamprune.Action, pre iamprune.Inspection) (json.RawMessage, error) {
			w.mu.Lock()
			w.calls = append(w.calls, "apply "+a.ID)
			w.seen = append(w.seen, a)
			block, entered := w.block, w.entered
			w.mu.Unlock()
			if block != nil {
				select {
				case entered <- struct{}{}:
				default:
				}
				<-block
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			if err := w.applyErr[a.ID]; err != nil {
				return nil, err
			}
			w.changed[a.ID] = true
			w.applies[a.ID]++
			return json.RawMessage(fmt.Sprintf(`{"made":%q,"services":%q}`, a.Target, strings.Join(a.Services, ","))), nil
		},
		RollbackFn: func(ctx context.Context, rec iamprune.ActionRecord) (iamprune.RollbackOutcome, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.calls = append(w.calls, "rollback "+rec.ActionID)
			if err := w.rbErr[rec.ActionID]; err != nil {
				return iamprune.RollbackOutcome{}, err
			}
			if !w.changed[rec.ActionID] {
				return iamprune.RollbackOutcome{AlreadyDone: true, Detail: rec.ActionID + " already restored"}, nil
			}
			w.changed[rec.ActionID] = false
			w.restores[rec.ActionID]++
			out := iamprune.RollbackOutcome{Detail: rec.ActionID + " restored"}
			if rec.Kind == iamprune.KindDeleteLoginProfile && w.secret != "" {
				out.Secret = w.secret
				// A careless executor echoing the secret: apply must redact it.
				out.Detail = "login profile recreated with password " + w.secret
			}
			return out, nil
		},
	}
}

func (w *world) count(prefix string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, c := range w.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func (w *world) set(id string, changed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.changed[id] = changed
}

// env is one test's account: the world, a store, the findings as Access
// Analyzer has them now, and apply options wired to all of them.
type env struct {
	t            *testing.T
	w            *world
	store        *mock.Store
	log          *syncBuffer
	mu           sync.Mutex
	findings     map[string]*iamprune.Finding
	findingReads map[string]int
	opts         apply.Options
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, w: newWorld(), store: &mock.Store{}, log: &syncBuffer{}, findings: map[string]*iamprune.Finding{}, findingReads: map[string]int{}}
	for _, a := range basePlan().Actions {
		if a.Kind.IsRemediation() {
			e.findings[a.FindingID] = &iamprune.Finding{ID: a.FindingID, Type: a.FindingType, Status: iamprune.StatusActive,
				Resource: a.Principal, Account: account, UpdatedAt: updated}
		}
	}
	e.opts = apply.Options{
		Store:     e.store,
		Executors: e.w.executors(),
		Findings: &mock.FindingGetter{FindingFn: func(ctx context.Context, id string) (*iamprune.Finding, error) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.findingReads[id]++
			f, ok := e.findings[id]
			if !ok {
				return nil, iamprune.Errorf(iamprune.ENOTFOUND, "finding %s not found", id)
			}
			c := *f
			return &c, nil
		}},
		Protection: iamprune.Protection{Globs: []string{"arn:aws:iam::*:role/BreakGlass*"}, Caller: "arn:aws:sts::111122223333:assumed-role/iamprune-runner/session"},
		Account:    account,
		MaxActions: 25,
		Now:        func() time.Time { return now },
		Audit:      audit.New(e.log, nil),
		Owner:      iamprune.LockOwner{Host: "test host", PID: 1},
	}
	return e
}

func (e *env) apply(p *iamprune.Plan) *iamprune.RunResult {
	e.t.Helper()
	res, err := apply.Apply(context.Background(), p, e.opts)
	if err != nil {
		e.t.Fatalf("Apply: %v", err)
	}
	return res
}

func (e *env) rollback(runID string, ids ...string) *iamprune.RunResult {
	e.t.Helper()
	res, err := apply.Rollback(context.Background(), runID, ids, e.opts)
	if err != nil {
		e.t.Fatalf("Rollback: %v", err)
	}
	return res
}

// journal returns every record of the account, oldest first.
func (e *env) journal() []iamprune.ActionRecord {
	e.t.Helper()
	recs, err := e.store.FindActions(context.Background(), iamprune.ActionFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	return recs
}

func (e *env) run(id string) *iamprune.Run {
	e.t.Helper()
	r, err := e.store.Run(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) runs() []iamprune.Run {
	e.t.Helper()
	rs, err := e.store.Runs(context.Background(), "", 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return rs
}

// events returns the names of the audit events written so far, checking
// that each line is one JSON object.
func (e *env) events() []string {
	e.t.Helper()
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(e.log.Bytes()))
	for sc.Scan() {
		var ev audit.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			e.t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		names = append(names, ev.Event)
	}
	return names
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.buf.Bytes())
}

// basePlan has one remediation of each kind but delete-access-key, two key
// actions on one finding, and entries apply must ignore.
func basePlan() *iamprune.Plan {
	lu := lastUsed
	up := updated
	basis := func() *iamprune.Basis { return &iamprune.Basis{FindingUpdatedAt: &up, LastUsed: &lu} }
	act := func(id, finding, principal string, t iamprune.FindingType, k iamprune.ActionKind, target string, services ...string) iamprune.Action {
		if services == nil {
			services = []string{}
		}
		return iamprune.Action{ID: id, FindingID: finding, Account: account, Principal: principal, FindingType: t, Kind: k,
			Target: target, Services: services, LastAccessed: &lu, Basis: basis()}
	}
	alice := "arn:aws:iam::111122223333:user/alice"
	bob := "arn:aws:iam::111122223333:user/bob"
	app := "arn:aws:iam::111122223333:role/app"
	return &iamprune.Plan{
		GeneratedAt: now.Add(-time.Hour),
		Account:     account,
		Actions: []iamprune.Action{
			act("a-key1", "f-key", alice, iamprune.UnusedIAMUserAccessKey, iamprune.KindDeactivateAccessKey, "AKIAALICE1"),
			act("a-key2", "f-key", alice, iamprune.UnusedIAMUserAccessKey, iamprune.KindDeactivateAccessKey, "AKIAALICE2"),
			act("n-bob", "f-pw", bob, iamprune.UnusedIAMUserPassword, iamprune.KindNotify, "bob"),
			act("a-pw", "f-pw", bob, iamprune.UnusedIAMUserPassword, iamprune.KindDeleteLoginProfile, "bob"),
			act("a-role", "f-role", app, iamprune.UnusedIAMRole, iamprune.KindQuarantineRole, "app"),
			act("x-app", "f-perm", app, iamprune.UnusedPermission, iamprune.KindExempt, "app", "iam"),
			act("a-deny", "f-perm", app, iamprune.UnusedPermission, iamprune.KindDenyUnusedServices, "app", "ec2", "s3", "sqs"),
		},
	}
}

// remediationIDs are basePlan's remediations in plan order.
var remediationIDs = []string{"a-key1", "a-key2", "a-pw", "a-role", "a-deny"}

func statuses(res *iamprune.RunResult) string {
	var s []string
	for _, r := range res.Results {
		s = append(s, r.ActionID+"="+r.Status)
	}
	return strings.Join(s, " ")
}

func all(status string, ids ...string) string {
	var s []string
	for _, id := range ids {
		s = append(s, id+"="+status)
	}
	return strings.Join(s, " ")
}

func loadPlan(t *testing.T, name string) *iamprune.Plan {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name, "plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p iamprune.Plan
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

func without(p *iamprune.Plan, drop ...string) *iamprune.Plan {
	out := *p
	out.Actions = slices.DeleteFunc(slices.Clone(p.Actions), func(a iamprune.Action) bool { return slices.Contains(drop, a.ID) })
	return &out
}

func result(res *iamprune.RunResult, id string) iamprune.ActionResult {
	for _, r := range res.Results {
		if r.ActionID == id {
			return r
		}
	}
	return iamprune.ActionResult{}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func auditTo(w io.Writer) *audit.Logger { return audit.New(w, nil) }

type findingFunc func(id string) (*iamprune.Finding, error)

func (f findingFunc) Finding(_ context.Context, id string) (*iamprune.Finding, error) { return f(id) }
