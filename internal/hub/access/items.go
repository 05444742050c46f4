package access

import (
	"strings"

	"tether/internal/wire"
)

// adminItems are the command protocol's operator items: what changes a
// device's configuration or where it connects, restarts it, repairs it in
// recovery, updates it, or reads its configuration or log. Whatever the
// kind (GET or CMD), an item named here needs Admin; so does any item
// named with one of adminPrefixes (updates: update_stage, update_commit...;
// and any item an app names admin_...). docs/PROTOCOL.md and
// docs/SECURITY.md list them.
var (
	adminItems = []string{
		"restart", // the app's (package ops) and recovery's
		"config",  // GET config: the config files, masked
		"apply_config", "confirm_config", "revert_config",
		"log", // GET log: the persistent tail
		"log_subscribe", "log_unsubscribe",
		"status",        // recovery's GET status: its config files and log
		"save_config",   // recovery
		"test_new_sta",  // joins another network
		"store_new_sta", // stores another network
		"update",
		"enroll", // CMD enroll: calls another hub home with a certificate
	}
	adminPrefixes = []string{"update_", "admin_"}
	adminSet      = func() map[string]bool {
		m := map[string]bool{}
		for _, it := range adminItems {
			m[it] = true
		}
		return m
	}()
)

// AdminItem reports whether the item (a command protocol item's name)
// needs Admin.
func AdminItem(item string) bool {
	if adminSet[item] {
		return true
	}
	for _, p := range adminPrefixes {
		if strings.HasPrefix(item, p) {
			return true
		}
	}
	return false
}

// AdminItems lists the operator items by name, then the prefixes as
// "update_*", for help texts and docs.
func AdminItems() []string {
	out := append([]string(nil), adminItems...)
	for _, p := range adminPrefixes {
		out = append(out, p+"*")
	}
	return out
}

// maxWhat bounds the item name Need.What quotes.
const maxWhat = 64

// Need is what a page's message needs: the verb, and the request as the
// audit log and refusals name it ("CMD restart").
type Need struct {
	Verb Verb
	What string
}

// Needed says what a page's message needs. A command ["GET"|"CMD", item,
// args] needs Drive, or Admin for an operator item (AdminItem). Anything
// the hub cannot read as a command (binary, not JSON, not a request) needs
// Admin: the hub forwards only what it can check to a page without it, so
// a device that reads requests differently cannot be handed an operator
// item in disguise. It decodes with the device's own decoder (package wire).
func Needed(binary bool, data []byte) Need {
	if binary {
		return Need{Verb: Admin, What: "a binary message"}
	}
	req, err := wire.Decode(data)
	if err != nil {
		return Need{Verb: Admin, What: "a message that is not a command"}
	}
	what := req.Kind + " " + req.Item
	if len(req.Item) > maxWhat {
		what = req.Kind + " " + strings.ToValidUTF8(req.Item[:maxWhat], "") + "..."
	}
	if AdminItem(req.Item) {
		return Need{Verb: Admin, What: what}
	}
	return Need{Verb: Drive, What: what}
}
