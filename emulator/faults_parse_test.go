package emulator

import (
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func TestParseFault(t *testing.T) {
	for in, want := range map[string]Fault{
		"TagRole=AccessDenied":       {Op: "TagRole", Code: "AccessDenied", N: 1},
		"TagRole=AccessDenied:3":     {Op: "TagRole", Code: "AccessDenied", N: 3},
		"GetRole=Throttling:1":       {Op: "GetRole", Code: "Throttling", N: 1},
		"ListRoles=ServiceFailure:9": {Op: "ListRoles", Code: "ServiceFailure", N: 9},
	} {
		got, err := ParseFault(in)
		if err != nil || got != want {
			t.Errorf("ParseFault(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"TagRole", "TagRole=", "=AccessDenied", "TagRole=AccessDenied:0", "TagRole=AccessDenied:-1", "TagRole=AccessDenied:x", "TagRole=AccessDenied:"} {
		if _, err := ParseFault(in); iamprune.ErrorCode(err) != iamprune.EINVALID {
			t.Errorf("ParseFault(%q): got %v, want an EINVALID error", in, err)
		}
	}
}

func TestParseOpLatency(t *testing.T) {
	op, d, err := ParseOpLatency("GetRole=250ms")
	if err != nil || op != "GetRole" || d != 250*time.Millisecond {
		t.Errorf("got %q %v %v", op, d, err)
	}
	for _, in := range []string{"GetRole", "GetRole=soon", "=1s", "GetRole=-1s"} {
		if _, _, err := ParseOpLatency(in); iamprune.ErrorCode(err) != iamprune.EINVALID {
			t.Errorf("ParseOpLatency(%q): got %v, want an EINVALID error", in, err)
		}
	}
}

func TestInject(t *testing.T) {
	env := newWriteEnv(t)
	if err := env.srv.Inject(Faults{Fails: []Fault{{Op: "TagRole", Code: "AccessDenied", N: 2}}}); err != nil {
		t.Fatal(err)
	}
	c := oneShotIAM(env)
	wantAPIError(t, tagRole(c, "x"), "AccessDenied", 403)
	wantAPIError(t, tagRole(c, "x"), "AccessDenied", 403)
	if err := tagRole(c, "x"); err != nil {
		t.Fatalf("third TagRole after N=2: %v", err)
	}
}

func TestInjectRefusesBadSettings(t *testing.T) {
	s := New(loadSnapshot(t, "basic"), Options{})
	for _, f := range []Faults{{ThrottlePercent: 101}, {ThrottlePercent: -1}, {Latency: -time.Second}} {
		if err := s.Inject(f); iamprune.ErrorCode(err) != iamprune.EINVALID {
			t.Errorf("Inject(%+v): got %v, want an EINVALID error", f, err)
		}
	}
	if (Faults{}).Any() || !(Faults{Seed: 1, Fails: []Fault{{Op: "A", Code: "B", N: 1}}}).Any() {
		t.Error("Any: wrong")
	}
}
