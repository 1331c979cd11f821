package app

import (
	"bytes"
	"cmp"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/archive"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/catalog"
	"github.com/iamprune/iamprune/exceptions"
	"github.com/iamprune/iamprune/internal/input"
	"github.com/iamprune/iamprune/render"
)

// ArchiveRules reads and writes an analyzer's archive rules and the status
// of its findings; awsapi.ArchiveRules implements it. Rule calls take the
// analyzer's name, Apply and the finding calls its ARN, as the API does.
type ArchiveRules interface {
	List(ctx context.Context, analyzerName string) ([]archive.Rule, error)
	Create(ctx context.Context, analyzerName string, r archive.Rule) error
	Update(ctx context.Context, analyzerName string, r archive.Rule) error
	Delete(ctx context.Context, analyzerName, ruleName string) error
	// Apply archives the existing findings a rule matches.
	Apply(ctx context.Context, analyzerARN, ruleName string) error
	ArchivedFindings(ctx context.Context, analyzerARN string) ([]archive.Finding, error)
	// Unarchive sets findings back to ACTIVE.
	Unarchive(ctx context.Context, analyzerARN string, ids []string) error
}

var _ ArchiveRules = (*awsapi.ArchiveRules)(nil)

// Publisher writes the exceptions file where the runtime reads it.
type Publisher interface {
	// Changed compares body with the published copy; etag is the
	// published object's, if it has one.
	Changed(ctx context.Context, body []byte) (changed bool, etag string, err error)
	// Publish writes body, all at once for readers.
	Publish(ctx context.Context, body []byte) (etag string, err error)
}

// SyncRequest is one sync of an exceptions file with an analyzer's
// archive rules and the published copy of the file.
type SyncRequest struct {
	// Path is the exceptions file; Exceptions are its entries, validated
	// (ValidSyncExceptions).
	Path       string
	Exceptions []iamprune.Exception
	Config     iamprune.Config
	Now        time.Time
	// AnalyzerARN is the analyzer whose rules are synced; Principals the
	// ARNs of its account's users and roles, which globs resolve to.
	AnalyzerARN string
	Principals  []string
	Rules       ArchiveRules
	// Publisher publishes the file to Target; nil when there is none.
	Publisher Publisher
	Target    string
}

// Sync is a planned sync: what it changes, and what applying it needs.
type Sync struct {
	Report *render.SyncReport
	// Session is the AWS session NewSync opened, for the caller's consent.
	Session *Session
	req     SyncRequest
	body    []byte
}

// ValidSyncExceptions parses the file and applies the checks of
// 'exceptions check' to its unexpired entries; any problem refuses the
// sync. Expired entries are not refused: removing their rules is sync's
// job, and refusing them would keep their findings archived.
func ValidSyncExceptions(path string, cfg iamprune.Config, now time.Time) ([]iamprune.Exception, []exceptions.Problem, error) {
	excs, probs, err := exceptions.ParseFile(path)
	if err != nil {
		return nil, nil, err
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
	return excs, probs, nil
}

// SyncOptions name what NewSync syncs with what.
type SyncOptions struct {
	Path       string
	Exceptions []iamprune.Exception
	Config     iamprune.Config
	Now        time.Time
	// Analyzer is an analyzer ARN or "auto"; "" uses the config's.
	Analyzer string
	// Target is where the file is published: s3://bucket/key or a path;
	// "" publishes nowhere.
	Target string
}

// NewSync opens an AWS session, reads the analyzer, the account's
// principals and its archive rules, and plans the sync. Nothing changes.
func NewSync(ctx context.Context, load LoadAWS, o SyncOptions) (*Sync, error) {
	sess, err := OpenSession(ctx, load, cmp.Or(o.Analyzer, o.Config.Analyzer))
	if err != nil {
		return nil, err
	}
	analyzerARN, err := sess.Findings.AnalyzerARN(ctx)
	if err != nil {
		return nil, err
	}
	facts, err := sess.Facts.Facts(ctx, nil)
	if err != nil {
		return nil, err
	}
	req := SyncRequest{Path: o.Path, Exceptions: o.Exceptions, Config: o.Config, Now: o.Now, AnalyzerARN: analyzerARN,
		Rules: awsapi.NewArchiveRules(sess.AWS, awsapi.AnalyzerRegion(analyzerARN)), Target: o.Target}
	for arn := range facts.Principals {
		req.Principals = append(req.Principals, arn)
	}
	if o.Target != "" {
		if req.Publisher, err = NewPublisher(sess, o.Target); err != nil {
			return nil, err
		}
	}
	s, err := PlanSync(ctx, req)
	if err != nil {
		return nil, err
	}
	s.Session = sess
	return s, nil
}

// PlanSync compares the rules the exceptions call for with the analyzer's,
// finds the archived findings that only deleted or narrowed rules cover,
// and compares the file with its published copy. Nothing changes. Too
// many rules for the analyzer's quota (counting rules that are not
// iamprune's) is an error.
func PlanSync(ctx context.Context, req SyncRequest) (*Sync, error) {
	quota := req.Config.ExceptionPolicy.MaxArchiveRules
	desired, notes, err := archive.Desired(req.Exceptions, req.Principals, req.Now, quota)
	if err != nil {
		return nil, err
	}
	existing, err := req.Rules.List(ctx, awsapi.AnalyzerName(req.AnalyzerARN))
	if err != nil {
		return nil, err
	}
	ch := archive.Diff(existing, desired)
	if quota > 0 && len(desired)+len(ch.Foreign) > quota {
		return nil, iamprune.Errorf(iamprune.EINVALID,
			"archive: %d iamprune rules and %d other rules exceed the analyzer's quota of %d archive rules (exceptions.max_archive_rules)",
			len(desired), len(ch.Foreign), quota)
	}
	rep := &render.SyncReport{
		Analyzer: req.AnalyzerARN, Exceptions: req.Path,
		Create: nonNil(ch.Create), Update: nonNil(ch.Update), Delete: nonNil(ch.Delete),
		Unarchive: []string{}, Notes: nonNil(notes), Foreign: []string{},
		Existing: map[string]archive.Rule{},
		Kept:     len(desired) - len(ch.Create) - len(ch.Update),
	}
	for _, r := range ch.Foreign {
		rep.Foreign = append(rep.Foreign, r.Name)
	}
	for _, r := range existing {
		rep.Existing[r.Name] = r
	}
	// Only a rule going away or narrowing can leave archived findings that
	// nothing covers any more.
	if len(ch.Delete)+len(ch.Update) > 0 {
		archived, err := req.Rules.ArchivedFindings(ctx, req.AnalyzerARN)
		if err != nil {
			return nil, err
		}
		rep.Released = archive.Released(existing, desired, archived)
		for _, f := range rep.Released {
			rep.Unarchive = append(rep.Unarchive, f.ID)
		}
	}
	s := &Sync{Report: rep, req: req}
	if req.Publisher != nil {
		if err := s.publishStatus(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Sync) publishStatus(ctx context.Context) error {
	body, err := input.ReadFile(s.req.Path, input.MaxConfig)
	if err != nil {
		return iamprune.Errorf(iamprune.EINVALID, "exceptions: cannot read %s: %v", s.req.Path, err)
	}
	sum := md5.Sum(body)
	p := &render.PublishStatus{Target: s.req.Target, MD5: hex.EncodeToString(sum[:])}
	if p.Changed, p.ETag, err = s.req.Publisher.Changed(ctx, body); err != nil {
		return err
	}
	s.body, s.Report.Publish = body, p
	return nil
}

// Apply makes the changes in an order that never exposes a covered
// finding: new and wider rules first, applied so that they archive the
// existing findings, then deletions, then the findings that only deleted
// or narrowed rules covered are set back to ACTIVE, and the published list
// last. The first error stops it.
func (s *Sync) Apply(ctx context.Context) error {
	rep, rules, name := s.Report, s.req.Rules, awsapi.AnalyzerName(s.req.AnalyzerARN)
	for _, r := range rep.Create {
		if err := rules.Create(ctx, name, r); err != nil {
			return err
		}
	}
	for _, r := range rep.Update {
		if err := rules.Update(ctx, name, r); err != nil {
			return err
		}
	}
	for _, r := range slices.Concat(rep.Create, rep.Update) {
		if err := rules.Apply(ctx, rep.Analyzer, r.Name); err != nil {
			return err
		}
	}
	for _, r := range rep.Delete {
		if err := rules.Delete(ctx, name, r.Name); err != nil {
			return err
		}
	}
	if err := rules.Unarchive(ctx, rep.Analyzer, rep.Unarchive); err != nil {
		return err
	}
	if p := rep.Publish; p != nil && p.Changed {
		etag, err := s.req.Publisher.Publish(ctx, s.body)
		p.ETag = etag
		if err != nil {
			return err
		}
	}
	rep.Applied = true
	return nil
}

// NewPublisher returns the publisher of target: an S3 object
// (s3://bucket/key) through sess, else a file.
func NewPublisher(sess *Session, target string) (Publisher, error) {
	if !strings.HasPrefix(target, "s3://") {
		return filePublisher(target), nil
	}
	bucket, key, err := awsapi.ParseS3URL(target)
	if err != nil {
		return nil, iamprune.Errorf(iamprune.EINVALID, "--publish: %v", err)
	}
	ct := "application/yaml"
	if IsTXT(target) {
		ct = "text/plain; charset=utf-8"
	}
	return &s3Publisher{objects: awsapi.NewS3Object(sess.AWS), bucket: bucket, key: key, contentType: ct}, nil
}

// IsTXT reports whether an exceptions file is an ARN list (*.txt) rather
// than YAML.
func IsTXT(p string) bool { return strings.EqualFold(filepath.Ext(p), ".txt") }

// s3Publisher publishes to an S3 object.
type s3Publisher struct {
	objects     *awsapi.S3Object
	bucket, key string
	contentType string
}

// Changed compares by the SHA-256 iamprune records on the object, else by
// the ETag (the MD5 of a single-part, non-KMS object).
func (p *s3Publisher) Changed(ctx context.Context, body []byte) (bool, string, error) {
	info, exists, err := p.objects.Stat(ctx, p.bucket, p.key)
	if err != nil {
		return false, "", err
	}
	md5sum, shasum := md5.Sum(body), sha256.Sum256(body)
	changed := !exists || (info.SHA256 != hex.EncodeToString(shasum[:]) && strings.Trim(info.ETag, `"`) != hex.EncodeToString(md5sum[:]))
	return changed, info.ETag, nil
}

func (p *s3Publisher) Publish(ctx context.Context, body []byte) (string, error) {
	return p.objects.Put(ctx, p.bucket, p.key, body, p.contentType)
}

// filePublisher publishes to a path.
type filePublisher string

func (p filePublisher) Changed(_ context.Context, body []byte) (bool, string, error) {
	old, err := input.ReadFile(string(p), input.MaxConfig)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, "", nil
	case err != nil:
		return false, "", iamprune.Errorf(iamprune.EINVALID, "--publish: cannot read %s: %v", string(p), err)
	}
	return !bytes.Equal(old, body), "", nil
}

// Publish writes a new file and renames it over the target, so that a
// reader never sees half a list.
func (p filePublisher) Publish(_ context.Context, body []byte) (string, error) {
	target := string(p)
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".*")
	if err != nil {
		return "", iamprune.Errorf(iamprune.EINVALID, "--publish: cannot write %s: %v", target, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		return "", fmt.Errorf("exceptions: cannot write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("exceptions: cannot write %s: %w", tmp.Name(), err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", fmt.Errorf("exceptions: %w", err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return "", fmt.Errorf("exceptions: cannot publish %s: %w", target, err)
	}
	return "", nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
