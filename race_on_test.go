//go:build race

package observe_test

// raceEnabled: the race detector is on. Allocation counts are then not the
// program's: it adds its own, and sync.Pool drops items at random.
const raceEnabled = true
