package peer

// Coalesce joins all messages into a single write, so they arrive together.
type Coalesce struct{}

func (Coalesce) Name() string { return "coalesce" }

func (Coalesce) Write(w Wire, msgs [][]byte) error {
	_, err := w.Write(joined(msgs))
	return err
}
