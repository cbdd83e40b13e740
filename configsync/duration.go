package configsync

import (
	"time"
)

// Duration is a time.Duration written as a string in config files ("1s",
// "500ms", "2m").
type Duration time.Duration

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalYAML writes d as a duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }
