package header64

import (
	"log/slog"
	"testing"
	"time"

	"github.com/sockspec/sockspec/servers/internal/servertest"
	"github.com/sockspec/sockspec/servers/kit"
)

// The shared test helpers live in servers/internal/servertest; these names keep the tests short.
const ioTimeout = servertest.IOTimeout

type logBuffer = servertest.LogBuffer

var (
	dial      = servertest.Dial
	write     = servertest.Write
	readN     = servertest.ReadN
	readToEOF = servertest.ReadToEOF
	isReset   = servertest.IsReset
	isTimeout = servertest.IsTimeout
	quote     = servertest.Quote
)

// testServer is a server on 127.0.0.1:0, serving in a goroutine, with its logs captured.
type testServer struct {
	addr string
	logs *logBuffer
	stop func() time.Duration // cancels Serve and returns how long it took to return
}

// start runs a server with the given knobs, stopped and leak-checked at the end of the test.
func start(t *testing.T, knobs map[string]string) *testServer {
	t.Helper()
	cfg, err := ParseConfig(knobs)
	if err != nil {
		t.Fatalf("ParseConfig(%v): %v", knobs, err)
	}
	s := servertest.Start(t, func(log *slog.Logger) kit.Server { return New(cfg, log) })
	return &testServer{addr: s.Addr, logs: s.Logs, stop: s.Stop}
}
