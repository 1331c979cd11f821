package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/archive"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/catalog"
	"github.com/iamprune/iamprune/exceptions"
	"github.com/iamprune/iamprune/internal/input"
)

type exceptionsSyncOptions struct {
	exceptions string
	configPath string
	analyzer   string
	publish    string
	now        string
	yes        bool
	output     string
}

func (m *Main) exceptionsSyncCommand() *cobra.Command {
	var o exceptionsSyncOptions
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Publish the exceptions and reconcile the analyzer's archive rules with them",
		Long: `sync makes the outside world match the exceptions file, after a merge:

  archive rules   the analyzer gets one rule set, named iamprune-*, that
                  archives exactly the findings the unexpired exceptions
                  cover. Missing rules are created and changed ones updated,
                  and each is applied to the existing findings
                  (ApplyArchiveRule). Rules of removed or expired exceptions
                  are deleted, and the findings only they had archived are set
                  back to ACTIVE (UpdateFindings), so that remediation sees
                  them again. Rules not named iamprune-* are never touched.
  publish         with --publish s3://bucket/key or a path (default: the
                  config's exceptions when it is an s3:// URL), the file is
                  written there when its content changed, for the runtime to
                  read (with If-None-Match, so an unchanged list is not
                  re-read).

How exceptions become rules:
  - an exact ARN is an eq on resource, plus findingType when the entry is
    limited to finding types;
  - a glob is resolved to the account's users and roles at sync time, so
    run sync again when principals are added;
  - an UnusedPermission entry limited to services cannot be a rule (it would
    archive the whole finding): it is honoured when plan and apply decide,
    and reported in the notes;
  - principals are packed 20 to a rule (the Access Analyzer limit), sorted,
    in rules named by finding types and position; more rules than
    exceptions.max_archive_rules (default 100, counting other rules too) is
    an error.

The file is validated first, with the checks of 'exceptions check' (expired
entries aside: sync removes their rules); a file with problems is not synced
(exit 1).

Without --yes nothing changes: the diff is printed and, on a terminal, you
are asked to type the account id. A second run reports no changes.`,
		Example: `  iamprune exceptions sync --exceptions exceptions.yaml
  iamprune exceptions sync --config iamprune.yaml --publish s3://security-config/iamprune/exceptions.yaml --yes
  AWS_ENDPOINT_URL=http://127.0.0.1:4566 iamprune exceptions sync --exceptions exceptions.yaml -o json --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return m.runExceptionsSync(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.exceptions, "exceptions", "", "the exceptions file to sync, *.txt or YAML (default: the config's exceptions)")
	f.StringVar(&o.configPath, "config", "", "YAML config: analyzer, exceptions and exceptions.max_archive_rules (default: $IAMPRUNE_CONFIG)")
	f.StringVar(&o.analyzer, "analyzer", "", `analyzer ARN, or "auto" (default: the config's analyzer, else auto)`)
	f.StringVar(&o.publish, "publish", "", "also publish the file to s3://bucket/key or a path (default: the config's exceptions when it is s3://)")
	f.StringVar(&o.now, "now", "", "judge expiry as of this time (RFC 3339 or YYYY-MM-DD) (default: the current time)")
	f.BoolVarP(&o.yes, "yes", "y", false, "make the changes without asking (required when stdin is not a terminal)")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return cmd
}

// syncReport is what sync found and did; -o json prints it.
type syncReport struct {
	Analyzer   string         `json:"analyzer"`
	Exceptions string         `json:"exceptions"`
	Create     []archive.Rule `json:"create"`
	Update     []archive.Rule `json:"update"` // with their new filters
	Delete     []archive.Rule `json:"delete"`
	Unarchive  []string       `json:"unarchive"` // finding ids set back to ACTIVE
	Publish    *publishStatus `json:"publish"`   // null without a target
	Notes      []string       `json:"notes"`
	Foreign    []string       `json:"foreign"` // rules left alone
	Applied    bool           `json:"applied"`

	existing map[string]archive.Rule // by name, to show what an update changes
	released []archive.Finding
	kept     int // iamprune rules that stay as they are
}

// publishStatus compares the file with its published copy.
type publishStatus struct {
	Target  string `json:"target"`
	Changed bool   `json:"changed"`
	ETag    string `json:"etag,omitempty"` // S3 only: the object's, after publishing if it did
	MD5     string `json:"md5"`            // of the file

	body        []byte
	contentType string
	objects     *awsapi.S3Object // nil for a path
	bucket, key string
}

func (r *syncReport) changes() int {
	n := len(r.Create) + len(r.Update) + len(r.Delete) + len(r.Unarchive)
	if r.Publish != nil && r.Publish.Changed {
		n++
	}
	return n
}

func (m *Main) runExceptionsSync(ctx context.Context, o exceptionsSyncOptions) error {
	if o.output != "text" && o.output != "json" {
		return usagef("--output: %q is not text or json", o.output)
	}
	now, err := parseNow(o.now, m.Now)
	if err != nil {
		return err
	}
	cfg, path, err := m.exceptionsConfig(ctx, o.configPath)
	if err != nil {
		return err
	}
	if o.exceptions != "" {
		path = o.exceptions
	}
	if path == "" {
		return usagef("no exceptions file: give --exceptions FILE, or --config with a local exceptions file")
	}
	if strings.HasPrefix(path, "s3://") {
		return usagef("--exceptions: sync reads the file in the repository, not %s; publish it there with --publish", path)
	}
	target := o.publish
	if target == "" && strings.HasPrefix(cfg.Exceptions, "s3://") {
		target = cfg.Exceptions
	}
	if target != "" && isTXT(target) != isTXT(path) {
		return usagef("--publish: %s would be read as %s, but %s is %s", target, formatOf(target), path, formatOf(path))
	}
	excs, err := m.validExceptions(path, cfg, now)
	if err != nil {
		return err
	}

	sess, err := m.awsSession(ctx, firstNonEmpty(o.analyzer, cfg.Analyzer))
	if err != nil {
		return err
	}
	analyzerARN, err := sess.Findings.AnalyzerARN(ctx)
	if err != nil {
		return err
	}
	facts, err := sess.Facts.Facts(ctx, nil)
	if err != nil {
		return err
	}
	principals := make([]string, 0, len(facts.Principals))
	for arn := range facts.Principals {
		principals = append(principals, arn)
	}
	desired, notes, err := archive.Desired(excs, principals, now, cfg.ExceptionPolicy.MaxArchiveRules)
	if err != nil {
		return err
	}

	rules := awsapi.NewArchiveRules(sess.AWS, awsapi.AnalyzerRegion(analyzerARN))
	name := awsapi.AnalyzerName(analyzerARN)
	existing, err := rules.List(ctx, name)
	if err != nil {
		return err
	}
	ch := archive.Diff(existing, desired)
	// The quota counts every rule of the analyzer, not only iamprune's.
	if quota := cfg.ExceptionPolicy.MaxArchiveRules; quota > 0 && len(desired)+len(ch.Foreign) > quota {
		return iamprune.Errorf(iamprune.EINVALID,
			"archive: %d iamprune rules and %d other rules exceed the analyzer's quota of %d archive rules (exceptions.max_archive_rules)",
			len(desired), len(ch.Foreign), quota)
	}
	rep := &syncReport{
		Analyzer: analyzerARN, Exceptions: path,
		Create: nonNil(ch.Create), Update: nonNil(ch.Update), Delete: nonNil(ch.Delete),
		Unarchive: []string{}, Notes: nonNil(notes), Foreign: []string{},
		existing: map[string]archive.Rule{},
		kept:     len(desired) - len(ch.Create) - len(ch.Update),
	}
	for _, r := range ch.Foreign {
		rep.Foreign = append(rep.Foreign, r.Name)
	}
	for _, r := range existing {
		rep.existing[r.Name] = r
	}
	// Only a rule going away or narrowing can leave archived findings that
	// nothing covers any more.
	if len(ch.Delete)+len(ch.Update) > 0 {
		archived, err := rules.ArchivedFindings(ctx, analyzerARN)
		if err != nil {
			return err
		}
		rep.released = archive.Released(existing, desired, archived)
		for _, f := range rep.released {
			rep.Unarchive = append(rep.Unarchive, f.ID)
		}
	}
	if target != "" {
		if rep.Publish, err = publishStatusOf(ctx, sess, path, target); err != nil {
			return err
		}
	}

	if rep.changes() == 0 {
		return m.writeSyncEnd(rep, o)
	}
	if !o.yes && (o.output == "json" || !m.StdinIsTerminal) {
		const dry = "nothing changed; pass --yes to make these changes"
		if o.output == "json" {
			fmt.Fprintln(m.Stderr, dry)
			return writeExceptionsJSON(m.Stdout, rep)
		}
		writeSyncText(m.Stdout, rep)
		_, err := fmt.Fprintln(m.Stdout, "\n"+dry)
		return err
	}
	if o.output == "text" {
		writeSyncText(m.Stdout, rep)
	}
	if !o.yes {
		_, acct, err := sess.Facts.Caller(ctx)
		if err != nil {
			return err
		}
		if err := m.confirm(false, acct, fmt.Sprintf("make %s in account %s", countOf(rep.changes(), "change"), acct)); err != nil {
			return err
		}
	}
	if err := applySync(ctx, rules, name, rep); err != nil {
		return err
	}
	rep.Applied = true
	return m.writeSyncEnd(rep, o)
}

// validExceptions parses the file and applies the checks of "exceptions
// check" to its unexpired entries; any problem refuses the sync (exit 1).
// Expired entries are not refused: removing their rules is sync's job, and
// refusing them would keep their findings archived.
func (m *Main) validExceptions(path string, cfg iamprune.Config, now time.Time) ([]iamprune.Exception, error) {
	excs, probs, err := exceptions.ParseFile(path)
	if err != nil {
		return nil, err
	}
	var active []iamprune.Exception
	for _, e := range excs {
		if !e.Expired(now) {
			active = append(active, e)
		}
	}
	probs = append(probs, exceptions.Check(active, exceptions.CheckOptions{
		Now: now, MaxDays: cfg.ExceptionPolicy.MaxDays, KnownService: catalog.IsService,
	})...)
	if len(probs) == 0 {
		return excs, nil
	}
	for _, p := range probs {
		fmt.Fprintln(m.Stderr, p.String())
	}
	fmt.Fprintf(m.Stderr, "%s in %s: nothing synced; fix the file ('iamprune exceptions check %s') and sync again\n",
		countOf(len(probs), "problem"), path, path)
	return nil, errProblems
}

// writeSyncEnd closes a run that changed nothing or applied its changes.
func (m *Main) writeSyncEnd(rep *syncReport, o exceptionsSyncOptions) error {
	if o.output == "json" {
		return writeExceptionsJSON(m.Stdout, rep)
	}
	if !rep.Applied {
		writeSyncText(m.Stdout, rep)
		_, err := fmt.Fprintln(m.Stdout, "\nno changes: the analyzer and the published list match "+rep.Exceptions)
		return err
	}
	parts := []string{fmt.Sprintf("created %d, updated %d and deleted %d archive rule(s)", len(rep.Create), len(rep.Update), len(rep.Delete))}
	if len(rep.Unarchive) > 0 {
		parts = append(parts, fmt.Sprintf("set %d finding(s) back to ACTIVE", len(rep.Unarchive)))
	}
	if p := rep.Publish; p != nil && p.Changed {
		parts = append(parts, "published "+p.Target)
	}
	_, err := fmt.Fprintf(m.Stdout, "\napplied: %s\n", strings.Join(parts, "; "))
	return err
}

// writeSyncText prints the diff.
func writeSyncText(w io.Writer, rep *syncReport) {
	fmt.Fprintf(w, "%s -> archive rules of %s\n", rep.Exceptions, rep.Analyzer)
	if len(rep.Create)+len(rep.Update)+len(rep.Delete) == 0 {
		fmt.Fprintf(w, "  up to date (%s)\n", countOf(rep.kept, "iamprune rule"))
	}
	for _, r := range rep.Create {
		fmt.Fprintf(w, "  create %s (%s)\n", r.Name, ruleTypes(r))
		writeARNs(w, "+", resources(r), nil)
	}
	for _, r := range rep.Update {
		fmt.Fprintf(w, "  update %s (%s)\n", r.Name, ruleTypes(r))
		old := resources(rep.existing[r.Name])
		writeARNs(w, "+", resources(r), old)
		writeARNs(w, "-", old, resources(r))
	}
	for _, r := range rep.Delete {
		fmt.Fprintf(w, "  delete %s (%s)\n", r.Name, ruleTypes(r))
		writeARNs(w, "-", resources(r), nil)
	}
	if len(rep.released) > 0 {
		fmt.Fprintln(w, "findings to set back to ACTIVE (only deleted or narrowed rules covered them):")
		for _, f := range rep.released {
			fmt.Fprintf(w, "  %s  %s  %s\n", f.ID, f.Type, f.Resource)
		}
	}
	if p := rep.Publish; p != nil {
		state := "up to date"
		if p.Changed {
			state = "changed, to be written"
		}
		fmt.Fprintf(w, "publish %s: %s\n", p.Target, state)
	}
	if len(rep.Notes) > 0 {
		fmt.Fprintln(w, "notes:")
		for _, n := range rep.Notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	if len(rep.Foreign) > 0 {
		fmt.Fprintf(w, "rules that are not iamprune's, left alone: %s\n", strings.Join(rep.Foreign, ", "))
	}
}

// writeARNs prints the ARNs of arns that are not in except.
func writeARNs(w io.Writer, sign string, arns, except []string) {
	for _, a := range arns {
		if !slices.Contains(except, a) {
			fmt.Fprintf(w, "    %s %s\n", sign, a)
		}
	}
}

func resources(r archive.Rule) []string { return r.Filter[archive.KeyResource].Eq }

func ruleTypes(r archive.Rule) string {
	if ts := r.Filter[archive.KeyFindingType].Eq; len(ts) > 0 {
		return strings.Join(ts, ", ")
	}
	return "all finding types"
}

// applySync makes the changes in an order that never exposes a covered
// finding: new and wider rules first, applied so that they archive the
// existing findings, then deletions, then the findings that only deleted or
// narrowed rules covered, and the published list last.
func applySync(ctx context.Context, rules *awsapi.ArchiveRules, analyzerName string, rep *syncReport) error {
	for _, r := range rep.Create {
		if err := rules.Create(ctx, analyzerName, r); err != nil {
			return err
		}
	}
	for _, r := range rep.Update {
		if err := rules.Update(ctx, analyzerName, r); err != nil {
			return err
		}
	}
	for _, r := range slices.Concat(rep.Create, rep.Update) {
		if err := rules.Apply(ctx, rep.Analyzer, r.Name); err != nil {
			return err
		}
	}
	for _, r := range rep.Delete {
		if err := rules.Delete(ctx, analyzerName, r.Name); err != nil {
			return err
		}
	}
	if err := rules.Unarchive(ctx, rep.Analyzer, rep.Unarchive); err != nil {
		return err
	}
	if p := rep.Publish; p != nil && p.Changed {
		return p.write(ctx)
	}
	return nil
}

func isTXT(p string) bool { return strings.EqualFold(filepath.Ext(p), ".txt") }

func formatOf(p string) string {
	if isTXT(p) {
		return "an ARN list (*.txt)"
	}
	return "YAML"
}

// publishStatusOf compares the file with what target holds: on S3 by the
// SHA-256 iamprune records on the object, else by the ETag (the MD5 of a
// single-part, non-KMS object); at a path by content.
func publishStatusOf(ctx context.Context, sess *app.Session, path, target string) (*publishStatus, error) {
	body, err := input.ReadFile(path, input.MaxConfig)
	if err != nil {
		return nil, iamprune.Errorf(iamprune.EINVALID, "exceptions: cannot read %s: %v", path, err)
	}
	md5sum, shasum := md5.Sum(body), sha256.Sum256(body)
	p := &publishStatus{Target: target, MD5: hex.EncodeToString(md5sum[:]), body: body, contentType: "application/yaml"}
	if isTXT(path) {
		p.contentType = "text/plain; charset=utf-8"
	}
	if !strings.HasPrefix(target, "s3://") {
		old, err := input.ReadFile(target, input.MaxConfig)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			p.Changed = true
		case err != nil:
			return nil, iamprune.Errorf(iamprune.EINVALID, "--publish: cannot read %s: %v", target, err)
		default:
			p.Changed = !bytes.Equal(old, body)
		}
		return p, nil
	}
	if p.bucket, p.key, err = awsapi.ParseS3URL(target); err != nil {
		return nil, iamprune.Errorf(iamprune.EINVALID, "--publish: %v", err)
	}
	p.objects = awsapi.NewS3Object(sess.AWS)
	info, exists, err := p.objects.Stat(ctx, p.bucket, p.key)
	if err != nil {
		return nil, err
	}
	p.ETag = info.ETag
	p.Changed = !exists || (info.SHA256 != hex.EncodeToString(shasum[:]) && strings.Trim(info.ETag, `"`) != p.MD5)
	return p, nil
}

// write publishes the file: PutObject, or a new file renamed over the
// target so that a reader never sees half a list.
func (p *publishStatus) write(ctx context.Context) error {
	if p.objects != nil {
		etag, err := p.objects.Put(ctx, p.bucket, p.key, p.body, p.contentType)
		p.ETag = etag
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p.Target), "."+filepath.Base(p.Target)+".*")
	if err != nil {
		return iamprune.Errorf(iamprune.EINVALID, "--publish: cannot write %s: %v", p.Target, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(p.body); err != nil {
		tmp.Close()
		return fmt.Errorf("exceptions: cannot write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("exceptions: cannot write %s: %w", tmp.Name(), err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("exceptions: %w", err)
	}
	if err := os.Rename(tmp.Name(), p.Target); err != nil {
		return fmt.Errorf("exceptions: cannot publish %s: %w", p.Target, err)
	}
	return nil
}
