package scenarios

import (
	"regexp"

	"github.com/sockspec/sockspec/conformance/oracle"
)

// expectationOf says, per kind of violation, what the requirement wants.
func expectationOf(k oracle.Kind) string {
	switch k {
	case oracle.Loss:
		return "every message to reach every other connected client"
	case oracle.Duplicate:
		return "each message to arrive exactly once"
	case oracle.SelfEcho:
		return "the sender never to receive its own message"
	case oracle.FIFO:
		return "each receiver to see one sender's messages in the order they were sent"
	case oracle.TotalOrder:
		return "all receivers to see the messages in the same order"
	case oracle.Misformatted:
		return "each relay in the profile's format"
	}
	return "relayed bytes that are exactly what the senders sent"
}

// chatHint maps a symptom to its classic cause, in a student's words.
func chatHint(k oracle.Kind, raw bool) string {
	switch k {
	case oracle.Loss:
		if raw {
			return "Messages went missing. Classic causes: removing a client from the list while another thread " +
				"loops over it (iterate over a copy, or hold a lock), a bare `except: continue` that swallows a " +
				"failed send, or a send() whose return value is ignored (use sendall)."
		}
		return "Messages went missing. Do you read lines properly? One recv() is not one message: keep a buffer " +
			"and split it on \\n. Also check for a client list changed while iterating, and send() vs sendall()."
	case oracle.Duplicate:
		return "A message arrived twice. Is the broadcast called twice, or is the buffer not cleared after a " +
			"message was relayed?"
	case oracle.SelfEcho:
		return "The sender got its own message back. In broadcast(), skip the connection the message came from " +
			"(`if client != connection`)."
	case oracle.FIFO:
		return "One sender's messages arrived out of order. Relaying each message from a new thread lets a later " +
			"message overtake an earlier one; relay from the sender's own thread, in order."
	case oracle.TotalOrder:
		return "Receivers saw messages in different orders. Serialise broadcasts: hold one lock around the whole " +
			"loop over clients, so that two senders' broadcasts do not interleave."
	case oracle.Misformatted:
		return "A relay does not have the expected format. Check the prefix (e.g. \"<\" + addr[0] + \"> \") and " +
			"that nothing else is added or left out."
	}
	if raw {
		return "Relayed bytes were changed or mixed up. Relay exactly the bytes recv() returned; decoding and " +
			"re-encoding, or stripping, alters them."
	}
	return "Relayed bytes were changed or mixed up. Without message framing, one recv() may hold half a " +
		"message or two of them: buffer and split on \\n before relaying."
}

func mustRegexp(pat string) *regexp.Regexp {
	re, err := regexp.Compile(pat)
	if err != nil {
		return regexp.MustCompile(`\A\z`) // validated with the profile; unreachable
	}
	return re
}
