//go:build !tether_device

package cli

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"tether/internal/hub"
)

func newHubPasswdCmd(stdio Stdio) *cobra.Command {
	return &cobra.Command{
		Use:   "passwd",
		Short: "Hash a dashboard user's password for the hub's auth file",
		Long: `tether hub passwd reads a password (asked twice without echo on a
terminal, else the first line of standard input) and prints its bcrypt hash
(cost 10), to put in the hub's auth file as users.<name>.password:

  {"users": {"alice": {"password": "$2a$10$...",
                       "grants": [{"devices": ["*"], "verbs": ["view"]}]}}}

The hub never holds the password itself. Passwords have at least 8
characters.`,
		Example: `  tether hub passwd
  printf '%s\n' "$PASSWORD" | tether hub passwd`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, err := readPassword(stdio)
			if err != nil {
				return err
			}
			h, err := hub.HashPassword(pw)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdio.Out, h)
			return nil
		},
	}
}

// readPassword asks for a password twice on a terminal, or reads the first
// line of standard input.
func readPassword(stdio Stdio) (string, error) {
	if f, ok := stdio.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stdio.Err, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprint(stdio.Err, "\nAgain: ")
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stdio.Err)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("read password: the two did not match")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(stdio.In).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
