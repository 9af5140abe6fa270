package requirements

func init() {
	byProtocol["upper"] = []Requirement{
		{ID: "UP-RESP-1", Level: must, Text: "the reply is the request upper-cased by the profile's case rule"},
		{ID: "UP-STREAM-1", Level: must, Text: "in stream mode, several requests on one connection are each answered"},
		{ID: "UP-SPLIT-1", Level: must, Text: "in stream mode, a multi-byte character split across two segments is upper-cased correctly"},
		{ID: "UP-LARGE-1", Level: must, Text: "in stream mode, 64 KiB sent at once is answered in full"},
		{ID: "UP-EOF-1", Level: must, Text: "when the client closes, the server closes too, without a busy loop"},
		{ID: "UP-UTF8-1", Level: must, Text: "bytes that are not UTF-8 get an answer or an open refusal (should) and the server goes on serving others (must)"},
		{ID: "UP-CONC-1", Level: should, Text: "a second client is answered while the first stays connected (should); the concurrency model is diagnosed (info)"},
		{ID: "UP-IDLE-1", Level: should, Text: "up to 8 connected but silent clients do not stop a new client being served"},
	}
}
