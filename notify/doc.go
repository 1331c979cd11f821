// Package notify tells owners about their unused IAM access: which plan
// entries to notice now (Select: first notice, reminders, changes, with
// deduplication against the notice log), to whom (Route: owner tags, routes,
// one digest per route), in what words (Render: overridable Go templates),
// and over which channels (Sender, with retries and the notice log; the
// channels are sns, slack, webhook and email).
//
// It is an adapter: it imports the root and internal packages, never another
// adapter; app and cmd import it.
package notify
