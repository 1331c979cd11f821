package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
)

// Email sends a digest as one multipart/alternative mail (text and HTML)
// over SMTP. STARTTLS is required unless the channel sets starttls: false
// (a local relay); credentials come from the variables named by
// username_env and password_env. Implicit TLS (port 465) is not supported.
type Email struct {
	Channel iamprune.Channel
	// Getenv reads UsernameEnv and PasswordEnv; os.Getenv in production.
	Getenv func(string) string
	// TLSConfig overrides the STARTTLS configuration (tests trust a
	// self-signed certificate with it). ServerName defaults to smtp_host.
	TLSConfig *tls.Config
	// Now dates the message; time.Now when nil.
	Now func() time.Time
	// Timeout bounds the whole exchange when ctx has no deadline; 60s
	// when zero.
	Timeout time.Duration
}

var _ iamprune.Notifier = (*Email)(nil)

// Name returns the channel name.
func (e *Email) Name() string { return e.Channel.Name }

// Send mails m to the channel's To and, when mail_owners is set, to m.To.
func (e *Email) Send(ctx context.Context, m iamprune.Message) error {
	ch := e.Channel
	if ch.SMTPHost == "" {
		return configError(ch, "smtp_host is required")
	}
	from, err := mail.ParseAddress(ch.From)
	if err != nil {
		return configError(ch, "from %q is not an e-mail address: %v", ch.From, err)
	}
	rcpts, err := e.recipients(m)
	if err != nil {
		return err
	}
	user, pass, err := e.credentials()
	if err != nil {
		return err
	}
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	msg, err := buildMail(from, rcpts, m, now())
	if err != nil {
		return permanent(fmt.Errorf("notify: channel %q: cannot build message: %w", ch.Name, err))
	}
	if err := e.deliver(ctx, from.Address, rcpts, user, pass, msg); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			// The closed connection hides why: say it was the run's context.
			err = fmt.Errorf("%w (%w)", ctxErr, err)
		}
		return classifySMTP(fmt.Errorf("notify: channel %q: smtp %s: %w", ch.Name, e.addr(), err))
	}
	return nil
}

func (e *Email) addr() string {
	port := e.Channel.SMTPPort
	if port == 0 {
		port = 587
	}
	return net.JoinHostPort(e.Channel.SMTPHost, strconv.Itoa(port))
}

func (e *Email) startTLS() bool { return e.Channel.StartTLS == nil || *e.Channel.StartTLS }

// recipients merges the channel's To with the owners of m (only when the
// channel allows mailing owners), dropping duplicates case-insensitively.
func (e *Email) recipients(m iamprune.Message) ([]*mail.Address, error) {
	all := slices.Clone(e.Channel.To)
	if e.Channel.MailOwners {
		all = append(all, m.To...)
	}
	var out []*mail.Address
	seen := map[string]bool{}
	for _, s := range all {
		a, err := mail.ParseAddress(s)
		if err != nil {
			return nil, configError(e.Channel, "recipient %q is not an e-mail address: %v", s, err)
		}
		key := strings.ToLower(a.Address)
		if !seen[key] {
			seen[key] = true
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, configError(e.Channel, "no recipients: set to (or mail_owners with owner e-mail tags)")
	}
	return out, nil
}

func (e *Email) credentials() (user, pass string, err error) {
	ch := e.Channel
	if ch.UsernameEnv == "" && ch.PasswordEnv == "" {
		return "", "", nil
	}
	if ch.UsernameEnv == "" || ch.PasswordEnv == "" {
		return "", "", configError(ch, "username_env and password_env must be set together")
	}
	if user, err = secretFromEnv(ch, e.Getenv, "username_env", ch.UsernameEnv); err != nil {
		return "", "", err
	}
	if pass, err = secretFromEnv(ch, e.Getenv, "password_env", ch.PasswordEnv); err != nil {
		return "", "", err
	}
	return user, pass, nil
}

// deliver runs the SMTP exchange. net/smtp has no context: the deadline is
// set on the connection and cancellation closes it.
func (e *Email) deliver(ctx context.Context, from string, rcpts []*mail.Address, user, pass string, msg []byte) error {
	timeout := e.Timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	conn, err := iamprune.GuardedDialer().DialContext(ctx, "tcp", e.addr())
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	host := e.Channel.SMTPHost
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello(heloName(from)); err != nil {
		return err
	}
	if e.startTLS() {
		if err := e.upgrade(c, host); err != nil {
			return err
		}
	}
	if user != "" {
		if err := authenticate(c, host, user, pass); err != nil {
			return err
		}
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r.Address); err != nil {
			return fmt.Errorf("RCPT TO %s: %w", r.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// upgrade switches the session to TLS, which the server must offer.
func (e *Email) upgrade(c *smtp.Client, host string) error {
	if ok, _ := c.Extension("STARTTLS"); !ok {
		return permanent(errors.New("server does not offer STARTTLS (set starttls: false only for a trusted local relay)"))
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if e.TLSConfig != nil {
		cfg = e.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	return c.StartTLS(cfg)
}

// authenticate logs in with PLAIN, else LOGIN, whichever the server
// offers.
func authenticate(c *smtp.Client, host, user, pass string) error {
	ok, mechs := c.Extension("AUTH")
	if !ok {
		return permanent(errors.New("credentials are configured but the server offers no AUTH"))
	}
	var auth smtp.Auth
	switch fields := strings.Fields(strings.ToUpper(mechs)); {
	case slices.Contains(fields, "PLAIN"):
		auth = smtp.PlainAuth("", user, pass, host)
	case slices.Contains(fields, "LOGIN"):
		auth = &loginAuth{user: user, pass: pass, host: host}
	default:
		return permanent(fmt.Errorf("server offers AUTH %s; iamprune supports PLAIN and LOGIN", mechs))
	}
	return c.Auth(auth)
}

// heloName is the domain of the sender: more meaningful to the relay than
// "localhost", and no local host name leaks.
func heloName(from string) string {
	if _, domain, ok := strings.Cut(from, "@"); ok && domain != "" {
		return domain
	}
	return "localhost"
}

// classifySMTP keeps permanent errors permanent and maps SMTP replies: 5xx
// permanent, 4xx temporary. Certificate problems are configuration, so
// permanent; other transport errors are temporary.
func classifySMTP(err error) error {
	var p *PermanentError
	if errors.As(err, &p) {
		return err
	}
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return permanent(err)
	}
	var certErr *tls.CertificateVerificationError
	var hostErr x509.HostnameError
	var unknownAuth x509.UnknownAuthorityError
	if errors.As(err, &certErr) || errors.As(err, &hostErr) || errors.As(err, &unknownAuth) {
		return permanent(err)
	}
	// net/smtp refuses PLAIN over an unencrypted remote connection with a
	// plain error; that is configuration too.
	if strings.Contains(err.Error(), "unencrypted connection") {
		return permanent(err)
	}
	return err
}

// loginAuth is the AUTH LOGIN mechanism, for servers that offer no PLAIN.
// Like smtp.PlainAuth it sends credentials only over TLS or to localhost.
type loginAuth struct{ user, pass, host string }

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && server.Name != "localhost" && server.Name != "127.0.0.1" && server.Name != "::1" {
		return "", nil, errors.New("unencrypted connection")
	}
	if server.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch strings.ToLower(strings.TrimSpace(string(fromServer))) {
	case "username:", "username":
		return []byte(a.user), nil
	case "password:", "password":
		return []byte(a.pass), nil
	}
	return nil, fmt.Errorf("unexpected AUTH LOGIN challenge %q", fromServer)
}

// buildMail renders the RFC 5322 message: a multipart/alternative of the
// text and HTML renderings (or the one that exists), quoted-printable,
// CRLF line ends.
func buildMail(from *mail.Address, to []*mail.Address, m iamprune.Message, now time.Time) ([]byte, error) {
	subject := m.Subject
	if subject == "" {
		subject = "iamprune notification"
	}
	tos := make([]string, len(to))
	for i, a := range to {
		tos[i] = a.String()
	}
	id, err := messageID(from.Address)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&buf, "%s: %s\r\n", k, v) }
	hdr("From", from.String())
	// Folded, so that many owners do not exceed the line limit.
	hdr("To", strings.Join(tos, ",\r\n "))
	// Encoded words are at most 75 characters; folding between them keeps
	// lines short (the space between encoded words is not part of the text).
	enc := mime.QEncoding.Encode("utf-8", strings.Join(strings.Fields(subject), " "))
	hdr("Subject", strings.ReplaceAll(enc, "?= =?", "?=\r\n =?"))
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", id)
	hdr("MIME-Version", "1.0")
	// RFC 3834: automated mail, so auto-responders stay quiet.
	hdr("Auto-Submitted", "auto-generated")

	text, html := m.Text, m.HTML
	if text == "" && html == "" {
		text = subject
	}
	if text == "" || html == "" {
		ctype := "text/plain; charset=utf-8"
		body := text
		if text == "" {
			ctype, body = "text/html; charset=utf-8", html
		}
		hdr("Content-Type", ctype)
		hdr("Content-Transfer-Encoding", "quoted-printable")
		buf.WriteString("\r\n")
		if err := writeQP(&buf, body); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	mw := multipart.NewWriter(&buf)
	hdr("Content-Type", "multipart/alternative;\r\n boundary=\""+mw.Boundary()+"\"")
	buf.WriteString("\r\n")
	// Alternatives go from plainest to richest (RFC 2046 5.1.4).
	for _, p := range []struct{ ctype, body string }{
		{"text/plain; charset=utf-8", text},
		{"text/html; charset=utf-8", html},
	} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.ctype},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeQP(w, p.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeQP writes body quoted-printable; its writer also turns \n into CRLF.
func writeQP(w io.Writer, body string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qp, body); err != nil {
		return err
	}
	return qp.Close()
}

func messageID(from string) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "<" + hex.EncodeToString(b[:]) + "." + "iamprune@" + heloName(from) + ">", nil
}
