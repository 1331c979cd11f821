package emulator

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// DumpDiff names the entities that differ between two Dump outputs, as
// "Section/name" (Users/alice, Roles/WebAppRole, AccessKeys/AKIA…,
// LoginProfiles/bob, Policies/ARN, Groups/name, ArchiveRules/rule,
// Findings/id, Buckets/name, Objects/bucket/key, Topics/ARN,
// Published/message-id), sorted. It is how tests
// and the demo show that a change touched exactly what it should.
func DumpDiff(before, after []byte) ([]string, error) {
	x, err := dumpEntities(before)
	if err != nil {
		return nil, err
	}
	y, err := dumpEntities(after)
	if err != nil {
		return nil, err
	}
	var diff []string
	for k, v := range x {
		if w, ok := y[k]; !ok || w != v {
			diff = append(diff, k)
		}
	}
	for k := range y {
		if _, ok := x[k]; !ok {
			diff = append(diff, k)
		}
	}
	sort.Strings(diff)
	return diff, nil
}

// dumpSections are the sections DumpDiff compares, with the member(s)
// that name an entity, joined by "/". Optional sections may be missing,
// as they are from dumps made before they existed.
var dumpSections = []struct {
	name     string
	key      []string
	optional bool
}{
	{"Users", []string{"UserName"}, false},
	{"Groups", []string{"GroupName"}, false},
	{"Roles", []string{"RoleName"}, false},
	{"Policies", []string{"Arn"}, false},
	{"AccessKeys", []string{"AccessKeyId"}, false},
	{"LoginProfiles", []string{"UserName"}, false},
	{"ArchiveRules", []string{"ruleName"}, true},
	{"Findings", []string{"id"}, true},
	{"Buckets", []string{"Name"}, true},
	{"Objects", []string{"Bucket", "Key"}, true},
	{"Topics", []string{"TopicArn"}, true},
	{"Published", []string{"MessageId"}, true},
}

func dumpEntities(b []byte) (map[string]string, error) {
	var d map[string]json.RawMessage
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("emulator: not a dump: %w", err)
	}
	out := map[string]string{}
	for _, sec := range dumpSections {
		raw, ok := d[sec.name]
		if !ok && sec.optional {
			continue
		}
		var items []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Errorf("emulator: dump section %s: %w", sec.name, err)
		}
		for _, it := range items {
			parts := make([]string, len(sec.key))
			for i, k := range sec.key {
				if err := json.Unmarshal(it[k], &parts[i]); err != nil {
					return nil, fmt.Errorf("emulator: dump section %s: entity without %s", sec.name, k)
				}
			}
			b, _ := json.Marshal(it)
			out[sec.name+"/"+strings.Join(parts, "/")] = string(b)
		}
	}
	return out, nil
}
