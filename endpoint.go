package iamprune

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// metadataHosts are names of cloud instance-metadata services, which hand
// out credentials to whoever asks from the instance.
var metadataHosts = []string{"instance-data", "instance-data.ec2.internal", "metadata", "metadata.google.internal", "metadata.goog"}

// awsIMDSv6 is the IPv6 address of the EC2 instance-metadata service.
var awsIMDSv6 = net.ParseIP("fd00:ec2::254")

// CheckEndpoint checks a URL iamprune sends data to (webhooks, Slack, the
// GitHub API): it must be https, or plain http to the loopback only (tests,
// local relays), and never a link-local or instance-metadata address, which
// a config could otherwise point at to read credentials. The error never
// echoes the URL: some (Slack's) are credentials.
func CheckEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return errors.New("is not an absolute https URL")
	}
	if err := CheckHost(u.Hostname()); err != nil {
		return err
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return errors.New("must be https (plain http is allowed only to localhost)")
	}
	return nil
}

// CheckHost checks a host iamprune connects to (an SMTP server): never a
// link-local or instance-metadata address.
func CheckHost(host string) error {
	h := strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	for _, m := range metadataHosts {
		if h == m {
			return errors.New("names an instance-metadata service, which iamprune never connects to")
		}
	}
	if ip := net.ParseIP(h); ip != nil && (ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.Equal(awsIMDSv6)) {
		return errors.New("is a link-local or instance-metadata address, which iamprune never connects to")
	}
	return nil
}

// loopback reports whether host is localhost or a loopback address.
func loopback(host string) bool {
	h := strings.ToLower(strings.Trim(host, "[]"))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// GuardDial is a net.Dialer Control function that refuses connections to
// link-local and instance-metadata addresses after name resolution, so
// that a host name that resolves to one (169.254.169.254.nip.io, an octal
// spelling, a DNS record changed after the config check) is caught too.
func GuardDial(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		host = address
	}
	ip := net.ParseIP(host)
	if ip != nil && (ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.Equal(awsIMDSv6)) {
		return fmt.Errorf("refused to connect to %s: a link-local or instance-metadata address, which iamprune never connects to", host)
	}
	return nil
}

// GuardedDialer returns a dialer that applies GuardDial.
func GuardedDialer() *net.Dialer {
	return &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: GuardDial}
}

// GuardedTransport returns an HTTP transport, like http.DefaultTransport,
// whose connections go through GuardedDialer. Proxies from the environment
// are honoured; the proxy then connects on iamprune's behalf.
func GuardedTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = GuardedDialer().DialContext
	return t
}
