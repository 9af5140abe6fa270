// Package chatfuzz drives the reference chat server, in-process, with fuzzer-chosen schedules
// of several clients' actions (connect, send bytes whole or split, close, reset) and judges
// every session with the broadcast oracle. rapid.MakeFuzz turns the bytes `go test -fuzz`
// chooses into the same state machine that `sockspec check chat` runs (CHAT-RELAY-3).
package chatfuzz

import (
	"context"
	"net"
	"testing"

	"pgregory.net/rapid"

	"github.com/sockspec/sockspec/conformance/profile"
	"github.com/sockspec/sockspec/scenarios"
	"github.com/sockspec/sockspec/servers/chat"
	"github.com/sockspec/sockspec/servers/kit"
)

// startReference starts a fresh reference chat server on a free loopback port.
func startReference(knobs map[string]string) func(ctx context.Context) (string, func(), error) {
	return func(ctx context.Context) (string, func(), error) {
		srv, err := chat.Protocol.New(knobs, kit.Discard())
		if err != nil {
			return "", nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.Serve(ctx, kit.Listener{Stream: ln})
		}()
		return ln.Addr().String(), func() { cancel(); <-done }, nil
	}
}

func fuzzChat(f *testing.F, framing string) {
	prof, err := profile.Load("chat", "", map[string]string{"framing": framing})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(rapid.MakeFuzz(scenarios.ChatMachine(prof, 1, startReference(map[string]string{"framing": framing}))))
}

// FuzzChatRaw fuzzes sessions in the seed's raw framing.
func FuzzChatRaw(f *testing.F) { fuzzChat(f, "raw") }

// FuzzChatLines fuzzes sessions in lines framing.
func FuzzChatLines(f *testing.F) { fuzzChat(f, "lines") }
