package app

import (
	"testing"

	"github.com/iamprune/iamprune"
)

func TestLRU(t *testing.T) {
	t.Parallel()
	l := newLRU(2)
	l.add("a")
	l.add("b")
	l.contains("a") // a is now the most recently used
	l.add("c")
	if !l.contains("a") || l.contains("b") || !l.contains("c") {
		t.Errorf("want a and c kept, b evicted")
	}
}

func TestWithStackTopic(t *testing.T) {
	t.Parallel()
	const topic = "arn:aws:sns:us-east-1:111122223333:iamprune"
	n := iamprune.DefaultNotifications()
	if err := WithStackTopic(&n, topic); err != nil {
		t.Fatal(err)
	}
	if len(n.Channels) != 1 || n.Channels[0].TopicARN != topic || len(n.Default) != 1 || n.Default[0] != stackTopicChannel {
		t.Errorf("stack topic not added as the default: %+v", n)
	}
	// Already configured: unchanged.
	before := len(n.Channels)
	if err := WithStackTopic(&n, topic); err != nil || len(n.Channels) != before {
		t.Errorf("added twice: %+v, %v", n.Channels, err)
	}
	// A config with its own default keeps it; the topic is only a channel.
	n = iamprune.DefaultNotifications()
	n.Channels = []iamprune.Channel{{Name: "sec", Type: iamprune.ChannelSNS, TopicARN: "arn:aws:sns:us-east-1:111122223333:sec"}}
	n.Default = []string{"sec"}
	if err := WithStackTopic(&n, topic); err != nil || n.Default[0] != "sec" || len(n.Channels) != 2 {
		t.Errorf("default overridden: %+v, %v", n, err)
	}
	if err := WithStackTopic(&n, "not-an-arn"); err == nil {
		t.Error("a bad topic ARN was accepted")
	}
}
