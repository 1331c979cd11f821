package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdkdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/dynamodb"
)

// apply, a second apply and rollback work the same with the state in
// DynamoDB (dynalite, started by scripts/test) as in SQLite.
func TestApplyWithDynamoDBState(t *testing.T) {
	ep := os.Getenv("IAMPRUNE_TEST_DYNAMODB_ENDPOINT")
	if ep == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("IAMPRUNE_TEST_DYNAMODB_ENDPOINT is not set, and CI=true: scripts/test must start dynalite")
		}
		t.Skip("IAMPRUNE_TEST_DYNAMODB_ENDPOINT is not set: run scripts/test, which starts dynalite")
	}
	acct := newProcessAccount(t) // the process environment: DynamoDB goes elsewhere
	// Everything else talks to the emulator; DynamoDB to dynalite (an
	// injected config would send every service to the emulator).
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ep)
	table := fmt.Sprintf("iamprune-cli-%d", time.Now().UnixNano())
	client := sdkdynamodb.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(ep),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if err := dynamodb.CreateTable(context.Background(), client, table, dynamodb.WithoutPointInTimeRecovery()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &sdkdynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	acct.state = dynamodb.URL(table)

	res := decodeRun(t, runCLI(t, acct.args(t, "apply", "--yes", "-o", "json")...))
	if got := statuses(res); len(got) != len(demoRemediations) {
		t.Fatalf("apply results %v", got)
	}
	for _, a := range decodeRun(t, runCLI(t, acct.args(t, "apply", "--yes", "-o", "json")...)).Results {
		if a.Status != iamprune.ResultAlreadyDone {
			t.Errorf("second apply: %s %s is %s", a.Kind, a.Target, a.Status)
		}
	}
	rb := decodeRun(t, runCLI(t, acct.args(t, "rollback", res.RunID, "--yes", "-o", "json")...))
	for _, a := range rb.Results {
		if a.Status != iamprune.ResultDone {
			t.Errorf("rollback %s %s: %s %s", a.Kind, a.Target, a.Status, a.Detail)
		}
	}
}

// plan with a DynamoDB table that does not exist fails like apply instead
// of planning without the journal.
func TestPlanMissingDynamoDBTable(t *testing.T) {
	isolateAWS(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}`)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", srv.URL)
	snap, cfg := demoPaths(t)
	r := runCLI(t, "plan", "--snapshot", snap, "--config", cfg, "--now", demoNow, "--state", "dynamodb://no-such-table")
	if r.code == 0 || !strings.Contains(r.stderr, "no-such-table not found") {
		t.Errorf("plan with a missing table: exit %d, stderr %q", r.code, r.stderr)
	}
}
