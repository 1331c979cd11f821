package yamlnode

import "testing"

func TestSuggest(t *testing.T) {
	keys := []string{"notify_after_days", "remediate_after_days", "action"}
	tests := []struct{ in, want string }{
		{"remedate_after_days", "remediate_after_days"},
		{"Remediate_After_Days", "remediate_after_days"},
		{"notify_days", ""}, // too far from anything to guess
		{"actions", "action"},
		{"zzz", ""},
	}
	for _, tt := range tests {
		if got := Suggest(tt.in, keys); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
