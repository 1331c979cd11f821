package app

import (
	"context"
	"sync"
)

// accountGates let one sweep message of an account apply at a time within
// a process, and the others wait their turn in the process rather than
// be put back on the queue: a worker that holds the next page of an
// account reads and decides it while the page before is applied, and
// applies it the moment that one is done. The run lock in the state store
// still keeps other processes off the account. The zero value is ready.
type accountGates struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

// enter waits for account's turn, or for ctx to end; the returned func
// ends the turn.
func (g *accountGates) enter(ctx context.Context, account string) (func(), error) {
	g.mu.Lock()
	if g.m == nil {
		g.m = map[string]chan struct{}{}
	}
	c, ok := g.m[account]
	if !ok {
		c = make(chan struct{}, 1)
		g.m[account] = c
	}
	g.mu.Unlock()
	select {
	case c <- struct{}{}:
		return func() { <-c }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
