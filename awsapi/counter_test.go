package awsapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestCounter checks that a call the SDK retried counts once as a call and
// once per attempt, that OnCall sees each call, and that attaching the
// counter twice does not count twice.
func TestCounter(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 { // throttle the first request only
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>`))
			return
		}
		if signingName(r.Header.Get("Authorization")) == "sts" {
			w.Write([]byte(`<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::111122223333:user/me</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>`))
			return
		}
		w.Write([]byte(`<ListAccessKeysResponse><ListAccessKeysResult><IsTruncated>false</IsTruncated></ListAccessKeysResult></ListAccessKeysResponse>`))
	}))
	defer srv.Close()

	cfg := aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
		Retryer: func() aws.Retryer {
			return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
				o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
					so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
				})
			})
		},
	}
	var c Counter // the zero value works
	var hooked []string
	c.OnCall = func(service, op string) { hooked = append(hooked, service+"."+op) }
	c.Attach(&cfg)
	c.Attach(&cfg)

	ctx := context.Background()
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	client := iam.NewFromConfig(cfg)
	for _, u := range []string{"a", "b"} {
		if _, err := client.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(u)}); err != nil {
			t.Fatal(err)
		}
	}

	wantCalls := map[string]int{"STS.GetCallerIdentity": 1, "IAM.ListAccessKeys": 2}
	wantAttempts := map[string]int{"STS.GetCallerIdentity": 2, "IAM.ListAccessKeys": 2}
	if got := c.ByOperation(); !reflect.DeepEqual(got, wantCalls) || c.Total() != 3 {
		t.Errorf("calls = %d %v, want 3 %v", c.Total(), got, wantCalls)
	}
	if got := c.AttemptsByOperation(); !reflect.DeepEqual(got, wantAttempts) || c.Attempts() != 4 {
		t.Errorf("attempts = %d %v, want 4 %v", c.Attempts(), got, wantAttempts)
	}
	if want := []string{"STS.GetCallerIdentity", "IAM.ListAccessKeys", "IAM.ListAccessKeys"}; !reflect.DeepEqual(hooked, want) {
		t.Errorf("OnCall saw %v, want %v", hooked, want)
	}
	// ByOperation returns a copy.
	c.ByOperation()["IAM.ListAccessKeys"] = 99
	if c.Total() != 3 {
		t.Errorf("ByOperation result aliased the counter")
	}
}
