package resolve

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Only numeric addresses and "localhost" are resolved here: no network.

func TestNumeric(t *testing.T) {
	infos, err := Lookup(context.Background(), nil, "127.0.0.1", "8080", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	Write(&out, infos)
	want := "FAMILY   TYPE         PROTOCOL     ADDRESS\n" +
		"AF_INET  SOCK_STREAM  IPPROTO_TCP  127.0.0.1:8080\n" +
		"AF_INET  SOCK_DGRAM   IPPROTO_UDP  127.0.0.1:8080\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}

	infos, err = Lookup(context.Background(), nil, "::1", "", Options{Type: "dgram"})
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Family != "AF_INET6" || infos[0].Protocol != "IPPROTO_UDP" || infos[0].String() != "::1" {
		t.Errorf("::1 gave %+v", infos)
	}
}

func TestServiceName(t *testing.T) {
	// "http" is in /etc/services and in Go's built-in table.
	infos, err := Lookup(context.Background(), nil, "::1", "http", Options{Type: "stream"})
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].String() != "[::1]:80" {
		t.Errorf("got %+v", infos)
	}
}

func TestLocalhost(t *testing.T) {
	infos, err := Lookup(context.Background(), nil, "localhost", "5050", Options{Family: "4"})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range infos {
		if a.Family != "AF_INET" {
			t.Errorf("family 4 gave %+v", a)
		}
		found = found || a.String() == "127.0.0.1:5050"
	}
	if !found {
		t.Errorf("localhost did not give 127.0.0.1: %+v", infos)
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		host, service string
		opt           Options
		says          string
	}{
		{"127.0.0.1", "no-such-service-here", Options{}, `service "no-such-service-here"`},
		{"127.0.0.1", "", Options{Family: "6"}, "127.0.0.1 has no IPv6 address"},
		{"127.0.0.1", "", Options{Family: "5"}, "family must be 4 or 6"},
		{"127.0.0.1", "", Options{Type: "raw"}, "type must be stream or dgram"},
	} {
		_, err := Lookup(context.Background(), nil, c.host, c.service, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("Lookup(%q, %q, %+v): got %v, want %q", c.host, c.service, c.opt, err, c.says)
		}
	}
}
