package notify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/iamprune/iamprune"
)

// defaultHTTPClient does not follow redirects (see statusError) and bounds
// each attempt; the Sender owns retries.
var defaultHTTPClient = &http.Client{
	Timeout:   30 * time.Second,
	Transport: iamprune.GuardedTransport(),
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// post sends body to url and classifies the answer. Transport errors are
// temporary and have the URL redacted.
func post(ctx context.Context, client *http.Client, channel, url string, body []byte, header http.Header) error {
	if client == nil {
		client = defaultHTTPClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return permanent(fmt.Errorf("notify: channel %q: bad URL: %w", channel, redactURL(err)))
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "iamprune")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("notify: channel %q: %w", channel, redactURL(err))
	}
	defer resp.Body.Close()
	// Read a little of the body: it explains errors, and draining it lets
	// the connection be reused.
	got, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return statusError(channel, resp, got)
	}
	return nil
}
