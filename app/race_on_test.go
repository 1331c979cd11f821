//go:build race

package app

// raceEnabled: the race detector changes allocation sizes and speed, so
// memory ceilings are not checked under it.
const raceEnabled = true
