package render

import (
	"fmt"
	"io"
	"time"

	"github.com/iamprune/iamprune"
)

// LockHolder tells who holds an account's run lock, since when, and when
// its lease ends (as of now), before unlock asks to break it.
func LockHolder(w io.Writer, account string, info *iamprune.LockInfo, now time.Time) {
	lease := "its lease ends at " + info.ExpiresAt.UTC().Format(time.RFC3339)
	if !now.Before(info.ExpiresAt) {
		lease = "its lease has ended; the next run takes it over anyway"
	}
	fmt.Fprintf(w, "Account %s is locked by %s since %s; %s.\n", account, info.Owner, info.AcquiredAt.UTC().Format(time.RFC3339), lease)
}

// LockBroken says that unlock broke the lock info held, and what comes next.
func LockBroken(w io.Writer, account string, info *iamprune.LockInfo) {
	dead := "the dead run"
	if info.Owner.RunID != "" {
		dead = "run " + info.Owner.RunID
	}
	fmt.Fprintf(w, "Broke the lock of account %s. The next iamprune apply (or iamprune rollback RUN_ID) first\nresolves what %s left pending from the live state and closes it as interrupted.\n", account, dead)
}
