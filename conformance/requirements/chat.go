package requirements

func init() {
	byProtocol["chat"] = []Requirement{
		{ID: "CHAT-WELCOME-1", Level: must, Text: "each client receives the welcome first, before any relayed message"},
		{ID: "CHAT-RELAY-1", Level: must, Text: "a message reaches every other client that was connected before it was sent, in the profile's format"},
		{ID: "CHAT-RELAY-2", Level: must, Text: "a sender never receives its own message"},
		{ID: "CHAT-RELAY-3", Level: must, Text: "exactly once: no losses, no duplicates"},
		{ID: "CHAT-ORDER-1", Level: must, Text: "each receiver sees one sender's messages in the order they were sent"},
		{ID: "CHAT-ORDER-2", Level: should, Text: "all receivers see all messages in the same order under concurrent senders"},
		{ID: "CHAT-FRAME-1", Level: must, Text: "a message written one byte at a time arrives intact"},
		{ID: "CHAT-FRAME-2", Level: info, Text: "two messages sent back to back may arrive as one (raw framing has no boundaries)"},
		{ID: "CHAT-FRAME-3", Level: must, Text: "a message of the profile's maximum size arrives intact"},
		{ID: "CHAT-UTF8-1", Level: should, Text: "bytes that are not UTF-8, or a character split across segments, are relayed or refused openly, not dropped silently"},
		{ID: "CHAT-LEAVE-1", Level: must, Text: "after a client closes (FIN), the others keep chatting"},
		{ID: "CHAT-LEAVE-2", Level: must, Text: "after a client resets (RST), the others keep chatting"},
		{ID: "CHAT-LEAVE-3", Level: should, Text: "a client that half-closes is closed by the server within 2 s"},
		{ID: "CHAT-JOIN-1", Level: should, Text: "a silent new client delays neither others joining nor their relays"},
		{ID: "CHAT-CONC-1", Level: must, Text: "50 concurrent clients each sending 20 messages: relays exactly once, no self-echo, per-sender order"},
		{ID: "CHAT-SLOW-1", Level: should, Text: "a client that stops reading delays delivery to the others by at most 2 s"},
		{ID: "CHAT-LAT-1", Level: info, Text: "relay latency p50/p99 at 2 and 50 clients"},
	}
}
