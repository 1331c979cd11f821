package iamprune

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGuardDial(t *testing.T) {
	for _, addr := range []string{"169.254.169.254:80", "[fe80::1]:443", "[fd00:ec2::254]:80", "169.254.170.2:80"} {
		if err := GuardDial("tcp", addr, nil); err == nil {
			t.Errorf("GuardDial(%s) allowed", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:8080", "[::1]:443", "93.184.216.34:443"} {
		if err := GuardDial("tcp", addr, nil); err != nil {
			t.Errorf("GuardDial(%s) = %v", addr, err)
		}
	}
}

// The guarded transport refuses the metadata address at connect time,
// whatever name led there, and still reaches loopback servers.
func TestGuardedTransport(t *testing.T) {
	c := &http.Client{Transport: GuardedTransport()}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://169.254.169.254/latest/meta-data/", nil)
	_, err := c.Do(req)
	if err == nil || !strings.Contains(err.Error(), "instance-metadata") {
		t.Errorf("metadata request error = %v, want a refusal", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatalf("loopback request: %v", err)
	}
	resp.Body.Close()
}
