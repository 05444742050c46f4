package recovery

import (
	"errors"

	"tether/internal/config"
)

// reasonText renders why the device is in recovery: a config error as one
// located problem per line, anything else as its message.
func reasonText(err error) string {
	if err == nil {
		return "the recovery app was started directly"
	}
	if ce := (*config.Error)(nil); errors.As(err, &ce) && config.HasErrors(ce.Problems) {
		return "the config does not load:\n" + ce.Describe()
	}
	return err.Error()
}
