//go:build race

package config

// raceEnabled reports whether the test binary was built with -race.
const raceEnabled = true
