// Package resolve shows what name resolution gives a client, like Python's
// socket.getaddrinfo in seed 004: for each address, its family, socket type, protocol and
// socket address, IPv4 and IPv6.
package resolve

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"text/tabwriter"
)

// AddrInfo is one result, named as the C constants are.
type AddrInfo struct {
	Family   string // AF_INET or AF_INET6
	Type     string // SOCK_STREAM or SOCK_DGRAM
	Protocol string // IPPROTO_TCP or IPPROTO_UDP
	Addr     netip.AddrPort
}

// String is the socket address: "127.0.0.1:80", "[::1]:80", or the bare IP when the port
// is 0 (no service was asked).
func (a AddrInfo) String() string {
	if a.Addr.Port() == 0 {
		return a.Addr.Addr().String()
	}
	return a.Addr.String()
}

// Options narrow the results, as getaddrinfo's hints do.
type Options struct {
	Family string // "" for both, "4" or "6"
	Type   string // "" for both, "stream" or "dgram"
}

// Lookup resolves host (a name or a numeric address) and service (a port number, a service
// name such as "http", or "" for none) with r (nil: net.DefaultResolver).
func Lookup(ctx context.Context, r *net.Resolver, host, service string, opt Options) ([]AddrInfo, error) {
	if r == nil {
		r = net.DefaultResolver
	}
	switch opt.Family {
	case "", "4", "6":
	default:
		return nil, fmt.Errorf("family must be 4 or 6, not %q", opt.Family)
	}
	type socktype struct{ network, typ, proto, opt string }
	var types []socktype
	for _, st := range []socktype{{"tcp", "SOCK_STREAM", "IPPROTO_TCP", "stream"}, {"udp", "SOCK_DGRAM", "IPPROTO_UDP", "dgram"}} {
		if opt.Type == "" || opt.Type == st.opt {
			types = append(types, st)
		}
	}
	if len(types) == 0 {
		return nil, fmt.Errorf("type must be stream or dgram, not %q", opt.Type)
	}
	ports := map[string]int{}
	var portErr error
	for _, st := range types {
		if service == "" {
			ports[st.network] = 0
			continue
		}
		p, err := r.LookupPort(ctx, st.network, service)
		if err != nil {
			portErr = err
			continue
		}
		ports[st.network] = p
	}
	if len(ports) == 0 {
		return nil, fmt.Errorf("service %q: %v", service, portErr)
	}
	ips, err := r.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, err
	}
	var out []AddrInfo
	seen := map[netip.Addr]bool{}
	for _, ip := range ips {
		a, ok := netip.AddrFromSlice(ip.IP)
		if !ok {
			continue
		}
		a = a.Unmap().WithZone(ip.Zone)
		if seen[a] {
			continue
		}
		seen[a] = true
		family := "AF_INET"
		if a.Is6() {
			family = "AF_INET6"
		}
		if opt.Family != "" && family != map[string]string{"4": "AF_INET", "6": "AF_INET6"}[opt.Family] {
			continue
		}
		for _, st := range types {
			p, ok := ports[st.network]
			if !ok {
				continue
			}
			out = append(out, AddrInfo{Family: family, Type: st.typ, Protocol: st.proto, Addr: netip.AddrPortFrom(a, uint16(p))})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no IPv%s address", host, opt.Family)
	}
	return out, nil
}

// Write prints the results as a table.
func Write(w io.Writer, infos []AddrInfo) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FAMILY\tTYPE\tPROTOCOL\tADDRESS")
	for _, a := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Family, a.Type, a.Protocol, a)
	}
	return tw.Flush()
}
