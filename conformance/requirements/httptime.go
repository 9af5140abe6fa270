package requirements

func init() {
	byProtocol["httptime"] = []Requirement{
		{ID: "HTTP-GET-1", Level: must, Text: "GET answers 200 with Hello From Server at and the current date and time"},
		{ID: "HTTP-CT-1", Level: should, Text: "Content-Type is a valid media type with charset=utf-8"},
		{ID: "HTTP-CL-1", Level: must, Text: "Content-Length is present (should) and equals the body's length (must)"},
		{ID: "HTTP-HEAD-1", Level: should, Text: "HEAD answers like GET, without a body"},
		{ID: "HTTP-METHOD-1", Level: must, Text: "an unsupported method gets 405 or 501 and the server survives"},
		{ID: "HTTP-BAD-1", Level: must, Text: "a malformed request line gets 400 or a close and the server survives"},
		{ID: "HTTP-KA-1", Level: info, Text: "whether HTTP/1.1 keep-alive is honoured"},
		{ID: "HTTP-CONC-1", Level: must, Text: "50 concurrent GETs all succeed"},
		{ID: "HTTP-SLOW-1", Level: should, Text: "a client sending its request one byte a second does not block others"},
	}
}
