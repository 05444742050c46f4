// Command tether runs a networked device, the hub its devices call home to,
// and the tools that go with them. See README.md, or run "tether --help".
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"tether/internal/cli"
)

func main() {
	err := cli.Run(context.Background(), os.Args[1:], cli.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	if err == nil {
		return
	}
	var ee *cli.ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(os.Stderr, "Error: %v\n", ee.Err)
		}
		os.Exit(ee.Code)
	}
	fmt.Fprintf(os.Stderr, "Error: %v\n", err)
	var ue *cli.UsageError
	if errors.As(err, &ue) && ue.Hint != "" {
		fmt.Fprintf(os.Stderr, "Try: %s\n", ue.Hint)
	}
	os.Exit(1)
}
