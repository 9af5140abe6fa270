package requirements

import "github.com/sockspec/sockspec/conformance/result"

const (
	must   = result.Must
	should = result.Should
	info   = result.Info
)

var general = []Requirement{
	{ID: "GEN-START-1", Level: must, LaunchOnly: true, Text: "a launched target accepts connections (or datagrams) on its port within the start timeout"},
	{ID: "GEN-START-2", Level: must, LaunchOnly: true, Text: "a launched target does not exit before it listens"},
	{ID: "GEN-ALIVE-1", Level: must, Text: "after every spec the target is still running and answers a plain valid request"},
	{ID: "GEN-IDLE-1", Level: must, LaunchOnly: true, Text: "once clients have gone, CPU use returns to idle (under 10% of a core over 1 s)"},
	{ID: "GEN-LEAK-1", Level: should, LaunchOnly: true, Text: "open descriptors and threads return to their baseline after clients leave"},
	{ID: "GEN-BAD-1", Level: must, Text: "non-UTF-8 bytes, an overlong request, or a connect-and-close never take the server down"},
}
