//go:build !linux

package echo

import (
	"context"
	"net"
)

// serveEpoll: the epoll engine exists on Linux only; elsewhere Serve falls back to goroutines.
func (s *Server) serveEpoll(context.Context, net.Listener) error { return errNoEpoll }
