package awsapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iamprune/iamprune"
)

// isolateEnv clears every variable that could point LoadConfig at this
// machine's AWS setup, and gives it an empty config and credentials file.
func isolateEnv(t *testing.T) string {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "AWS_") {
			t.Setenv(name, "")
			os.Unsetenv(name) // t.Setenv restores it after the test
		}
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	return dir
}

// endpoint is a test server that records the services it was asked for.
type endpoint struct {
	url      string
	mu       sync.Mutex
	services []string
}

func newEndpoint(t *testing.T) *endpoint {
	e := &endpoint{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		svc := signingName(r.Header.Get("Authorization"))
		e.mu.Lock()
		e.services = append(e.services, svc)
		e.mu.Unlock()
		switch svc {
		case "access-analyzer":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"analyzers":[]}`))
		case "sts":
			w.Write([]byte(`<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::111122223333:user/me</Arn><Account>111122223333</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`))
		default:
			w.Write([]byte(`<ListAccessKeysResponse><ListAccessKeysResult><IsTruncated>false</IsTruncated></ListAccessKeysResult></ListAccessKeysResponse>`))
		}
	}))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

func (e *endpoint) got() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.services, ",")
}

// callAll makes one call to each service the adapters use.
func callAll(t *testing.T, cfg aws.Config) {
	t.Helper()
	ctx := context.Background()
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := iam.NewFromConfig(cfg).ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("u")}); err != nil {
		t.Fatal(err)
	}
	if _, err := accessanalyzer.NewFromConfig(cfg).ListAnalyzers(ctx, &accessanalyzer.ListAnalyzersInput{}); err != nil {
		t.Fatal(err)
	}
}

// TestLoadConfigEndpoints checks that the standard AWS_ENDPOINT_URL
// overrides reach every client made from the loaded config, and that an
// explicit Options.Endpoint beats a per-service one.
func TestLoadConfigEndpoints(t *testing.T) {
	tests := []struct {
		name     string
		global   bool // AWS_ENDPOINT_URL = a
		iamOnly  bool // AWS_ENDPOINT_URL_IAM = b
		explicit bool // Options.Endpoint = c
		a, b, c  string
	}{
		{name: "global", global: true, a: "sts,iam,access-analyzer"},
		{name: "per-service", global: true, iamOnly: true, a: "sts,access-analyzer", b: "iam"},
		{name: "explicit wins", global: true, iamOnly: true, explicit: true, c: "sts,iam,access-analyzer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateEnv(t)
			t.Setenv("AWS_REGION", "eu-west-1")
			a, b, c := newEndpoint(t), newEndpoint(t), newEndpoint(t)
			if tt.global {
				t.Setenv("AWS_ENDPOINT_URL", a.url)
			}
			if tt.iamOnly {
				t.Setenv("AWS_ENDPOINT_URL_IAM", b.url)
			}
			o := Options{}
			if tt.explicit {
				o.Endpoint = c.url
			}
			cfg, counter, err := LoadConfig(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			callAll(t, cfg)
			if a.got() != tt.a || b.got() != tt.b || c.got() != tt.c {
				t.Errorf("endpoints got a=%q b=%q c=%q, want a=%q b=%q c=%q", a.got(), b.got(), c.got(), tt.a, tt.b, tt.c)
			}
			if counter.Total() != 3 {
				t.Errorf("counter total = %d, want 3 (%v)", counter.Total(), counter.ByOperation())
			}
		})
	}
}

func TestLoadConfigRegionAndProfile(t *testing.T) {
	tests := []struct {
		name       string
		envRegion  string
		profile    string
		region     string
		wantRegion string
		wantErr    string
	}{
		{name: "env region", envRegion: "ap-southeast-2", wantRegion: "ap-southeast-2"},
		{name: "option beats env", envRegion: "ap-southeast-2", region: "us-west-2", wantRegion: "us-west-2"},
		{name: "profile region", profile: "audit", wantRegion: "eu-central-1"},
		{name: "no region", wantErr: "no AWS region configured: set AWS_REGION or pass --region"},
		{name: "unknown profile", profile: "nope", wantErr: `AWS profile "nope" does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := isolateEnv(t)
			conf := "[profile audit]\nregion = eu-central-1\n"
			if err := os.WriteFile(filepath.Join(dir, "config"), []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			if tt.envRegion != "" {
				t.Setenv("AWS_REGION", tt.envRegion)
			}
			cfg, _, err := LoadConfig(context.Background(), Options{Profile: tt.profile, Region: tt.region})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || iamprune.ErrorCode(err) != iamprune.EINVALID {
					t.Fatalf("err = %v (code %q), want EINVALID containing %q", err, iamprune.ErrorCode(err), tt.wantErr)
				}
				// The CLI prints it as is: no package prefix.
				if strings.HasPrefix(err.Error(), "awsapi:") {
					t.Errorf("err = %q: it shows the adapter's prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Region != tt.wantRegion {
				t.Errorf("region = %q, want %q", cfg.Region, tt.wantRegion)
			}
			if r := cfg.Retryer(); r.MaxAttempts() != DefaultMaxRetries+1 {
				t.Errorf("retryer %T allows %d attempts, want %d", r, r.MaxAttempts(), DefaultMaxRetries+1)
			}
		})
	}
}
