package lookup

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sockspec/sockspec/wire"
)

// maxDirectoryFile bounds what LoadDirectory reads.
const maxDirectoryFile = 16 << 20

// SeedDirectory returns the seed's address book (keys are upper-cased names).
func SeedDirectory() map[string]string {
	return map[string]string{"JOHN": "C45", "DENISE": "C44", "PHOEBE": "D52", "ADAM": "B23"}
}

// NameKey is how a name is looked up: surrounding white space trimmed, then upper-cased with
// full Unicode case mapping (as the seed's str.upper), so `john`, `John` and `JOHN` are one.
func NameKey(name []byte) string {
	return string(wire.Upper(wire.Unicode, bytes.TrimSpace(name)))
}

// LoadDirectory reads an address book file: a JSON object {"name": "office", ...} or CSV lines
// `name,office` (an optional `name,office` header, `#` comments). The format is taken from
// the extension (.json, .csv) or else from the content (a JSON object starts with `{`).
func LoadDirectory(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxDirectoryFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxDirectoryFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxDirectoryFile)
	}
	asJSON := bytes.HasPrefix(bytes.TrimSpace(data), []byte("{"))
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		asJSON = true
	case ".csv":
		asJSON = false
	}
	var dir map[string]string
	if asJSON {
		dir, err = parseJSONDirectory(data)
	} else {
		dir, err = parseCSVDirectory(data)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return dir, nil
}

func parseJSONDirectory(data []byte) (map[string]string, error) {
	var raw map[string]string
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("not a JSON object of name -> office strings: %w", err)
	}
	dir := map[string]string{}
	for name, office := range raw {
		if err := add(dir, name, office); err != nil {
			return nil, err
		}
	}
	return checkNotEmpty(dir)
}

func parseCSVDirectory(data []byte) (map[string]string, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = 2
	r.Comment = '#'
	r.TrimLeadingSpace = true
	dir := map[string]string{}
	for first := true; ; first = false {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("want CSV lines of name,office: %w", err)
		}
		if first && strings.EqualFold(strings.TrimSpace(rec[0]), "name") && strings.EqualFold(strings.TrimSpace(rec[1]), "office") {
			continue // a header
		}
		if err := add(dir, rec[0], rec[1]); err != nil {
			line, _ := r.FieldPos(0)
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
	}
	return checkNotEmpty(dir)
}

func add(dir map[string]string, name, office string) error {
	key := NameKey([]byte(name))
	office = strings.TrimSpace(office)
	switch {
	case key == "":
		return fmt.Errorf("empty name (office %q)", office)
	case office == "":
		return fmt.Errorf("empty office for %q", name)
	case strings.ContainsAny(office, "\r\n"):
		return fmt.Errorf("office of %q contains a line break, which would split the reply", name)
	}
	if prev, ok := dir[key]; ok {
		return fmt.Errorf("name %q appears twice (names are case-insensitive; offices %q and %q)", name, prev, office)
	}
	dir[key] = office
	return nil
}

func checkNotEmpty(dir map[string]string) (map[string]string, error) {
	if len(dir) == 0 {
		return nil, errors.New("no entries")
	}
	return dir, nil
}
