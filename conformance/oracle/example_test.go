package oracle_test

import (
	"fmt"
	"time"

	"github.com/sockspec/sockspec/conformance/oracle"
)

// A raw-framing chat server relayed alice's two messages to bob but lost the
// end of the second one.
func ExampleCheck() {
	format := oracle.MustParseFormat("<{ip}> {msg}")
	t0 := time.Unix(0, 0)
	alice := oracle.Identity{IP: "127.0.0.2"}
	bob := oracle.Identity{IP: "127.0.0.3"}
	h := oracle.History{Clients: []oracle.Client{
		{Name: "alice", ID: alice, Welcomed: t0, Complete: true, Sent: []oracle.Message{
			{Data: []byte("hello "), At: t0.Add(time.Millisecond)},
			{Data: []byte("world"), At: t0.Add(2 * time.Millisecond)},
		}},
		{Name: "bob", ID: bob, Welcomed: t0, Complete: true,
			Received: append(format.Render(alice, []byte("hello wo")), format.Render(alice, []byte("r"))...)},
	}}
	v := oracle.Check(h, oracle.Options{Framing: oracle.Raw, Format: format})
	fmt.Println(v.OK())
	fmt.Println(v.First())
	// Output:
	// false
	// CHAT-RELAY-1 loss: bob did not receive bytes 9-10 of alice's stream (in message 2 of 2) "ld", although it was sent after bob joined and bob stayed connected to the end; in all 2 of alice's bytes are missing.
}
