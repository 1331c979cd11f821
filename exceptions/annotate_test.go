package exceptions

import "testing"

func TestProblemFormats(t *testing.T) {
	tests := []struct {
		name             string
		p                Problem
		text, gh, ghWarn string
	}{
		{"yaml field",
			Problem{File: "exceptions.yaml", Line: 12, Field: "exceptions[2].expires", Message: "2026-11-27 is in the past"},
			"exceptions.yaml:12: exceptions[2].expires: 2026-11-27 is in the past",
			"::error file=exceptions.yaml,line=12::exceptions[2].expires: 2026-11-27 is in the past",
			"::warning file=exceptions.yaml,line=12::exceptions[2].expires: 2026-11-27 is in the past"},
		{"txt line",
			Problem{File: "allowlist.txt", Line: 3, Message: `"xyz" is not an IAM user or role ARN`},
			`allowlist.txt:3: "xyz" is not an IAM user or role ARN`,
			`::error file=allowlist.txt,line=3::"xyz" is not an IAM user or role ARN`,
			`::warning file=allowlist.txt,line=3::"xyz" is not an IAM user or role ARN`},
		{"whole file",
			Problem{File: "e.yaml", Message: "invalid YAML"},
			"e.yaml: invalid YAML",
			"::error file=e.yaml::invalid YAML",
			"::warning file=e.yaml::invalid YAML"},
		// The message escapes %, CR and LF; properties also , and :.
		{"escaping",
			Problem{File: "dir,x/a:b%.yaml", Line: 1, Message: "100% bad\r\nnext: line, here"},
			"dir,x/a:b%.yaml:1: 100% bad\r\nnext: line, here",
			"::error file=dir%2Cx/a%3Ab%25.yaml,line=1::100%25 bad%0D%0Anext: line, here",
			"::warning file=dir%2Cx/a%3Ab%25.yaml,line=1::100%25 bad%0D%0Anext: line, here"},
		{"escapes are not escaped twice",
			Problem{File: "a.yaml", Line: 2, Message: "literal %0A stays"},
			"a.yaml:2: literal %0A stays",
			"::error file=a.yaml,line=2::literal %250A stays",
			"::warning file=a.yaml,line=2::literal %250A stays"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.String(); got != tt.text {
				t.Errorf("String() = %q, want %q", got, tt.text)
			}
			if got := tt.p.GitHub(); got != tt.gh {
				t.Errorf("GitHub() = %q, want %q", got, tt.gh)
			}
			if got := tt.p.GitHubWarning(); got != tt.ghWarn {
				t.Errorf("GitHubWarning() = %q, want %q", got, tt.ghWarn)
			}
		})
	}
}
