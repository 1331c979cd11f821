package awsapi

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/snapshot"
)

// snsPublisher mirrors notify.SNSPublisher (adapters do not import each
// other), so that a change of either signature breaks this build.
type snsPublisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var _ snsPublisher = (*SNS)(nil)

// TestSNSAgainstEmulator publishes through the full LoadConfig path and
// reads the message back from the emulator.
func TestSNSAgainstEmulator(t *testing.T) {
	isolateEnv(t)
	ctx := context.Background()
	snap, err := snapshot.LoadDir(filepath.Join("testdata", "emulator", "basic"))
	if err != nil {
		t.Fatal(err)
	}
	emu := emulator.New(snap, emulator.Options{Topics: []string{"iamprune-notices"}})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	cfg, counter, err := LoadConfig(ctx, Options{
		Region:      snap.Meta.Region,
		Endpoint:    srv.URL,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	pub := NewSNS(cfg)
	topic := emu.TopicARN("iamprune-notices")

	subject := strings.Repeat("S", 100)
	message := strings.Repeat("m", 262144-len("iamprune.route")-len("String")-len("team-a"))
	out, err := pub.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(topic),
		Subject:  aws.String(subject),
		Message:  aws.String(message),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"iamprune.route": {DataType: aws.String("String"), StringValue: aws.String("team-a")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := emu.Published(topic)
	if len(got) != 1 {
		t.Fatalf("published %d messages, want 1", len(got))
	}
	m := got[0]
	if m.MessageID != aws.ToString(out.MessageId) || m.Subject != subject || m.Message != message || m.MessageAttributes["iamprune.route"] != "team-a" {
		t.Errorf("published id %s subject %.20q… message of %d bytes attributes %v", m.MessageID, m.Subject, len(m.Message), m.MessageAttributes)
	}
	if n := counter.ByOperation()["SNS.Publish"]; n != 1 {
		t.Errorf("counter saw %d SNS.Publish calls, want 1", n)
	}

	tests := []struct {
		name string
		in   *sns.PublishInput
		want func(error) bool
	}{
		{
			name: "unknown topic",
			in:   &sns.PublishInput{TopicArn: aws.String(emu.TopicARN("missing")), Message: aws.String("m")},
			want: func(err error) bool { var e *types.NotFoundException; return errors.As(err, &e) },
		},
		{
			name: "subject of 101",
			in:   &sns.PublishInput{TopicArn: aws.String(topic), Subject: aws.String(subject + "S"), Message: aws.String("m")},
			want: func(err error) bool { var e *types.InvalidParameterException; return errors.As(err, &e) },
		},
		{
			name: "message one byte over",
			in:   &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String(strings.Repeat("m", 262145))},
			want: func(err error) bool { var e *types.InvalidParameterException; return errors.As(err, &e) },
		},
	}
	for _, tt := range tests {
		if _, err := pub.Publish(ctx, tt.in); !tt.want(err) {
			t.Errorf("%s: error %v is not the expected typed exception", tt.name, err)
		}
	}
	if n := len(emu.Published(topic)); n != 1 {
		t.Errorf("rejected messages were recorded: %d messages", n)
	}
}
