package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/iamprune/iamprune"
)

// Slack limits (https://api.slack.com/reference/block-kit).
const (
	slackMaxBlocks      = 50
	slackMaxHeaderChars = 150
	slackMaxTextChars   = 3000
	// slackMaxServices bounds one item's service list; the e-mail and
	// webhook digests carry the full list.
	slackMaxServices = 20
)

// Slack posts a digest to a Slack incoming webhook as Block Kit: a header
// (the subject), one section per principal, a context block with the dates
// and the exception-request link, and the plain `text` fallback that
// notifications and old clients show.
type Slack struct {
	Channel iamprune.Channel
	// Getenv reads WebhookURLEnv; os.Getenv in production.
	Getenv func(string) string
	// Client defaults to one with a timeout that follows no redirects.
	Client *http.Client
}

var _ iamprune.Notifier = (*Slack)(nil)

// Name returns the channel name.
func (s *Slack) Name() string { return s.Channel.Name }

// Send posts m. The webhook URL never appears in returned errors.
func (s *Slack) Send(ctx context.Context, m iamprune.Message) error {
	url, err := s.webhookURL()
	if err != nil {
		return err
	}
	body, err := json.Marshal(slackPayload(m))
	if err != nil {
		return permanent(fmt.Errorf("notify: channel %q: cannot encode Slack payload: %w", s.Channel.Name, err))
	}
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	return post(ctx, s.Client, s.Channel.Name, url, body, h)
}

// webhookURL prefers the environment (the URL is a credential) and falls
// back to webhook_url from the file.
func (s *Slack) webhookURL() (string, error) {
	if s.Channel.WebhookURLEnv != "" {
		u, err := secretFromEnv(s.Channel, s.Getenv, "webhook_url_env", s.Channel.WebhookURLEnv)
		if err != nil {
			return "", err
		}
		// Checked when resolved, by the rules the file's URLs get at load.
		if err := iamprune.CheckEndpoint(u); err != nil {
			return "", configError(s.Channel, "webhook_url_env %s: the URL %v", s.Channel.WebhookURLEnv, err)
		}
		return u, nil
	}
	if s.Channel.WebhookURL != "" {
		return s.Channel.WebhookURL, nil
	}
	return "", configError(s.Channel, "webhook_url_env or webhook_url is required")
}

type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string       `json:"type"`
	Text     *slackText   `json:"text,omitempty"`
	Elements []*slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

func mrkdwn(s string) *slackText { return &slackText{Type: "mrkdwn", Text: s} }

// slackSection is one section's text and what it covers, so that the block
// cap can say how much it left out.
type slackSection struct {
	text      string
	principal int // index in Digest.Principals, -1 for others
	items     int
}

// slackPayload builds the message. Sections split a principal whose items
// exceed the section limit; past the block limit, the last section says how
// many items and principals were left out.
func slackPayload(m iamprune.Message) slackMessage {
	subject := m.Subject
	if subject == "" {
		subject = "iamprune notification"
	}
	msg := slackMessage{Text: slackFallback(m)}
	msg.Blocks = append(msg.Blocks, slackBlock{
		Type: "header",
		Text: &slackText{Type: "plain_text", Text: truncateRunes(subject, slackMaxHeaderChars), Emoji: true},
	})
	var sections []slackSection
	var ctxBlock *slackBlock
	if d := m.Digest; d != nil {
		if len(d.Errors) > 0 {
			sections = append(sections, slackErrorSections(d.Errors)...)
		}
		for i, p := range d.Principals {
			sections = append(sections, slackPrincipalSections(i, p)...)
		}
		ctxBlock = slackContext(d)
	} else if m.Text != "" {
		for _, chunk := range splitText(escapeMrkdwn(m.Text), slackMaxTextChars) {
			sections = append(sections, slackSection{text: chunk, principal: -1})
		}
	}
	budget := slackMaxBlocks - 1 // the header
	if ctxBlock != nil {
		budget--
	}
	if len(sections) > budget {
		kept := sections[:budget-1]
		sections = append(kept, slackOmitted(kept, sections[budget-1:]))
	}
	for _, s := range sections {
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Text: mrkdwn(s.text)})
	}
	if ctxBlock != nil {
		msg.Blocks = append(msg.Blocks, *ctxBlock)
	}
	return msg
}

// slackFallback is the `text` field: what a push notification shows.
func slackFallback(m iamprune.Message) string {
	s := m.Subject
	if d := m.Digest; d != nil {
		n := 0
		for _, p := range d.Principals {
			n += len(p.Items)
		}
		s += fmt.Sprintf(" (%s for %s)", plural(n, "item"), plural(len(d.Principals), "principal"))
	} else if s == "" {
		s = m.Text
	}
	return truncateRunes(s, slackMaxTextChars)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func slackPrincipalSections(idx int, p iamprune.DigestPrincipal) []slackSection {
	head := "*" + escapeMrkdwn(p.ARN) + "*"
	if p.Owner != "" {
		head += "  (owner: " + escapeMrkdwn(p.Owner) + ")"
	}
	var out []slackSection
	cur := slackSection{text: head, principal: idx}
	for _, it := range p.Items {
		line := truncateRunes(slackItem(it), slackMaxTextChars-len([]rune(head))-len(" (continued)")-1)
		if len([]rune(cur.text))+1+len([]rune(line)) > slackMaxTextChars && cur.items > 0 {
			out = append(out, cur)
			cur = slackSection{text: head + " (continued)", principal: idx}
		}
		cur.text += "\n" + line
		cur.items++
	}
	return append(out, cur)
}

// slackItem renders one item: what, how long unused, what happens when,
// why; for a change already made, how to undo it.
func slackItem(it iamprune.DigestItem) string {
	var b strings.Builder
	if it.DoneRunID != "" {
		fmt.Fprintf(&b, "• :white_check_mark: *done: %s*", escapeMrkdwn(string(it.Kind)))
	} else {
		fmt.Fprintf(&b, "• *%s*", escapeMrkdwn(string(it.Kind)))
	}
	if it.Target != "" {
		fmt.Fprintf(&b, " `%s`", codeSpan(it.Target))
	}
	if it.FindingType != "" {
		fmt.Fprintf(&b, " (%s)", escapeMrkdwn(string(it.FindingType)))
	}
	if len(it.Services) > 0 {
		svcs := it.Services
		more := ""
		if len(svcs) > slackMaxServices {
			more = fmt.Sprintf(" … and %d more", len(svcs)-slackMaxServices)
			svcs = svcs[:slackMaxServices]
		}
		fmt.Fprintf(&b, "\n    services: %s%s", escapeMrkdwn(strings.Join(svcs, ", ")), more)
	}
	var facts []string
	if it.UnusedDays > 0 {
		facts = append(facts, fmt.Sprintf("unused %d days", it.UnusedDays))
	}
	if it.RemediateOn != "" {
		if it.DoneRunID != "" {
			facts = append(facts, "due "+escapeMrkdwn(it.RemediateOn))
		} else {
			facts = append(facts, "remediate on *"+escapeMrkdwn(it.RemediateOn)+"*")
		}
	}
	if it.Notice != "" {
		facts = append(facts, "_"+escapeMrkdwn(it.Notice)+"_")
	}
	if len(facts) > 0 {
		b.WriteString("\n    " + strings.Join(facts, " · "))
	}
	if it.Reason != "" {
		b.WriteString("\n    " + escapeMrkdwn(it.Reason))
	}
	if it.RollbackCommand != "" {
		fmt.Fprintf(&b, "\n    undo: `%s`", codeSpan(it.RollbackCommand))
	}
	return b.String()
}

func slackErrorSections(errs []string) []slackSection {
	var b strings.Builder
	b.WriteString("*:warning: Run errors*")
	for _, e := range errs {
		b.WriteString("\n• " + escapeMrkdwn(e))
	}
	var out []slackSection
	for _, chunk := range splitText(b.String(), slackMaxTextChars) {
		out = append(out, slackSection{text: chunk, principal: -1})
	}
	return out
}

// slackOmitted replaces the sections past the block cap.
func slackOmitted(kept, dropped []slackSection) slackSection {
	shown := map[int]bool{}
	for _, s := range kept {
		shown[s.principal] = true
	}
	items, principals := 0, map[int]bool{}
	for _, s := range dropped {
		items += s.items
		if s.principal >= 0 && !shown[s.principal] {
			principals[s.principal] = true
		}
	}
	word := "items"
	if items == 1 {
		word = "item"
	}
	text := fmt.Sprintf("… and %d more %s", items, word)
	if len(principals) > 0 {
		text += fmt.Sprintf(" (%s not shown)", plural(len(principals), "principal"))
	}
	text += ": run `iamprune plan` for the full list."
	return slackSection{text: text, principal: -1}
}

func slackContext(d *iamprune.Digest) *slackBlock {
	parts := []string{"generated " + d.GeneratedAt.UTC().Format("2006-01-02 15:04 MST")}
	if next := nextRemediateOn(d); next != "" {
		parts = append(parts, "next remediation *"+escapeMrkdwn(next)+"*")
	}
	if d.Account != "" {
		parts = append(parts, "account "+escapeMrkdwn(d.Account))
	}
	if d.Route != "" {
		parts = append(parts, "route "+escapeMrkdwn(d.Route))
	}
	b := &slackBlock{Type: "context", Elements: []*slackText{mrkdwn(strings.Join(parts, " · "))}}
	if d.ExceptionRequestURL != "" {
		b.Elements = append(b.Elements, mrkdwn(truncateRunes(
			"Need to keep something? <"+escapeLinkURL(d.ExceptionRequestURL)+"|Ask for an exception>", slackMaxTextChars)))
	}
	return b
}

// nextRemediateOn is the earliest remediate_on among items not yet done
// (ISO dates compare as strings).
func nextRemediateOn(d *iamprune.Digest) string {
	next := ""
	for _, p := range d.Principals {
		for _, it := range p.Items {
			if it.DoneRunID == "" && it.RemediateOn != "" && (next == "" || it.RemediateOn < next) {
				next = it.RemediateOn
			}
		}
	}
	return next
}

// escapeMrkdwn escapes the three characters Slack requires escaped; the
// rest of mrkdwn (*, _, `) is left to the caller.
func escapeMrkdwn(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// codeSpan escapes text for an inline code span, which cannot hold a
// backtick.
func codeSpan(s string) string {
	return strings.ReplaceAll(escapeMrkdwn(s), "`", "'")
}

// escapeLinkURL keeps a URL from closing Slack's <url|label> syntax.
func escapeLinkURL(s string) string {
	return strings.NewReplacer("<", "%3C", ">", "%3E", "|", "%7C").Replace(s)
}

// splitText cuts s into chunks of at most n runes, at a line break when one
// is in the second half of the chunk.
func splitText(s string, n int) []string {
	r := []rune(s)
	var out []string
	for len(r) > n {
		cut := n
		for i := n - 1; i > n/2; i-- {
			if r[i] == '\n' {
				cut = i
				break
			}
		}
		out = append(out, string(r[:cut]))
		r = r[cut:]
		if len(r) > 0 && r[0] == '\n' {
			r = r[1:]
		}
	}
	if len(r) > 0 || len(out) == 0 {
		out = append(out, string(r))
	}
	return out
}
