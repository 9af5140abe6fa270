package requirements

func init() {
	byProtocol["datetime"] = []Requirement{
		{ID: "DT-DATE-1", Level: must, Text: "Date gets today's date as YYYY-MM-DD"},
		{ID: "DT-TIME-1", Level: must, Text: "Time gets the current time as HH:MM:SS"},
		{ID: "DT-DT-1", Level: must, Text: "Date and Time gets the current YYYY-MM-DD HH:MM:SS.ffffff"},
		{ID: "DT-DT-2", Level: should, Text: "DateAndTime is accepted as the third option too"},
		{ID: "DT-UNK-1", Level: must, Text: "any other request gets exactly UNKNOWN OPTION: and the request upper-cased"},
		{ID: "DT-CONC-1", Level: should, Text: "concurrent clients are all answered"},
	}
}
