package requirements

func init() {
	byProtocol["lookup"] = []Requirement{
		{ID: "LOOK-RESP-1", Level: must, Text: "each known name gets its office"},
		{ID: "LOOK-CASE-1", Level: must, Text: "names are case-insensitive: john, John and JOHN are the same"},
		{ID: "LOOK-WS-1", Level: should, Text: "a trailing newline or trailing spaces are ignored"},
		{ID: "LOOK-UNK-1", Level: must, Text: "an unknown name gets a reply rather than a silent close (should) and the server goes on serving others (must)"},
		{ID: "LOOK-MULTI-1", Level: must, Text: "with many requests per connection, each one is answered"},
		{ID: "LOOK-CONC-1", Level: should, Text: "a connected client does not stop a second one being served"},
	}
}
