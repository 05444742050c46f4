package relaylog

import (
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// rotate renames the current file to Path.<its day> (or Path.<day>.N when
// that name is taken: the file reached MaxSize, or the day has several)
// and starts a new one for day; called with l.mu held. When the file
// cannot be rotated, writing goes on into it.
func (l *Log) rotate(day string) {
	if l.size == 0 {
		l.day = day
		return
	}
	if l.flush() != nil {
		return
	}
	l.f.Close()
	l.f = nil
	if err := os.Rename(l.opts.Path, l.rotatedName()); err != nil && !os.IsNotExist(err) {
		l.log.Error("rotate "+l.opts.What+": writing on into the current file", "path", l.opts.Path, "err", err)
		l.day = day
	} else {
		l.day, l.size, l.synced = day, 0, 0
	}
	if err := l.open(); err != nil {
		l.failed(err, 0)
		return
	}
	if l.size == 0 {
		l.prune()
	}
}

// rotatedName names the current file once rotated: Path.<day> for the
// day's first, Path.<day>.N after the newest of that day (even when older
// ones were removed, so names keep their order).
func (l *Log) rotatedName() string {
	base := l.opts.Path + "." + l.day
	next := -1
	for _, f := range l.rotatedFiles() {
		if f.day == l.day {
			next = max(next, f.n)
		}
	}
	if next < 0 {
		return base
	}
	return base + "." + strconv.Itoa(next+1)
}

// rotated is a rotated file: its day, its number within the day (0 for
// the first) and its size.
type rotated struct {
	path string
	day  string
	n    int
	size int64
}

// rotatedFiles lists the rotated files beside Path, oldest first.
func (l *Log) rotatedFiles() []rotated {
	matches, _ := filepath.Glob(l.opts.Path + ".*")
	var out []rotated
	for _, m := range matches {
		day, num, _ := strings.Cut(strings.TrimPrefix(m, l.opts.Path+"."), ".")
		if _, err := time.Parse(time.DateOnly, day); err != nil {
			continue
		}
		n, err := strconv.Atoi(cmp.Or(num, "0"))
		if err != nil {
			continue
		}
		fi, err := os.Lstat(m)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		out = append(out, rotated{path: m, day: day, n: n, size: fi.Size()})
	}
	slices.SortFunc(out, func(a, b rotated) int { return cmp.Or(strings.Compare(a.day, b.day), cmp.Compare(a.n, b.n)) })
	return out
}

// prune removes rotated files older than the retention period, then the
// oldest ones while the rotated files and a full current file would pass
// MaxTotal.
func (l *Log) prune() {
	files := l.rotatedFiles()
	var cutoff string
	if l.opts.Retention > 0 {
		cutoff = l.opts.Now().Add(-l.opts.Retention).Format(time.DateOnly)
	}
	var total int64
	for _, f := range files {
		total += f.size
	}
	for _, f := range files {
		if f.day >= cutoff && total+l.opts.MaxSize <= l.opts.MaxTotal {
			break
		}
		if os.Remove(f.path) == nil {
			total -= f.size
		}
	}
}
