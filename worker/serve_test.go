package worker

import (
	"context"
	"net/http"
	"testing"
)

func TestServeHTTP(t *testing.T) {
	w := &Worker{Metrics: NewMetrics()}
	addr, stop, err := w.ServeHTTP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr.String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The receive loop never ran: not alive.
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/healthz before Run: %d, want 503", resp.StatusCode)
	}
	stop(context.Background())
	if _, err := http.Get("http://" + addr.String() + "/healthz"); err == nil {
		t.Error("still serving after stop")
	}
	if _, _, err := w.ServeHTTP("256.0.0.1:0"); err == nil {
		t.Error("a bad address: no error")
	}
}
