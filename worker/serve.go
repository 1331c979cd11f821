package worker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// ServeHTTP serves Handler (/healthz and /metrics) on addr in the
// background and returns the address it listens on and a stop that shuts
// the server down, waiting at most 5 seconds for requests in flight. A
// failure of the server after it started is logged.
func (w *Worker) ServeHTTP(addr string) (net.Addr, func(context.Context), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("worker: cannot listen on %s for /healthz and /metrics: %w", addr, err)
	}
	srv := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			w.logger().Error("worker: HTTP server failed", "err", err)
		}
	}()
	stop := func(ctx context.Context) {
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}
	return ln.Addr(), stop, nil
}
