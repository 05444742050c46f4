package cli

// The applications and drivers compiled into tether: each registers itself
// by name in its init function, and app.json picks one.
import (
	_ "tether/internal/apps/demo"
	_ "tether/internal/apps/echoserver"
	_ "tether/internal/apps/process"
	_ "tether/internal/apps/recovery"
	_ "tether/internal/drivers/fake"
	_ "tether/internal/drivers/serial"
)
