package emulator

import (
	"encoding/json"
	"fmt"
	"sort"
)

// DumpDiff names the IAM entities that differ between two Dump outputs, as
// "Section/name" (Users/alice, Roles/WebAppRole, AccessKeys/AKIA…,
// LoginProfiles/bob, Policies/ARN, Groups/name), sorted. It is how tests
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

func dumpEntities(b []byte) (map[string]string, error) {
	var d map[string]json.RawMessage
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("emulator: not a dump: %w", err)
	}
	out := map[string]string{}
	for section, key := range map[string]string{"Users": "UserName", "Groups": "GroupName", "Roles": "RoleName", "Policies": "Arn", "AccessKeys": "AccessKeyId", "LoginProfiles": "UserName"} {
		var items []map[string]json.RawMessage
		if err := json.Unmarshal(d[section], &items); err != nil {
			return nil, fmt.Errorf("emulator: dump section %s: %w", section, err)
		}
		for _, it := range items {
			var name string
			if err := json.Unmarshal(it[key], &name); err != nil {
				return nil, fmt.Errorf("emulator: dump section %s: entity without %s", section, key)
			}
			b, _ := json.Marshal(it)
			out[section+"/"+name] = string(b)
		}
	}
	return out, nil
}
