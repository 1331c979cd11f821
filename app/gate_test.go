package app

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// One account's turns are taken one at a time, other accounts' side by
// side; a wait ends with its context.
func TestAccountGates(t *testing.T) {
	t.Parallel()
	var g accountGates
	var inA, maxA, inAll, maxAll atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		acct := "111122223333"
		if i%2 == 1 {
			acct = "444455556666"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			leave, err := g.enter(context.Background(), acct)
			if err != nil {
				t.Error(err)
				return
			}
			defer leave()
			all := inAll.Add(1)
			defer inAll.Add(-1)
			for m := maxAll.Load(); all > m && !maxAll.CompareAndSwap(m, all); m = maxAll.Load() {
			}
			if acct == "111122223333" {
				n := inA.Add(1)
				defer inA.Add(-1)
				for m := maxA.Load(); n > m && !maxA.CompareAndSwap(m, n); m = maxA.Load() {
				}
			}
			time.Sleep(20 * time.Millisecond)
		}()
	}
	wg.Wait()
	if maxA.Load() != 1 {
		t.Errorf("%d turns of one account at once, want 1", maxA.Load())
	}
	if maxAll.Load() != 2 {
		t.Errorf("%d turns at once over two accounts, want 2", maxAll.Load())
	}
	leave, err := g.enter(context.Background(), "111122223333")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := g.enter(ctx, "111122223333"); err == nil {
		t.Error("a wait for a held account ended without its context")
	}
	leave()
	if leave, err := g.enter(context.Background(), "111122223333"); err != nil {
		t.Errorf("after leave: %v", err)
	} else {
		leave()
	}
}

// Sweep messages go page by page over the accounts.
func TestPageOrder(t *testing.T) {
	t.Parallel()
	var msgs []iamprune.SweepMessage
	for _, a := range []struct {
		acct  string
		pages int
	}{{"111122223333", 1}, {"444455556666", 3}, {"555566667777", 2}} {
		for p := range a.pages {
			msgs = append(msgs, iamprune.SweepMessage{Account: a.acct, Page: p + 1, Pages: a.pages})
		}
	}
	pageOrder(msgs)
	var got []string
	for _, m := range msgs {
		got = append(got, fmt.Sprintf("%s/%d", m.Account[:3], m.Page))
	}
	if want := "111/1 444/1 555/1 444/2 555/2 444/3"; strings.Join(got, " ") != want {
		t.Errorf("order %v, want %s", got, want)
	}
}
