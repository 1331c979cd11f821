package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
)

// Webhook posts each digest as JSON to a URL.
//
// # Request
//
// (header values illustrative)
//
//	POST <url>
//	Content-Type: application/json
//	User-Agent: iamprune
//	X-Iamprune-Event: digest
//	X-Iamprune-Delivery: 8f0c6a52-1d2e-8b4f-9a31-5c7d2e0f4b19
//	X-Iamprune-Signature: t=1795996800,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//
// The body is the digest, exactly as encoding/json encodes iamprune.Digest:
//
//	{
//	  "account": "111122223333",
//	  "generated_at": "2026-11-28T00:00:00Z",
//	  "route": "team-a*",
//	  "owner": "team-a",
//	  "principals": [{
//	    "arn": "arn:aws:iam::111122223333:user/alice",
//	    "owner": "team-a",
//	    "items": [{
//	      "action_id": "…", "finding_type": "UnusedIAMUserAccessKey",
//	      "kind": "deactivate-access-key", "target": "AKIA…", "services": [],
//	      "unused_days": 272, "remediate_on": "2026-12-05",
//	      "reason": "access key unused for 272 days (limit 90)",
//	      "notice": "first notice", "exception_yaml": "…",
//	      "done_run_id": "…", "rollback_command": "iamprune rollback …"
//	    }]
//	  }],
//	  "exception_request_url": "https://…",
//	  "errors": ["…"]
//	}
//
// Fields may be added; none is renamed or removed. `owner`,
// `exception_request_url`, `errors`, `exception_yaml`, `done_run_id` and
// `rollback_command` are omitted when empty. A 2xx answer is success; 408,
// 429 and 5xx are retried with backoff; any other answer is permanent.
//
// # Delivery id
//
// X-Iamprune-Delivery is derived from the channel name and the body, so a
// retried delivery carries the same id and receivers can drop duplicates.
//
// # Signature
//
// When the channel's secret_env names a secret, X-Iamprune-Signature is
//
//	t=<unix seconds>,v1=<hex(HMAC-SHA256(secret, "<t>.<body>"))>
//
// signed over the exact body bytes. A receiver recomputes the MAC over its
// raw body (before any JSON decoding), compares in constant time, and
// rejects a timestamp too far from its clock, which bounds replays.
// VerifySignature does all of this. Receivers should accept several v1
// values, so that secrets can be rotated by signing with both for a while.
type Webhook struct {
	Channel iamprune.Channel
	// Getenv reads SecretEnv; os.Getenv in production.
	Getenv func(string) string
	// Client defaults to one with a timeout that follows no redirects.
	Client *http.Client
	// Now stamps the signature; time.Now when nil.
	Now func() time.Time
}

var _ iamprune.Notifier = (*Webhook)(nil)

// Webhook headers.
const (
	HeaderEvent     = "X-Iamprune-Event"
	HeaderDelivery  = "X-Iamprune-Delivery"
	HeaderSignature = "X-Iamprune-Signature"
)

// DefaultSignatureTolerance is the clock skew VerifySignature allows when
// given no tolerance.
const DefaultSignatureTolerance = 5 * time.Minute

// Name returns the channel name.
func (w *Webhook) Name() string { return w.Channel.Name }

// Send posts m.Digest; a message without a digest is a permanent error.
func (w *Webhook) Send(ctx context.Context, m iamprune.Message) error {
	if w.Channel.URL == "" {
		return configError(w.Channel, "url is required")
	}
	if m.Digest == nil {
		return permanent(fmt.Errorf("notify: channel %q: webhook message has no digest", w.Channel.Name))
	}
	secret := ""
	if w.Channel.SecretEnv != "" {
		var err error
		if secret, err = secretFromEnv(w.Channel, w.Getenv, "secret_env", w.Channel.SecretEnv); err != nil {
			return err
		}
	}
	body, err := json.Marshal(m.Digest)
	if err != nil {
		return permanent(fmt.Errorf("notify: channel %q: cannot encode digest: %w", w.Channel.Name, err))
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(HeaderEvent, "digest")
	h.Set(HeaderDelivery, deliveryID(w.Channel.Name, body))
	if secret != "" {
		now := time.Now
		if w.Now != nil {
			now = w.Now
		}
		h.Set(HeaderSignature, Sign(secret, now(), body))
	}
	return post(ctx, w.Client, w.Channel.Name, w.Channel.URL, body, h)
}

// Sign returns the X-Iamprune-Signature value for body at time t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Signature verification failures; VerifySignature wraps one of them.
var (
	ErrSignatureMalformed = errors.New("malformed signature header")
	ErrSignatureExpired   = errors.New("signature timestamp outside tolerance")
	ErrSignatureMismatch  = errors.New("no signature matches")
)

// VerifySignature checks an X-Iamprune-Signature header against the raw
// request body, for receivers. It rejects a malformed header, a timestamp
// more than tolerance away from now (DefaultSignatureTolerance when
// tolerance <= 0), and a header none of whose v1 MACs matches.
func VerifySignature(secret string, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if secret == "" {
		return errors.New("notify: verify signature: empty secret")
	}
	if tolerance <= 0 {
		tolerance = DefaultSignatureTolerance
	}
	ts := ""
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("notify: verify signature: %w: %q has no '='", ErrSignatureMalformed, part)
		}
		switch k {
		case "t":
			if ts != "" {
				return fmt.Errorf("notify: verify signature: %w: t given twice", ErrSignatureMalformed)
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return fmt.Errorf("notify: verify signature: %w: v1 is not a hex SHA-256 MAC", ErrSignatureMalformed)
			}
			sigs = append(sigs, sig)
		}
		// Other keys are future schemes: ignored.
	}
	if ts == "" || len(sigs) == 0 {
		return fmt.Errorf("notify: verify signature: %w: want t=<unix>,v1=<hex>", ErrSignatureMalformed)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("notify: verify signature: %w: t=%q is not unix seconds", ErrSignatureMalformed, ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("notify: verify signature: %w: signed at %s, %s away (tolerance %s)",
			ErrSignatureExpired, time.Unix(sec, 0).UTC().Format(time.RFC3339), d.Abs().Round(time.Second), tolerance)
	}
	want := mac(secret, ts, body)
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			return nil
		}
	}
	return fmt.Errorf("notify: verify signature: %w", ErrSignatureMismatch)
}

// deliveryID formats the first 16 bytes of SHA-256(channel, body) as a
// version-8 (custom) UUID: stable across retries of one delivery.
func deliveryID(channel string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(channel))
	h.Write([]byte{0})
	h.Write(body)
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x80 // version 8
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	x := hex.EncodeToString(b)
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}
