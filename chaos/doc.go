// Package chaos holds the chaos suite: tests that run the iamprune binary
// against the emulator while faults are injected (kill -9 at a chosen
// write, throttling storms, each write failing once, notice endpoints
// failing) and check that the account ends as an uninterrupted run leaves
// it and that rollback restores it. Trials are chosen by a seed, printed
// on failure; set CHAOS_SEED to replay one. The package has no code of
// its own outside tests.
package chaos
