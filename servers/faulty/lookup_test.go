package faulty

import (
	"context"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockspec/sockspec/servers/kit"
)

// serveAndStop serves srv on 127.0.0.1:0, lets one client send req and leave, then stops the
// server: Serve must return within 2 s and leave no goroutine behind, whatever the bug.
func serveAndStop(t *testing.T, srv kit.Server, req string) {
	t.Helper()
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, kit.Listener{Stream: ln}) }()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(300 * time.Millisecond))
	c.Write([]byte(req))
	c.Read(make([]byte, 256)) // a reply, a close or the deadline: any will do
	c.Close()
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Serve still running 2 s after cancel")
	}
}

func TestLookupBugsStop(t *testing.T) {
	if _, err := NewLookup("no-such-bug"); err == nil {
		t.Error("NewLookup accepted an unknown bug")
	}
	for bug := range LookupBugs {
		t.Run(bug, func(t *testing.T) {
			s, err := NewLookup(bug)
			if err != nil {
				t.Fatal(err)
			}
			serveAndStop(t, s, "NOBODY")
		})
	}
}
