package web

import (
	"compress/gzip"
	"io"
	"sync"
)

// gzipWriters holds gzip writers for reuse. A writer holds about 800 KB of
// compressor state whatever its level, so one per asset or per request
// would cost a small device megabytes of garbage; the pool keeps one or
// two alive while they are used and lets the GC take them when idle.
var gzipWriters sync.Pool

// getGzip returns a gzip writer (default level) writing to w; give it
// back with putGzip after Close.
func getGzip(w io.Writer) *gzip.Writer {
	if zw, ok := gzipWriters.Get().(*gzip.Writer); ok {
		zw.Reset(w)
		return zw
	}
	return gzip.NewWriter(w)
}

// putGzip returns zw to the pool, dropping its reference to the output.
func putGzip(zw *gzip.Writer) {
	zw.Reset(io.Discard)
	gzipWriters.Put(zw)
}
