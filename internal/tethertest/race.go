//go:build race

package tethertest

const raceEnabled = true
