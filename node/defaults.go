package node

import "time"

// Defaults are the node's tunables, gathered in one place (as
// memberlist's DefaultLANConfig) so that a reader finds every default of
// this package here. Alert delivery's are AlertOptions' (alerts.go); the
// config files' are configsync.DefaultValues.
type Defaults struct {
	// ConfigDir is the config dir when Options.ConfigDir (or
	// InitOptions.ConfigDir) is empty: "./config".
	ConfigDir string
	// LeaveGrace is how long a stopping node lets its leave message flush
	// before it closes connections: 300ms.
	LeaveGrace time.Duration
	// CloneTimeout bounds one git clone or fetch (the command's context
	// bounds it too): 2m.
	CloneTimeout time.Duration
	// GitTick is how often the git loop looks for networks due a fetch:
	// 500ms.
	GitTick time.Duration
	// WatchDebounce is how long the config watcher lets a burst of file
	// events settle (an editor's write-and-rename, a copy of several key
	// files) before one reload: 250ms.
	WatchDebounce time.Duration
	// EventLogSize is how many events /api/events keeps: 1000.
	EventLogSize int
	// ReadHeaderTimeout bounds reading an HTTP request's headers: 10s.
	ReadHeaderTimeout time.Duration
	// ShutdownTimeout bounds the HTTP server's graceful shutdown: 2s.
	ShutdownTimeout time.Duration
}

// DefaultValues returns the node's defaults.
func DefaultValues() Defaults {
	return Defaults{
		ConfigDir:         "./config",
		LeaveGrace:        300 * time.Millisecond,
		CloneTimeout:      2 * time.Minute,
		GitTick:           500 * time.Millisecond,
		WatchDebounce:     250 * time.Millisecond,
		EventLogSize:      1000,
		ReadHeaderTimeout: 10 * time.Second,
		ShutdownTimeout:   2 * time.Second,
	}
}
