//go:build !linux

package sysinfo

// diskSpace is not measured off Linux.
func diskSpace(string) (total, free uint64, ok bool) { return 0, 0, false }
