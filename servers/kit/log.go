package kit

import (
	"io"
	"log/slog"
)

// NewLogger returns a slog logger writing text, or JSON when asJSON is set.
func NewLogger(w io.Writer, asJSON bool, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if asJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Discard is a logger that drops everything (tests, in-process checks).
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
