package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/iamprune/iamprune"
)

// fakeSNS records Publish inputs and returns err.
type fakeSNS struct {
	inputs []*sns.PublishInput
	err    error
}

func (f *fakeSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	f.inputs = append(f.inputs, in)
	if f.err != nil {
		return nil, f.err
	}
	return &sns.PublishOutput{MessageId: aws.String("m-1")}, nil
}

const testTopic = "arn:aws:sns:us-east-1:111122223333:iamprune"

func TestSNSSend(t *testing.T) {
	f := &fakeSNS{}
	s := &SNS{Channel: iamprune.Channel{Name: "sns", Type: iamprune.ChannelSNS, TopicARN: testTopic}, Client: f}
	m := sampleMessage(t)
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	in := f.inputs[0]
	if aws.ToString(in.TopicArn) != testTopic || aws.ToString(in.Message) != m.Text {
		t.Errorf("topic %q, message %q", aws.ToString(in.TopicArn), aws.ToString(in.Message))
	}
	if want := "iamprune: 4 items for team-a - first remediation on 2026-12-05"; aws.ToString(in.Subject) != want {
		t.Errorf("subject %q, want %q", aws.ToString(in.Subject), want)
	}
	for name, want := range map[string]string{SNSAttrAccount: "111122223333", SNSAttrRoute: "team-a*"} {
		a := in.MessageAttributes[name]
		if aws.ToString(a.DataType) != "String" || aws.ToString(a.StringValue) != want {
			t.Errorf("attribute %s = %+v, want String %q", name, a, want)
		}
	}
	if in.MessageGroupId != nil || in.MessageDeduplicationId != nil {
		t.Errorf("FIFO fields on a standard topic")
	}
}

func TestSNSFIFO(t *testing.T) {
	f := &fakeSNS{}
	s := &SNS{Channel: iamprune.Channel{Name: "sns", TopicARN: testTopic + ".fifo"}, Client: f}
	m := sampleMessage(t)
	for range 2 {
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	a, b := f.inputs[0], f.inputs[1]
	if aws.ToString(a.MessageGroupId) != "iamprune" || len(aws.ToString(a.MessageDeduplicationId)) != 64 ||
		aws.ToString(a.MessageDeduplicationId) != aws.ToString(b.MessageDeduplicationId) {
		t.Errorf("group %q, dedup ids %q %q", aws.ToString(a.MessageGroupId), aws.ToString(a.MessageDeduplicationId), aws.ToString(b.MessageDeduplicationId))
	}
}

func TestSNSSubject(t *testing.T) {
	hundred := strings.Repeat("a", 100)
	tests := []struct{ in, want string }{
		{"iamprune: 3 items", "iamprune: 3 items"},
		{hundred, hundred},
		{hundred + "b", strings.Repeat("a", 97) + "..."},
		{strings.Repeat("a", 96) + " bcdef", strings.Repeat("a", 96) + "..."}, // no trailing space before the dots
		{"wait… done", "wait... done"},
		{"line one\nline two\r\n\tthree", "line one line two three"},
		{"  \x00 $+ [iamprune] digest", "[iamprune] digest"},
		{"Zoë’s keys — 2 items", "Zo?'s keys - 2 items"},
		{"", "iamprune notification"},
		{" \n ", "iamprune notification"},
	}
	for _, tt := range tests {
		got := snsSubject(tt.in)
		if got != tt.want {
			t.Errorf("snsSubject(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if len(got) > SNSMaxSubject {
			t.Errorf("snsSubject(%q) is %d long", tt.in, len(got))
		}
		for _, r := range got {
			if r < 0x20 || r > 0x7e {
				t.Errorf("snsSubject(%q) has %q", tt.in, r)
			}
		}
	}
}

// snsDigest has n principals; its text names each ARN on a line followed
// by pad bytes.
func snsDigest(n, pad int) (*iamprune.Digest, string) {
	d := bigDigest(n, 1, "r")
	d.Route = "default"
	var b strings.Builder
	for _, p := range d.Principals {
		fmt.Fprintf(&b, "%s\n%s\n", p.ARN, strings.Repeat("x", pad))
	}
	return d, b.String()
}

func TestSNSMessageLimit(t *testing.T) {
	// The budget excludes the attributes iamprune sends with a digest.
	attrs := len(SNSAttrAccount) + len("String") + len("111122223333") + len(SNSAttrRoute) + len("String") + len("default")
	budget := SNSMaxMessageBytes - attrs
	d, text := snsDigest(1000, 300)
	// Principal k's ARN starts at k*per; it is shown when the kept text
	// holds all of it.
	per, arnLen := len(text)/1000, len(d.Principals[0].ARN)
	room := budget - len(snsCutNote(1000, true))
	shown := (room-arnLen)/per + 1

	tests := []struct {
		name     string
		text     string
		digest   *iamprune.Digest
		wantSame bool
		wantNote string
		wantKept int
	}{
		{name: "exactly the budget is sent whole", text: strings.Repeat("a", budget), digest: d, wantSame: true},
		{name: "one byte over is cut", text: strings.Repeat("a", budget+1), digest: d,
			wantNote: "1000 principals not shown"},
		// The 2-byte "é" straddles the cut: it goes whole.
		{name: "multibyte rune across the boundary", text: strings.Repeat("a", room-1) + strings.Repeat("é", 200), digest: d,
			wantNote: "1000 principals not shown", wantKept: room - 1},
		{name: "principals counted", text: text, digest: d,
			wantNote: fmt.Sprintf("%d principals not shown", 1000-shown)},
		{name: "no digest: no attributes, no count", text: strings.Repeat("a", SNSMaxMessageBytes+1),
			wantNote: "[message cut to the SNS size limit: run `iamprune plan` for the full list]"},
		{name: "no digest: exactly the limit", text: strings.Repeat("a", SNSMaxMessageBytes), wantSame: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := snsInput(testTopic, iamprune.Message{Subject: "s", Text: tt.text, Digest: tt.digest})
			msg := aws.ToString(in.Message)
			size := len(msg)
			for name, a := range in.MessageAttributes {
				size += len(name) + len(aws.ToString(a.DataType)) + len(aws.ToString(a.StringValue))
			}
			if size > SNSMaxMessageBytes {
				t.Errorf("message and attributes are %d bytes, limit %d", size, SNSMaxMessageBytes)
			}
			if !utf8.ValidString(msg) {
				t.Errorf("message is not valid UTF-8")
			}
			if tt.wantSame {
				if msg != tt.text {
					t.Errorf("message changed (%d bytes, was %d)", len(msg), len(tt.text))
				}
				return
			}
			if !strings.Contains(msg, tt.wantNote) || !strings.HasSuffix(msg, "for the full list]\n") {
				t.Errorf("message ends %q, want note %q", msg[max(0, len(msg)-150):], tt.wantNote)
			}
			kept, _, _ := strings.Cut(msg, "\n\n[message cut")
			if !strings.HasPrefix(tt.text, kept) {
				t.Errorf("kept part is not a prefix of the text")
			}
			if tt.wantKept != 0 && len(kept) != tt.wantKept {
				t.Errorf("kept %d bytes, want %d", len(kept), tt.wantKept)
			}
			// Cut as late as possible: within one rune of the room left
			// by the longest note.
			limit := SNSMaxMessageBytes - (size - len(msg)) - len(snsCutNote(1000, tt.digest != nil))
			if len(kept) > limit || len(kept) < limit-(utf8.UTFMax-1) {
				t.Errorf("kept %d bytes, want %d (or up to %d less at a rune boundary)", len(kept), limit, utf8.UTFMax-1)
			}
		})
	}
}

func TestSNSErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"ok", nil, ""},
		{"throttled", &snstypes.ThrottledException{Message: aws.String("slow down")}, "temporary"},
		{"kms throttling", &snstypes.KMSThrottlingException{Message: aws.String("slow down")}, "temporary"},
		{"internal error", &snstypes.InternalErrorException{Message: aws.String("oops")}, "temporary"},
		{"topic not found", &snstypes.NotFoundException{Message: aws.String("no topic")}, "permanent"},
		{"not authorized", &snstypes.AuthorizationErrorException{Message: aws.String("denied")}, "permanent"},
		{"invalid parameter", &snstypes.InvalidParameterException{Message: aws.String("bad subject")}, "permanent"},
		{"network", errors.New("dial tcp: connection reset"), "temporary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &SNS{Channel: iamprune.Channel{Name: "sns", TopicARN: testTopic}, Client: &fakeSNS{err: tt.err}}
			err := s.Send(context.Background(), sampleMessage(t))
			wantErrClass(t, err, tt.want)
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("error %v does not wrap %v", err, tt.err)
			}
		})
	}
	wantErrClass(t, (&SNS{Channel: iamprune.Channel{Name: "sns"}, Client: &fakeSNS{}}).Send(context.Background(), iamprune.Message{}), "permanent")
}
