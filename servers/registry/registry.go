// Package registry lists the reference servers by protocol name.
package registry

import (
	"sort"

	"github.com/sockspec/sockspec/servers/block32"
	"github.com/sockspec/sockspec/servers/chat"
	"github.com/sockspec/sockspec/servers/datetime"
	"github.com/sockspec/sockspec/servers/echo"
	"github.com/sockspec/sockspec/servers/header64"
	"github.com/sockspec/sockspec/servers/httptime"
	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/servers/lookup"
	"github.com/sockspec/sockspec/servers/udp"
	"github.com/sockspec/sockspec/servers/upper"
)

var all = []kit.Protocol{
	chat.Protocol, header64.Protocol, block32.Protocol, upper.Protocol, echo.Protocol,
	udp.UpperProtocol, udp.PongProtocol, lookup.Protocol, datetime.Protocol, httptime.Protocol,
}

// Lookup returns the protocol of that name.
func Lookup(name string) (kit.Protocol, bool) {
	for _, p := range all {
		if p.Name == name {
			return p, true
		}
	}
	return kit.Protocol{}, false
}

// Names returns every protocol name, in PROTOCOLS.md order.
func Names() []string {
	names := make([]string, len(all))
	for i, p := range all {
		names[i] = p.Name
	}
	return names
}

// Sorted returns the protocol names sorted alphabetically.
func Sorted() []string {
	n := Names()
	sort.Strings(n)
	return n
}
