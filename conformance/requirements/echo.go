package requirements

func init() {
	byProtocol["echo"] = []Requirement{
		{ID: "ECHO-RESP-1", Level: must, Text: "every byte value comes back unchanged and in order"},
		{ID: "ECHO-LARGE-1", Level: must, Text: "1 MiB written while the client reads concurrently comes back intact"},
		{ID: "ECHO-HALF-1", Level: must, Text: "after the client half-closes, the server sends the rest and closes"},
		{ID: "ECHO-CONC-1", Level: must, Text: "50 concurrent clients are each echoed correctly"},
		{ID: "ECHO-IDLE-1", Level: should, Text: "silent clients do not stop others being served"},
	}
}
