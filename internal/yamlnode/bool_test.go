package yamlnode

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestBool(t *testing.T) {
	tests := []struct {
		src         string
		want, ok    bool
		wantProblem string
	}{
		{"true", true, true, ""},
		{"false", false, true, ""},
		{"~", false, false, ""}, // null keeps the default, silently
		{"yes", false, false, `f:1: k: must be true or false, got "yes"`},
		{`"true"`, false, false, `f:1: k: must be true or false, got "true"`},
		{"[true]", false, false, "f:1: k: must be true or false, got a list"},
	}
	for _, tt := range tests {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(tt.src), &doc); err != nil {
			t.Fatal(err)
		}
		p := &Problems{Name: "f"}
		got, ok := p.Bool(doc.Content[0], "k")
		if got != tt.want || ok != tt.ok {
			t.Errorf("Bool(%s) = %v, %v; want %v, %v", tt.src, got, ok, tt.want, tt.ok)
		}
		err := p.Err()
		switch {
		case tt.wantProblem == "" && err != nil:
			t.Errorf("Bool(%s): unexpected problem %v", tt.src, err)
		case tt.wantProblem != "" && (err == nil || err.Error() != tt.wantProblem):
			t.Errorf("Bool(%s): problem %v, want %q", tt.src, err, tt.wantProblem)
		}
	}
}
