package update

import (
	"path/filepath"
)

// BinaryTrial is a staged tether binary handed over for its trial.
type BinaryTrial struct {
	// Path is the staged binary, absolute.
	Path string
	// Version is the version it was packed as.
	Version string
}

// handOver starts a staged binary's trial: the device stops and the
// command line runs the new binary under the old one's watch.
func (s *Service) handOver(j *job) {
	if s.opts.Binary == nil {
		s.refuse(j, "this tether runs no binary trials")
		return
	}
	s.opts.Binary(BinaryTrial{Path: filepath.Join(s.opts.Root, j.Dir, BinaryFile), Version: j.Manifest.Version})
}
