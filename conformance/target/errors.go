package target

import (
	"fmt"
	"time"
)

// NeverListenedError says a launched target did not accept connections (or
// answer datagrams) within the start timeout (GEN-START-1).
type NeverListenedError struct {
	Network       string // "tcp" or "udp"
	Addr          string // where it was told to listen
	Timeout       time.Duration
	Output        string // the tail of its stdout and stderr
	OutputDropped int64  // earlier output bytes not kept
}

func (e *NeverListenedError) Error() string {
	return fmt.Sprintf("target never listened on %s %s within %v (it was still running and was killed); %s",
		e.Network, e.Addr, e.Timeout, describeOutput(e.Output, e.OutputDropped))
}

// ExitedDuringStartupError says a launched target exited before it
// listened (GEN-START-2).
type ExitedDuringStartupError struct {
	Network       string
	Addr          string
	Status        string // as ExitStatus: "exit status 3", "killed by signal 9 (SIGKILL)"
	Output        string
	OutputDropped int64
}

func (e *ExitedDuringStartupError) Error() string {
	return fmt.Sprintf("target exited during start-up (%s) before it listened on %s %s; %s",
		e.Status, e.Network, e.Addr, describeOutput(e.Output, e.OutputDropped))
}
