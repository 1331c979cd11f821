package notify

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/iamprune/iamprune"
)

// Audit event names the Sender emits.
const (
	EventNoticeSent   = "notice-sent"
	EventNoticeFailed = "notice-failed"
)

// DefaultRetries is how often a failed send is retried unless configured:
// with DefaultBackoff, a channel has about a minute to come back.
const DefaultRetries = 5

// Sender renders deliveries and sends them to their channels.
type Sender struct {
	// Notifiers are the configured channels by name.
	Notifiers map[string]iamprune.Notifier
	// Log records one NoticeRecord per item key per channel; nil records
	// nothing.
	Log iamprune.NoticeLog
	// Audit, when set, receives one event per delivery and channel.
	Audit func(event string, fields map[string]any)
	// Retries is how many times a failed send is tried again: 0 means
	// DefaultRetries, a negative number never retries.
	Retries int
	// Backoff is the wait before retry attempt (1, 2, ...); DefaultBackoff
	// when nil. A server's Retry-After, when longer, wins (up to
	// MaxRetryAfter).
	Backoff func(attempt int) time.Duration
	// Sleep waits d or until ctx ends, whichever is first, and returns
	// ctx.Err() when cut short; a timer when nil. Tests make it instant.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now stamps the records; time.Now when nil.
	Now func() time.Time
	// TemplatesDir overrides the built-in templates (Render).
	TemplatesDir string
}

// DefaultBackoff is exponential backoff with full jitter: a uniformly
// random wait up to BackoffCeiling(attempt). Jitter keeps the runs of many
// accounts from retrying one endpoint in lockstep.
func DefaultBackoff(attempt int) time.Duration {
	return rand.N(BackoffCeiling(attempt) + 1)
}

// BackoffCeiling doubles from one second, up to 30 seconds.
func BackoffCeiling(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	return min(time.Second<<min(attempt-1, 5), 30*time.Second)
}

// MaxRetryAfter caps how long a server's Retry-After may hold a run.
const MaxRetryAfter = time.Minute

// Report is what sending did, for the run result.
type Report struct {
	Channels []ChannelReport `json:"channels"`
	// LogErrors are notice-log writes that failed: those owners count as
	// not notified.
	LogErrors []string `json:"log_errors,omitempty"`
}

// ChannelReport is the outcome of one delivery on one channel.
type ChannelReport struct {
	Route    string `json:"route"`
	Channel  string `json:"channel"`
	Status   string `json:"status"` // sent or failed (iamprune.NoticeSent, NoticeFailed)
	Error    string `json:"error,omitempty"`
	Attempts int    `json:"attempts"`
	// Items is the number of digest items delivered (or not).
	Items int `json:"items"`
}

// Failed reports whether any delivery failed or a log write did.
func (r Report) Failed() bool {
	if len(r.LogErrors) > 0 {
		return true
	}
	for _, c := range r.Channels {
		if c.Status != iamprune.NoticeSent {
			return true
		}
	}
	return false
}

// Send renders each delivery once and sends it to each of its channels,
// retrying failures that may pass (see Temporary) with backoff. A failure
// on one channel never stops the others. Every item key of a delivery gets
// a sent or failed NoticeRecord per channel, so that a failed notice does
// not count as prior notice and is tried again on the next run.
func (s *Sender) Send(ctx context.Context, deliveries []Delivery, runID string) Report {
	var rep Report
	for _, d := range deliveries {
		if d.Digest.GeneratedAt.IsZero() {
			d.Digest.GeneratedAt = s.now().UTC()
		}
		items, _ := itemCount(d.Digest)
		if len(d.Channels) == 0 {
			rep.Channels = append(rep.Channels, ChannelReport{Route: d.Digest.Route, Status: iamprune.NoticeFailed,
				Error: fmt.Sprintf("notify: route %q has no channel", d.Digest.Route), Items: items})
			s.audit(EventNoticeFailed, runID, d, rep.Channels[len(rep.Channels)-1])
			continue
		}
		msg, renderErr := Render(d.Digest, s.TemplatesDir)
		for _, name := range d.Channels {
			cr := ChannelReport{Route: d.Digest.Route, Channel: name, Items: items}
			var err error
			switch n := s.Notifiers[name]; {
			case renderErr != nil:
				err = renderErr
			case n == nil:
				err = iamprune.Errorf(iamprune.EINVALID, "notify: unknown channel %q", name)
			default:
				m := msg
				m.To = d.To[name]
				cr.Attempts, err = s.sendWithRetry(ctx, n, m)
			}
			cr.Status = iamprune.NoticeSent
			event := EventNoticeSent
			if err != nil {
				cr.Status, cr.Error, event = iamprune.NoticeFailed, err.Error(), EventNoticeFailed
			}
			rep.Channels = append(rep.Channels, cr)
			s.audit(event, runID, d, cr)
			rep.LogErrors = append(rep.LogErrors, s.record(ctx, d, name, cr, runID)...)
		}
	}
	return rep
}

// sendWithRetry sends m, retrying temporary failures; it returns the
// number of attempts and the last error.
func (s *Sender) sendWithRetry(ctx context.Context, n iamprune.Notifier, m iamprune.Message) (int, error) {
	backoff, sleep, retries := s.Backoff, s.Sleep, s.Retries
	if backoff == nil {
		backoff = DefaultBackoff
	}
	if sleep == nil {
		sleep = sleepCtx
	}
	if retries == 0 {
		retries = DefaultRetries
	}
	attempts := 0
	for {
		attempts++
		err := n.Send(ctx, m)
		if err == nil || attempts > retries || !Temporary(err) || ctx.Err() != nil {
			if err != nil && attempts > 1 {
				err = fmt.Errorf("%w (after %d attempts)", err, attempts)
			}
			return attempts, err
		}
		wait := max(backoff(attempts), min(RetryAfter(err), MaxRetryAfter))
		if wait > 0 {
			if sleep(ctx, wait) != nil {
				return attempts, err
			}
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// record writes the delivery's notices for one channel to the log.
func (s *Sender) record(ctx context.Context, d Delivery, channel string, cr ChannelReport, runID string) []string {
	if s.Log == nil {
		return nil
	}
	at := s.now().UTC()
	var errs []string
	for _, nt := range d.Notices {
		rec := iamprune.NoticeRecord{
			Account:     d.Digest.Account,
			ItemKey:     nt.ItemKey,
			ActionID:    nt.ActionID,
			Principal:   nt.Principal,
			Owner:       nt.Owner,
			Route:       d.Digest.Route,
			Channel:     channel,
			Fingerprint: nt.Fingerprint,
			Status:      cr.Status,
			Error:       cr.Error,
			SentAt:      at,
			RunID:       runID,
		}
		if err := s.Log.RecordNotice(ctx, rec); err != nil {
			errs = append(errs, fmt.Sprintf("notify: cannot record notice of %s on channel %q: %v", nt.ItemKey, channel, err))
		}
	}
	return errs
}

func (s *Sender) audit(event, runID string, d Delivery, cr ChannelReport) {
	if s.Audit == nil {
		return
	}
	s.Audit(event, map[string]any{
		"run_id":    runID,
		"account":   d.Digest.Account,
		"route":     cr.Route,
		"channel":   cr.Channel,
		"status":    cr.Status,
		"items":     cr.Items,
		"item_keys": len(d.Notices),
		"attempts":  cr.Attempts,
		"error":     cr.Error,
	})
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
