package worker

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Probe asks the /healthz of a worker listening on addr (its --listen)
// whether it is healthy: nil for 200, an error otherwise. An address
// without a host, or with the unspecified one, is probed on the loopback.
// It is the container health check of an image without a shell or curl:
// `iamprune worker --probe`.
func Probe(ctx context.Context, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("worker: --listen %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort(host, port) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("worker: probe: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("worker: probe: %s answered %s", url, resp.Status)
	}
	return nil
}
