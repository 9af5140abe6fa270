//go:build !unix

package chat

import "time"

// cpuTime is not measured here.
func cpuTime() time.Duration { return 0 }
