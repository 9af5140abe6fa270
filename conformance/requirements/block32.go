package requirements

func init() {
	byProtocol["block32"] = []Requirement{
		{ID: "BLK-RESP-1", Level: must, Text: "the reply block holds the request upper-cased"},
		{ID: "BLK-FRAME-1", Level: must, Text: "a length prefix split across segments is reassembled"},
		{ID: "BLK-FRAME-2", Level: must, Text: "a payload split across segments is reassembled"},
		{ID: "BLK-FRAME-3", Level: must, Text: "a zero-length block gets a zero-length reply"},
		{ID: "BLK-FRAME-4", Level: must, Text: "a 1 MiB block is answered intact"},
		{ID: "BLK-BAD-1", Level: must, Text: "a client closing in the middle of a block does not take the server down"},
		{ID: "BLK-BAD-2", Level: must, Text: "an over-limit declared length closes the connection without allocating it (should) and the server survives (must)"},
		{ID: "BLK-UTF8-1", Level: must, Text: "a payload that is not UTF-8 gets a reply or an open refusal (should) and the server survives (must)"},
		{ID: "BLK-CONC-1", Level: should, Text: "concurrent clients are served concurrently"},
	}
}
