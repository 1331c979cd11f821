package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/iamprune/iamprune"
)

// PermanentError marks a send that will fail again if retried: a rejected
// payload, a missing secret, a bad address. The Sender gives up on it at
// once instead of backing off.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// permanent wraps err as a *PermanentError (nil stays nil).
func permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// Temporary reports whether retrying err may succeed: any error except a
// *PermanentError (anywhere in its chain) and a cancelled context, since a
// cancelled run retries nothing. Temporary(nil) is false.
func Temporary(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var p *PermanentError
	return !errors.As(err, &p)
}

// StatusError is a non-2xx answer from an HTTP channel (Slack, webhook).
type StatusError struct {
	Channel    string
	StatusCode int
	// Body is the start of the response body: Slack explains itself there
	// ("invalid_payload", "channel_is_archived").
	Body string
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("notify: channel %q: HTTP %d", e.Channel, e.StatusCode)
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// RetryAfter returns the delay a server asked for (HTTP Retry-After), or 0.
func RetryAfter(err error) time.Duration {
	var s *StatusError
	if errors.As(err, &s) {
		return s.RetryAfter
	}
	return 0
}

// statusError classifies an HTTP answer: 4xx are permanent (the request
// itself is wrong, sending it again changes nothing) except 408 and 429,
// which, like 5xx, are worth retrying.
func statusError(channel string, resp *http.Response, body []byte) error {
	e := &StatusError{
		Channel:    channel,
		StatusCode: resp.StatusCode,
		Body:       strings.TrimSpace(truncateRunes(string(body), 200)),
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After")),
	}
	c := resp.StatusCode
	if c >= 400 && c < 500 && c != http.StatusTooManyRequests && c != http.StatusRequestTimeout {
		return permanent(e)
	}
	if c >= 300 && c < 400 {
		// Redirects are not followed: a POST turned into a GET would
		// "succeed" without delivering anything.
		return permanent(e)
	}
	return e
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// redactURL hides the path and query of a URL in transport errors: an
// incoming-webhook URL is a secret and must not reach logs or the audit
// log. What remains (scheme and host) still says where it failed.
func redactURL(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	redacted := "(invalid URL)"
	if u, perr := url.Parse(ue.URL); perr == nil {
		redacted = u.Scheme + "://" + u.Host + "/…"
	}
	return &url.Error{Op: ue.Op, URL: redacted, Err: ue.Err}
}

// configError is a channel misconfiguration: permanent, and EINVALID so the
// CLI exits 2 and the message names the channel and the field.
func configError(ch iamprune.Channel, format string, args ...any) error {
	e := iamprune.Errorf(iamprune.EINVALID, "notify: channel %q (%s): "+format,
		append([]any{ch.Name, ch.Type}, args...)...)
	return permanent(e)
}

// secretFromEnv reads the variable named by a *_env field. A named but empty
// variable is an error: silently sending unsigned, or unauthenticated, is
// worse than not sending.
func secretFromEnv(ch iamprune.Channel, getenv func(string) string, field, name string) (string, error) {
	if getenv == nil {
		return "", configError(ch, "no environment reader configured")
	}
	v := getenv(name)
	if v == "" {
		return "", configError(ch, "%s names environment variable %s, which is empty or unset", field, name)
	}
	return v, nil
}

// truncateRunes shortens s to at most n runes, ending with "…" when cut.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	return string([]rune(s)[:n-1]) + "…"
}
