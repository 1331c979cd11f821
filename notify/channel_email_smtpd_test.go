package notify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// testSMTPServer is a minimal ESMTP server: EHLO, STARTTLS, AUTH PLAIN and
// LOGIN, MAIL, RCPT, DATA, RSET, QUIT. It records every mail it accepts.
type testSMTPServer struct {
	addr     string
	tls      *tls.Config
	starttls bool   // offer STARTTLS
	auth     string // AUTH mechanisms offered (after TLS when starttls), "" for none
	user     string
	pass     string
	// rcptReply maps a recipient to a reply that rejects it ("550 ...").
	rcptReply map[string]string

	mu    sync.Mutex
	mails []testMail
}

type testMail struct {
	tls        bool
	authUser   string
	authPass   string
	authMech   string
	helo       string
	from       string
	recipients []string
	data       []byte
}

// selfSigned returns a server certificate for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "iamprune test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// start listens on 127.0.0.1 and serves until the test ends.
func (s *testSMTPServer) start(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { s.serve(c) })
		}
	})
}

func (s *testSMTPServer) received() []testMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]testMail(nil), s.mails...)
}

func (s *testSMTPServer) serve(conn net.Conn) {
	defer func() { conn.Close() }()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(conn)
	var m testMail
	authed := false
	tp.PrintfLine("220 test.invalid ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			m.helo = arg
			ext := []string{"test.invalid"}
			if s.starttls && !m.tls {
				ext = append(ext, "STARTTLS")
			}
			if s.auth != "" && (m.tls || !s.starttls) {
				ext = append(ext, "AUTH "+s.auth)
			}
			ext = append(ext, "8BITMIME")
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				tp.PrintfLine("250%s%s", sep, e)
			}
		case "STARTTLS":
			if !s.starttls || m.tls {
				tp.PrintfLine("502 not offered")
				continue
			}
			tp.PrintfLine("220 go ahead")
			tc := tls.Server(conn, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn = tc
			tp = textproto.NewConn(tc)
			m = testMail{tls: true} // RFC 3207: forget everything
		case "AUTH":
			mech, initial, _ := strings.Cut(arg, " ")
			user, pass, ok := s.readAuth(tp, strings.ToUpper(mech), initial)
			if !ok {
				tp.PrintfLine("501 bad AUTH exchange")
				continue
			}
			m.authMech, m.authUser, m.authPass = strings.ToUpper(mech), user, pass
			if user != s.user || pass != s.pass {
				tp.PrintfLine("535 5.7.8 authentication credentials invalid")
				continue
			}
			authed = true
			tp.PrintfLine("235 2.7.0 authenticated")
		case "MAIL":
			if s.user != "" && !authed {
				tp.PrintfLine("530 5.7.0 authentication required")
				continue
			}
			m.from = pathArg(arg, "FROM:")
			tp.PrintfLine("250 ok")
		case "RCPT":
			rcpt := pathArg(arg, "TO:")
			if r, ok := s.rcptReply[rcpt]; ok {
				tp.PrintfLine("%s", r)
				continue
			}
			m.recipients = append(m.recipients, rcpt)
			tp.PrintfLine("250 ok")
		case "DATA":
			tp.PrintfLine("354 end with <CRLF>.<CRLF>")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			m.data = data
			s.mu.Lock()
			s.mails = append(s.mails, m)
			s.mu.Unlock()
			tp.PrintfLine("250 queued")
		case "RSET":
			m = testMail{tls: m.tls, helo: m.helo}
			tp.PrintfLine("250 ok")
		case "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("502 unknown command")
		}
	}
}

// readAuth runs the PLAIN or LOGIN exchange and returns the credentials.
func (s *testSMTPServer) readAuth(tp *textproto.Conn, mech, initial string) (user, pass string, ok bool) {
	if !strings.Contains(" "+s.auth+" ", " "+mech+" ") {
		return "", "", false
	}
	ask := func(prompt string) (string, bool) {
		tp.PrintfLine("334 %s", base64.StdEncoding.EncodeToString([]byte(prompt)))
		l, err := tp.ReadLine()
		if err != nil {
			return "", false
		}
		b, err := base64.StdEncoding.DecodeString(l)
		return string(b), err == nil
	}
	switch mech {
	case "PLAIN":
		resp := initial
		if resp == "" {
			tp.PrintfLine("334 ")
			l, err := tp.ReadLine()
			if err != nil {
				return "", "", false
			}
			resp = l
		}
		b, err := base64.StdEncoding.DecodeString(resp)
		parts := strings.Split(string(b), "\x00")
		if err != nil || len(parts) != 3 {
			return "", "", false
		}
		return parts[1], parts[2], true
	case "LOGIN":
		u, ok1 := ask("Username:")
		p, ok2 := ask("Password:")
		return u, p, ok1 && ok2
	}
	return "", "", false
}

// pathArg extracts the address of "FROM:<a@b> BODY=8BITMIME".
func pathArg(arg, prefix string) string {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return ""
	}
	p := arg[len(prefix):]
	if i := strings.Index(p, ">"); i >= 0 {
		p = p[:i]
	}
	return strings.TrimLeft(strings.TrimSpace(p), "<")
}
