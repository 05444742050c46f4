//go:build !race

package tethertest

const raceEnabled = false
