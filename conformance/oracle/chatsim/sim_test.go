package chatsim

import (
	"testing"

	"github.com/sockspec/sockspec/conformance/oracle"
)

func TestSimRelaysChunksToConnectedClients(t *testing.T) {
	s := New(oracle.Raw, oracle.MustParseFormat("<{ip}> {msg}"), 3)
	s.Join(0)
	s.Join(1)
	s.Send(0, []byte("hello"))
	s.Read(0, 2)
	s.Join(2) // joins after the first chunk was relayed
	s.Finish()
	if got := string(s.Received(1)); got != "<127.0.0.2> he<127.0.0.2> llo" {
		t.Errorf("client 1 received %q", got)
	}
	if got := string(s.Received(2)); got != "<127.0.0.2> llo" {
		t.Errorf("late joiner received %q", got)
	}
	if got := s.Received(0); len(got) != 0 {
		t.Errorf("sender received %q", got)
	}
	h := s.History()
	if !h.Clients[1].Complete || h.Clients[0].Sent[0].At.Before(h.Clients[0].Welcomed) {
		t.Errorf("history: %+v", h.Clients[:2])
	}
	if v := oracle.Check(h, s.Options()); !v.OK() {
		t.Errorf("oracle rejected the model's history:\n%s", v)
	}
}

func TestSimLeaving(t *testing.T) {
	s := New(oracle.Lines, oracle.MustParseFormat("{msg}"), 3)
	for i := range 3 {
		s.Join(i)
	}
	s.Send(0, []byte("one"))
	s.Send(1, []byte("two\n"))
	s.Leave(0, oracle.Reset, 0)  // its unread line is lost
	s.Leave(1, oracle.Closed, 2) // its line is read first; it misses 2 bytes
	s.Finish()
	if got := string(s.Received(2)); got != "two\n" {
		t.Errorf("client 2 received %q", got)
	}
	if s.Send(0, []byte("late")) {
		t.Error("a client that left could still send")
	}
	h := s.History()
	if h.Clients[0].Complete || h.Clients[0].How != oracle.Reset || h.Clients[0].Left.IsZero() {
		t.Errorf("reset client recorded as %+v", h.Clients[0])
	}
	if v := oracle.Check(h, s.Options()); !v.OK() {
		t.Errorf("oracle rejected the model's history:\n%s", v)
	}
}
