#!/usr/bin/env bash
# Runs every Go fuzz target in the tree for FUZZTIME each (default 3s), one
# at a time: "make test" runs them briefly so a new crash in the committed
# corpus or a shallow one is caught; FUZZTIME=10m make fuzz for a real run.
# A crash leaves its input in the package's testdata/fuzz/ to commit as a
# regression case.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-3s}
grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' internal cmd 2>/dev/null | sort | while read -r file; do
	pkg=./$(dirname "$file")
	for name in $(grep -oE '^func Fuzz[A-Za-z0-9_]*' "$file" | cut -d' ' -f2); do
		echo "fuzz: $pkg $name for $FUZZTIME"
		# Go's fuzzer sometimes ends a clean run with "context deadline
		# exceeded" when the machine is loaded (no failing input): run such a
		# target once more; a real crash writes its input and fails at once.
		for try in 1 2; do
			if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -parallel 2 "$pkg" >/tmp/tether-fuzz.$$ 2>&1; then
				tail -1 /tmp/tether-fuzz.$$
				break
			fi
			if [ "$try" = 2 ] || grep -q 'Failing input written' /tmp/tether-fuzz.$$ || ! grep -q 'context deadline exceeded' /tmp/tether-fuzz.$$; then
				cat /tmp/tether-fuzz.$$; rm -f /tmp/tether-fuzz.$$; exit 1
			fi
			echo "fuzz: $name ended with the fuzzer's deadline flake, running it again"
		done
	done
done
rm -f /tmp/tether-fuzz.$$
