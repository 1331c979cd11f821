package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

var mailNow = time.Date(2026, 11, 28, 6, 0, 0, 0, time.UTC)

// newMailTest starts srv with a self-signed certificate and returns an
// Email channel pointed at it that trusts the certificate.
func newMailTest(t *testing.T, srv *testSMTPServer) *Email {
	t.Helper()
	cert, pool := selfSigned(t)
	srv.tls = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.start(t)
	host, port, _ := net.SplitHostPort(srv.addr)
	p, _ := strconv.Atoi(port)
	return &Email{
		Channel: iamprune.Channel{
			Name: "mail", Type: iamprune.ChannelEmail,
			SMTPHost: host, SMTPPort: p,
			From:        "iamprune <iamprune@example.com>",
			To:          []string{"security@example.com", "Team A <team-a@example.com>"},
			UsernameEnv: "SMTP_USER", PasswordEnv: "SMTP_PASS",
			MailOwners: true,
		},
		Getenv:    env(map[string]string{"SMTP_USER": "mailer", "SMTP_PASS": "pa ss\x01word"}),
		TLSConfig: &tls.Config{RootCAs: pool},
		Now:       func() time.Time { return mailNow },
		Timeout:   10 * time.Second,
	}
}

func TestEmailSend(t *testing.T) {
	srv := &testSMTPServer{starttls: true, auth: "PLAIN LOGIN", user: "mailer", pass: "pa ss\x01word"}
	e := newMailTest(t, srv)
	m := sampleMessage(t)
	m.To = []string{"TEAM-A@example.com", "alice@example.com"} // one duplicate
	if err := e.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	mails := srv.received()
	if len(mails) != 1 {
		t.Fatalf("%d mails received, want 1", len(mails))
	}
	got := mails[0]
	if !got.tls || got.authMech != "PLAIN" || got.authUser != "mailer" || got.authPass != "pa ss\x01word" {
		t.Errorf("session: tls=%v auth %s %q/%q", got.tls, got.authMech, got.authUser, got.authPass)
	}
	if got.helo != "example.com" || got.from != "iamprune@example.com" {
		t.Errorf("EHLO %q, MAIL FROM %q", got.helo, got.from)
	}
	wantRcpt := []string{"security@example.com", "team-a@example.com", "alice@example.com"}
	if !slices.Equal(got.recipients, wantRcpt) {
		t.Errorf("RCPT TO %v, want %v", got.recipients, wantRcpt)
	}
	// Header lines must not exceed 998 bytes (RFC 5322); body lines are
	// quoted-printable, at most 76. The test server turns CRLF into LF.
	limit := 998
	for i, l := range strings.Split(string(got.data), "\n") {
		if l == "" {
			limit = 76
		}
		if len(l) > limit {
			t.Errorf("line %d is %d bytes long: %q", i+1, len(l), l)
		}
	}

	msg, err := mail.ReadMessage(bytes.NewReader(got.data))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	if from, err := mail.ParseAddress(h.Get("From")); err != nil || from.Address != "iamprune@example.com" || from.Name != "iamprune" {
		t.Errorf("From %q: %v", h.Get("From"), err)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 3 || to[1].Name != "Team A" || to[2].Address != "alice@example.com" {
		t.Errorf("To %q: %v", h.Get("To"), err)
	}
	if !strings.HasPrefix(h.Get("Subject"), "=?utf-8?q?") {
		t.Errorf("non-ASCII subject not RFC 2047-encoded: %q", h.Get("Subject"))
	}
	if s, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); err != nil || s != m.Subject {
		t.Errorf("Subject decodes to %q (%v), want %q", s, err, m.Subject)
	}
	if d, err := h.Date(); err != nil || !d.Equal(mailNow) {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	if id := h.Get("Message-ID"); !regexp.MustCompile(`^<[0-9a-f]{32}\.iamprune@example\.com>$`).MatchString(id) {
		t.Errorf("Message-ID %q", id)
	}
	if v := h.Get("MIME-Version"); v != "1.0" {
		t.Errorf("MIME-Version %q", v)
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", h.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	want := []struct{ ctype, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}}
	for i := 0; ; i++ {
		part, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			if i != len(want) {
				t.Errorf("%d parts, want %d", i, len(want))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i >= len(want) {
			t.Fatalf("extra part %v", part.Header)
		}
		ct, cp, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if ct != want[i].ctype || cp["charset"] != "utf-8" {
			t.Errorf("part %d Content-Type %q, want %s; charset=utf-8", i, part.Header.Get("Content-Type"), want[i].ctype)
		}
		b, _ := io.ReadAll(part)
		if got := strings.ReplaceAll(string(b), "\r\n", "\n"); got != want[i].body {
			t.Errorf("part %d body:\n%s\nwant\n%s", i, got, want[i].body)
		}
	}
}

func TestEmailFailures(t *testing.T) {
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close()
	no := false
	tests := []struct {
		name  string
		srv   *testSMTPServer
		setup func(*Email)
		want  string // "", "temporary", "permanent"
		code  string
		check func(t *testing.T, mails []testMail)
	}{
		{
			name: "AUTH LOGIN when PLAIN is not offered",
			srv:  &testSMTPServer{starttls: true, auth: "LOGIN", user: "mailer", pass: "pa ss\x01word"},
			check: func(t *testing.T, mails []testMail) {
				if len(mails) != 1 || mails[0].authMech != "LOGIN" || mails[0].authPass != "pa ss\x01word" {
					t.Errorf("mails %+v", mails)
				}
			},
		},
		{
			name: "STARTTLS required but not offered",
			srv:  &testSMTPServer{auth: "PLAIN", user: "mailer", pass: "pa ss\x01word"},
			want: "permanent",
		},
		{
			name:  "starttls: false for a local relay without auth",
			srv:   &testSMTPServer{},
			setup: func(e *Email) { e.Channel.StartTLS = &no; e.Channel.UsernameEnv, e.Channel.PasswordEnv = "", "" },
			check: func(t *testing.T, mails []testMail) {
				if len(mails) != 1 || mails[0].tls || mails[0].authMech != "" {
					t.Errorf("mails %+v", mails)
				}
			},
		},
		{
			name: "wrong password",
			srv:  &testSMTPServer{starttls: true, auth: "PLAIN", user: "mailer", pass: "other"},
			want: "permanent",
		},
		{
			name: "server offers no usable AUTH mechanism",
			srv:  &testSMTPServer{starttls: true, auth: "CRAM-MD5", user: "mailer", pass: "x"},
			want: "permanent",
		},
		{
			name: "recipient rejected for good",
			srv:  &testSMTPServer{starttls: true, auth: "PLAIN", user: "mailer", pass: "pa ss\x01word", rcptReply: map[string]string{"alice@example.com": "550 5.1.1 no such user"}},
			want: "permanent",
		},
		{
			name: "recipient deferred",
			srv:  &testSMTPServer{starttls: true, auth: "PLAIN", user: "mailer", pass: "pa ss\x01word", rcptReply: map[string]string{"alice@example.com": "451 4.3.0 try again later"}},
			want: "temporary",
		},
		{
			name:  "owners not mailed unless mail_owners",
			srv:   &testSMTPServer{starttls: true, auth: "PLAIN", user: "mailer", pass: "pa ss\x01word", rcptReply: map[string]string{"alice@example.com": "550 5.1.1 must not be asked"}},
			setup: func(e *Email) { e.Channel.MailOwners = false },
			check: func(t *testing.T, mails []testMail) {
				if len(mails) != 1 || !slices.Equal(mails[0].recipients, []string{"security@example.com", "team-a@example.com"}) {
					t.Errorf("mails %+v", mails)
				}
			},
		},
		{
			name:  "password variable unset",
			srv:   &testSMTPServer{starttls: true, auth: "PLAIN", user: "mailer", pass: "pa ss\x01word"},
			setup: func(e *Email) { e.Getenv = env(map[string]string{"SMTP_USER": "mailer"}) },
			want:  "permanent",
			code:  iamprune.EINVALID,
		},
		{
			name:  "bad recipient address",
			srv:   &testSMTPServer{starttls: true},
			setup: func(e *Email) { e.Channel.To = []string{"not an address"} },
			want:  "permanent",
			code:  iamprune.EINVALID,
		},
		{
			name:  "untrusted certificate",
			srv:   &testSMTPServer{starttls: true, auth: "PLAIN", user: "mailer", pass: "pa ss\x01word"},
			setup: func(e *Email) { e.TLSConfig = nil },
			want:  "permanent",
		},
		{
			name: "connection refused",
			srv:  &testSMTPServer{},
			setup: func(e *Email) {
				host, port, _ := net.SplitHostPort(refusedAddr)
				e.Channel.SMTPHost = host
				e.Channel.SMTPPort, _ = strconv.Atoi(port)
			},
			want: "temporary",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := tt.srv
			e := newMailTest(t, srv)
			if tt.setup != nil {
				tt.setup(e)
			}
			m := sampleMessage(t)
			m.To = []string{"alice@example.com"}
			err := e.Send(context.Background(), m)
			t.Logf("error: %v", err)
			wantErrClass(t, err, tt.want)
			if tt.code != "" && iamprune.ErrorCode(err) != tt.code {
				t.Errorf("code %q, want %q: %v", iamprune.ErrorCode(err), tt.code, err)
			}
			if err != nil && strings.Contains(err.Error(), "pa ss") {
				t.Errorf("error leaks the password: %v", err)
			}
			if tt.want != "" && len(srv.received()) != 0 {
				t.Errorf("a mail was accepted despite the error")
			}
			if tt.check != nil {
				tt.check(t, srv.received())
			}
		})
	}
}

func TestBuildMailSinglePart(t *testing.T) {
	from := &mail.Address{Address: "iamprune@example.com"}
	to := []*mail.Address{{Address: "a@example.com"}}
	b, err := buildMail(from, to, iamprune.Message{Subject: "plain ASCII subject", Text: "hello\nworld\n"}, mailNow)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if s := msg.Header.Get("Subject"); s != "plain ASCII subject" {
		t.Errorf("ASCII subject encoded: %q", s)
	}
	if ct := msg.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	body, _ := io.ReadAll(msg.Body)
	if string(body) != "hello\r\nworld\r\n" {
		t.Errorf("body %q", body)
	}
}

func TestEmailCancelled(t *testing.T) {
	// A server that accepts and never greets: only cancellation ends Send.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			io.Copy(io.Discard, c)
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	e := &Email{Channel: iamprune.Channel{Name: "mail", SMTPHost: "127.0.0.1", SMTPPort: p, From: "a@example.com", To: []string{"b@example.com"}}}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	err = e.Send(ctx, iamprune.Message{Subject: "s", Text: "t"})
	if !errors.Is(err, context.Canceled) || Temporary(err) {
		t.Errorf("err = %v, want a non-temporary context.Canceled", err)
	}
}
