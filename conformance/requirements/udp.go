package requirements

// udp-upper and udp-pong share the UDP-* IDs; only udp-upper has UDP-UTF8-1 (a PONG reply
// does not depend on the datagram's bytes).
func init() {
	var (
		resp    = Requirement{ID: "UDP-RESP-1", Level: must, Text: "each datagram gets one reply, sent to its source address"}
		src     = Requirement{ID: "UDP-SRC-1", Level: must, Text: "the reply comes from the address and port the client sent to"}
		maxed   = Requirement{ID: "UDP-MAX-1", Level: must, Text: "a datagram of the maximum size is answered in full"}
		big     = Requirement{ID: "UDP-BIG-1", Level: info, Text: "what happens to a datagram above the maximum size (truncated or dropped)"}
		empty   = Requirement{ID: "UDP-EMPTY-1", Level: must, Text: "an empty datagram does not take the server down"}
		nonUTF8 = Requirement{ID: "UDP-UTF8-1", Level: must, Text: "a datagram that is not UTF-8 is answered or dropped (should) and the server keeps answering (must)"}
		conc    = Requirement{ID: "UDP-CONC-1", Level: must, Text: "50 clients on distinct source ports, interleaved, each get their own replies"}
	)
	byProtocol["udp-upper"] = []Requirement{resp, src, maxed, big, empty, nonUTF8, conc}
	byProtocol["udp-pong"] = []Requirement{resp, src, maxed, big, empty, conc}
}
