package probe

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: a
// probe must leave nothing running behind it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
