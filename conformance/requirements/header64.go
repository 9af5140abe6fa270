package requirements

func init() {
	byProtocol["header64"] = []Requirement{
		{ID: "HDR-FRAME-1", Level: must, Text: "a well-formed message is accepted and the connection stays open"},
		{ID: "HDR-FRAME-2", Level: must, Text: "a header arriving one byte per segment is reassembled"},
		{ID: "HDR-FRAME-3", Level: must, Text: "several messages coalesced into one segment are each processed"},
		{ID: "HDR-FRAME-4", Level: must, Text: "a body split across segments is reassembled"},
		{ID: "HDR-FRAME-5", Level: must, Text: "a zero-length message is accepted"},
		{ID: "HDR-DISC-1", Level: must, Text: "the server closes the connection within 2 s of the disconnect token"},
		{ID: "HDR-DISC-2", Level: must, Text: "a client leaving without the token is cleaned up and the others are still served"},
		{ID: "HDR-BAD-1", Level: must, Text: "a non-numeric header closes that connection within 2 s (should) and the others are still served (must)"},
		{ID: "HDR-BAD-2", Level: must, Text: "a negative or over-limit length closes the connection without allocating it (should) and the others are still served (must)"},
		{ID: "HDR-UTF8-1", Level: should, Text: "a body that is not UTF-8 is refused openly, not by a session that silently dies"},
		{ID: "HDR-REPLY-1", Level: must, Text: "in ack or echo reply mode, each message gets one reply, in order"},
		{ID: "HDR-CONC-1", Level: must, Text: "50 concurrent clients each sending 20 messages and the token are all closed properly"},
	}
}
