package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/internal/input"
	"github.com/iamprune/iamprune/render"
)

// SavePlan writes the plan as the JSON apply reads back.
// It is written one action at a time.
func SavePlan(path string, p *iamprune.Plan) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("cannot save the plan: %w", err)
	}
	if err := render.WritePlan(f, p); err != nil {
		f.Close()
		return fmt.Errorf("cannot save the plan: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot save the plan: %w", err)
	}
	return nil
}

// LoadPlan reads a saved plan strictly: a plan that does not parse, or
// whose actions lack what apply needs, is bad input naming the file.
func LoadPlan(path string) (*iamprune.Plan, error) {
	b, err := input.ReadFile(path, input.MaxPlan)
	if err != nil {
		return nil, iamprune.Errorf(iamprune.EINVALID, "cannot read plan %s: %v", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p iamprune.Plan
	if err := dec.Decode(&p); err != nil {
		return nil, iamprune.Errorf(iamprune.EINVALID, "%s: not an iamprune plan: %v", path, err)
	}
	if !render.SameMajor(p.FormatVersion) {
		return nil, iamprune.Errorf(iamprune.EINVALID, "%s: format_version %q: this iamprune reads plans of format %s.x", path, p.FormatVersion, render.FormatMajor)
	}
	if p.GeneratedAt.IsZero() {
		return nil, iamprune.Errorf(iamprune.EINVALID, "%s: generated_at: missing", path)
	}
	for i, a := range p.Actions {
		field := func(name, v string) error {
			if v == "" {
				return iamprune.Errorf(iamprune.EINVALID, "%s: actions[%d].%s: missing", path, i, name)
			}
			return nil
		}
		for _, err := range []error{field("id", a.ID), field("principal", a.Principal), field("kind", string(a.Kind)), field("account", a.Account)} {
			if err != nil {
				return nil, err
			}
		}
		if a.Kind.IsRemediation() && a.Basis == nil {
			return nil, iamprune.Errorf(iamprune.EINVALID, "%s: actions[%d].basis: missing (the plan was not made by this version of iamprune plan --out)", path, i)
		}
	}
	// The plan is checked as a whole before anything is done with it.
	if err := p.Validate(); err != nil {
		return nil, iamprune.Errorf(iamprune.EINVALID, "%s: not a consistent plan, nothing was done:\n%v", path, err)
	}
	return &p, nil
}

// SavedPlanConfig is the config a saved plan is re-checked against (its
// protection, exceptions, allowlist, member role, propose): flag, else
// $IAMPRUNE_CONFIG, else the config the plan was made with, which must
// still be readable. "" means $IAMPRUNE_CONFIG or the defaults.
func SavedPlanConfig(env Env, file string, plan *iamprune.Plan, flag string) (string, error) {
	if flag != "" || env.getenv("IAMPRUNE_CONFIG") != "" || plan.Config == "" {
		return flag, nil
	}
	if _, err := os.Stat(plan.Config); err != nil {
		return "", iamprune.Errorf(iamprune.EINVALID, "%s was planned with --config %s, which cannot be read (%v); pass --config", file, plan.Config, err)
	}
	env.log().Info("using the config the plan was made with", "config", plan.Config)
	return plan.Config, nil
}
