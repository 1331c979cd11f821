package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

type webhookRequest struct {
	header http.Header
	body   []byte
}

func webhookServer(t *testing.T, status int) (*httptest.Server, *[]webhookRequest) {
	t.Helper()
	var got []webhookRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, webhookRequest{r.Header.Clone(), b})
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestWebhookSendSigned(t *testing.T) {
	srv, got := webhookServer(t, http.StatusNoContent)
	now := time.Date(2026, 11, 28, 6, 0, 5, 0, time.UTC)
	w := &Webhook{
		Channel: iamprune.Channel{Name: "hook", Type: iamprune.ChannelWebhook, URL: srv.URL, SecretEnv: "HOOK_SECRET"},
		Getenv:  env(map[string]string{"HOOK_SECRET": "s3cr3t"}),
		Now:     func() time.Time { return now },
	}
	m := sampleMessage(t)
	for range 2 { // twice: a retry carries the same delivery id
		if err := w.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	req := (*got)[0]
	want, _ := json.Marshal(m.Digest)
	if !bytes.Equal(req.body, want) {
		t.Errorf("body is not json.Marshal(digest):\n%s\nwant\n%s", req.body, want)
	}
	var back iamprune.Digest
	if err := json.Unmarshal(req.body, &back); err != nil || !reflect.DeepEqual(&back, m.Digest) {
		t.Errorf("body decodes to %+v (%v), want %+v", back, err, *m.Digest)
	}
	for k, v := range map[string]string{"Content-Type": "application/json", HeaderEvent: "digest", "User-Agent": "iamprune"} {
		if g := req.header.Get(k); g != v {
			t.Errorf("%s = %q, want %q", k, g, v)
		}
	}
	id := req.header.Get(HeaderDelivery)
	if !uuidRE.MatchString(id) || (*got)[1].header.Get(HeaderDelivery) != id {
		t.Errorf("delivery ids %q, %q: want one stable UUID-like id", id, (*got)[1].header.Get(HeaderDelivery))
	}
	sig := req.header.Get(HeaderSignature)
	if !strings.HasPrefix(sig, fmt.Sprintf("t=%d,v1=", now.Unix())) {
		t.Errorf("signature header %q", sig)
	}
	if err := VerifySignature("s3cr3t", sig, req.body, now.Add(time.Minute), 0); err != nil {
		t.Errorf("VerifySignature: %v", err)
	}
	if err := VerifySignature("other", sig, req.body, now, time.Minute); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("wrong secret: %v", err)
	}
}

func TestWebhookUnsigned(t *testing.T) {
	srv, got := webhookServer(t, http.StatusOK)
	w := &Webhook{Channel: iamprune.Channel{Name: "hook", URL: srv.URL}}
	if err := w.Send(context.Background(), sampleMessage(t)); err != nil {
		t.Fatal(err)
	}
	if s := (*got)[0].header.Get(HeaderSignature); s != "" {
		t.Errorf("unexpected signature %q without a secret", s)
	}
}

func TestVerifySignature(t *testing.T) {
	body := []byte(`{"account":"111122223333"}`)
	signedAt := time.Unix(1795996800, 0)
	good := Sign("k", signedAt, body)
	other := Sign("old-key", signedAt, body)
	_, goodMAC, _ := strings.Cut(good, ",v1=")
	tests := []struct {
		name   string
		header string
		body   []byte
		now    time.Time
		tol    time.Duration
		want   error
	}{
		{"valid", good, body, signedAt, time.Minute, nil},
		{"valid at the tolerance edge", good, body, signedAt.Add(time.Minute), time.Minute, nil},
		{"valid with default tolerance", good, body, signedAt.Add(4 * time.Minute), 0, nil},
		{"rotation: one of two v1 matches", other + ",v1=" + goodMAC, body, signedAt, time.Minute, nil},
		{"unknown keys ignored", good + ",v0=abc", body, signedAt, time.Minute, nil},
		{"tampered body", good, []byte(`{"account":"999999999999"}`), signedAt, time.Minute, ErrSignatureMismatch},
		{"wrong key", other, body, signedAt, time.Minute, ErrSignatureMismatch},
		{"too old", good, body, signedAt.Add(time.Minute + time.Second), time.Minute, ErrSignatureExpired},
		{"too far in the future", good, body, signedAt.Add(-6 * time.Minute), 0, ErrSignatureExpired},
		{"empty header", "", body, signedAt, time.Minute, ErrSignatureMalformed},
		{"no timestamp", "v1=" + goodMAC, body, signedAt, time.Minute, ErrSignatureMalformed},
		{"no mac", "t=1795996800", body, signedAt, time.Minute, ErrSignatureMalformed},
		{"timestamp twice", good + ",t=1795996800", body, signedAt, time.Minute, ErrSignatureMalformed},
		{"timestamp not a number", "t=yesterday,v1=" + goodMAC, body, signedAt, time.Minute, ErrSignatureMalformed},
		{"mac not hex", "t=1795996800,v1=zz", body, signedAt, time.Minute, ErrSignatureMalformed},
		{"mac too short", "t=1795996800,v1=" + goodMAC[:62], body, signedAt, time.Minute, ErrSignatureMalformed},
		{"no equals sign", "t1795996800", body, signedAt, time.Minute, ErrSignatureMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifySignature("k", tt.header, tt.body, tt.now, tt.tol)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestWebhookErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		ch     iamprune.Channel
		env    map[string]string
		msg    func(iamprune.Message) iamprune.Message
		want   string
		code   string
	}{
		{name: "2xx", status: 202, want: ""},
		{name: "400 is permanent", status: 400, want: "permanent"},
		{name: "401 is permanent", status: 401, want: "permanent"},
		{name: "408 is temporary", status: 408, want: "temporary"},
		{name: "429 is temporary", status: 429, want: "temporary"},
		{name: "500 is temporary", status: 500, want: "temporary"},
		{name: "503 is temporary", status: 503, want: "temporary"},
		{name: "secret env empty", status: 200, ch: iamprune.Channel{SecretEnv: "HOOK_SECRET"}, want: "permanent", code: iamprune.EINVALID},
		{name: "no digest", status: 200, msg: func(m iamprune.Message) iamprune.Message { m.Digest = nil; return m }, want: "permanent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := webhookServer(t, tt.status)
			ch := tt.ch
			ch.Name, ch.URL = "hook", srv.URL
			m := sampleMessage(t)
			if tt.msg != nil {
				m = tt.msg(m)
			}
			err := (&Webhook{Channel: ch, Getenv: env(tt.env)}).Send(context.Background(), m)
			wantErrClass(t, err, tt.want)
			if tt.code != "" && iamprune.ErrorCode(err) != tt.code {
				t.Errorf("code %q, want %q", iamprune.ErrorCode(err), tt.code)
			}
			var se *StatusError
			if tt.status >= 300 && (!errors.As(err, &se) || se.StatusCode != tt.status) {
				t.Errorf("want a StatusError with %d, got %v", tt.status, err)
			}
			if tt.want == "permanent" && tt.code != "" && len(*got) != 0 {
				t.Errorf("sent %d requests despite a config error", len(*got))
			}
		})
	}
}
