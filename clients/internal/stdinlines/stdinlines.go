// Package stdinlines reads the lines a person types (or pipes) into a client, bounded.
package stdinlines

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// DefaultMax bounds a line when Reader.Max is zero.
const DefaultMax = 1 << 20

// Reader returns lines without their "\n" or "\r\n".
type Reader struct {
	br  *bufio.Reader
	Max int
}

// New reads lines from r.
func New(r io.Reader) *Reader { return &Reader{br: bufio.NewReaderSize(r, 64<<10)} }

// Next returns the next line. A last line without "\n" is returned too; after the last line
// Next returns io.EOF. A line longer than Max is an error.
func (r *Reader) Next() ([]byte, error) {
	max := r.Max
	if max <= 0 {
		max = DefaultMax
	}
	var line []byte
	for {
		part, err := r.br.ReadSlice('\n')
		if len(line)+len(part) > max+2 { // room for "\r\n"
			return nil, fmt.Errorf("reading stdin: a line longer than %d bytes", max)
		}
		line = append(line, part...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(line) == 0 && err != nil {
			if err != io.EOF {
				err = fmt.Errorf("reading stdin: %w", err)
			}
			return nil, err
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if err != nil && err != io.EOF {
			return line, fmt.Errorf("reading stdin: %w", err)
		}
		return line, nil
	}
}

// Each calls fn for each line (or each of msgs when msgs is not nil) until fn fails.
func Each(msgs []string, stdin io.Reader, fn func(msg []byte) error) error {
	if msgs != nil {
		for _, m := range msgs {
			if err := fn([]byte(m)); err != nil {
				return err
			}
		}
		return nil
	}
	r := New(stdin)
	for {
		line, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(line); err != nil {
			return err
		}
	}
}
