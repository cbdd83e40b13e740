// Package jitter spreads periodic waits, so that members (or one node's
// many timers) that start together do not stay in lockstep.
package jitter

import (
	"math/rand/v2"
	"time"
)

// Spread returns d spread uniformly by ±10 %: a value in [0.9 d, 1.1 d].
func Spread(d time.Duration) time.Duration {
	return d - d/10 + rand.N(d/5+1)
}
