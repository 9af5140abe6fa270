package echo

import (
	"log/slog"
	"maps"
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

// engine is a set of knobs choosing how the server serves connections; every end-to-end test
// runs once per engine (see engines).
type engine struct {
	name  string
	knobs map[string]string
}

// engines: the default, each engine by name, and the epoll engine with several loops (so that
// loops share the listener).
var engines = []engine{
	{"default", nil},
	{"goroutines", map[string]string{"engine": "goroutines"}},
	{"epoll", map[string]string{"engine": "epoll"}},
	{"epoll-3loops", map[string]string{"engine": "epoll", "loops": "3"}},
}

// eachEngine runs body as one subtest per engine.
func eachEngine(t *testing.T, body func(t *testing.T, e engine)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { body(t, e) })
	}
}

// start runs a server with the engine's knobs plus the given ones, stopped and leak-checked
// at the end of the test; so a test (or subtest) starts at most one server.
func (e engine) start(t *testing.T, knobs map[string]string) *testServer {
	t.Helper()
	all := maps.Clone(e.knobs)
	if all == nil {
		all = map[string]string{}
	}
	maps.Copy(all, knobs)
	cfg, err := ParseConfig(all)
	if err != nil {
		t.Fatalf("ParseConfig(%v): %v", all, err)
	}
	s := servertest.Start(t, func(log *slog.Logger) kit.Server { return New(cfg, log) })
	return &testServer{addr: s.Addr, logs: s.Logs, stop: s.Stop}
}
