package worker

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestProbe(t *testing.T) {
	t.Parallel()
	var healthy atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" || !healthy.Load() {
			rw.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	ctx := context.Background()
	if err := Probe(ctx, "127.0.0.1:"+port); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("unhealthy: %v, want a 503 error", err)
	}
	healthy.Store(true)
	for _, addr := range []string{"127.0.0.1:" + port, ":" + port, "0.0.0.0:" + port} {
		if err := Probe(ctx, addr); err != nil {
			t.Errorf("Probe(%q): %v", addr, err)
		}
	}
	srv.Close()
	if err := Probe(ctx, "127.0.0.1:"+port); err == nil {
		t.Error("no server: no error")
	}
	if err := Probe(ctx, "9090"); err == nil {
		t.Error("an address without a port: no error")
	}
}
