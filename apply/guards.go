package apply

import (
	"fmt"
	"slices"

	"github.com/iamprune/iamprune"
)

// Guards that hold before anything is read or changed. They cannot be
// configured away: every entry point checks them.

func checkOptions(o Options) error {
	switch {
	case o.Store == nil:
		return iamprune.Errorf(iamprune.EINVALID, "apply: no state store")
	case o.Account == "":
		return iamprune.Errorf(iamprune.EINVALID, "apply: the account the credentials act in is unknown")
	case o.MaxActions < 0:
		return iamprune.Errorf(iamprune.EINVALID, "apply: max actions must be >= 0, got %d", o.MaxActions)
	}
	return nil
}

// remediations returns copies of the plan's remediation entries, in plan
// order, each with its account filled in from the plan when absent. A plan
// whose remediations cannot be journaled (no id, a repeated id, no target)
// is bad input.
func remediations(plan *iamprune.Plan) ([]iamprune.Action, error) {
	if plan == nil {
		return nil, iamprune.Errorf(iamprune.EINVALID, "apply: no plan")
	}
	var out []iamprune.Action
	seen := map[string]bool{}
	for i, a := range plan.Actions {
		if !a.Kind.IsRemediation() {
			continue
		}
		switch {
		case a.ID == "":
			return nil, iamprune.Errorf(iamprune.EINVALID, "plan: actions[%d]: %s has no id", i, a.Kind)
		case seen[a.ID]:
			return nil, iamprune.Errorf(iamprune.EINVALID, "plan: actions[%d]: id %s is listed twice", i, a.ID)
		case a.Target == "":
			return nil, iamprune.Errorf(iamprune.EINVALID, "plan: actions[%d] (%s): %s has no target", i, a.ID, a.Kind)
		}
		seen[a.ID] = true
		a.Services = slices.Clone(a.Services)
		if a.Services == nil {
			a.Services = []string{}
		}
		if a.Account == "" {
			a.Account = plan.Account
		}
		out = append(out, a)
	}
	return out, nil
}

// Refusal returns why Apply would refuse plan before reading anything
// live (the account and allowlist guards), or "". Callers check it before
// side effects that come ahead of Apply, such as owner notices, so that a
// refused run sends nothing but its refusal.
func Refusal(plan *iamprune.Plan, o Options) (string, error) {
	actions, err := remediations(plan)
	if err != nil {
		return "", err
	}
	return accountGuard(plan, actions, o.withDefaults()), nil
}

// accountGuard returns why the plan must not be applied with credentials
// that act in o.Account, or "". It fills in the account of actions that
// name none.
func accountGuard(plan *iamprune.Plan, actions []iamprune.Action, o Options) string {
	if plan.Account != "" && plan.Account != o.Account {
		return fmt.Sprintf("plan is for account %s, credentials act in %s", plan.Account, o.Account)
	}
	for i, a := range actions {
		if a.Account == "" {
			actions[i].Account = o.Account
			a.Account = o.Account
		}
		if o.Scope != "" && a.Account != o.Scope {
			return fmt.Sprintf("the run is confined to account %s, but action %s is in account %s", o.Scope, a.ID, a.Account)
		}
		if a.Account != o.Account && o.Members == nil {
			return fmt.Sprintf("plan is for account %s (action %s), credentials act in %s; set accounts.role_name to act in member accounts", a.Account, a.ID, o.Account)
		}
	}
	// The accounts the changes are in; the credentials' own account needs
	// no allowance when nothing changes there (an organisation's
	// delegated administrator).
	for _, account := range actionAccounts(actions) {
		if why := allowlistGuard(account, o); why != "" {
			return why
		}
	}
	return ""
}

func allowlistGuard(account string, o Options) string {
	if len(o.Accounts) > 0 && !slices.Contains(o.Accounts, account) {
		return fmt.Sprintf("account %s is not in the config's accounts allowlist", account)
	}
	return ""
}

// blastRadius refuses a run that would make more changes than allowed.
// Only real changes count: skipped and already-done actions change nothing.
func blastRadius(checks []*check, max int) string {
	n := 0
	for _, c := range checks {
		if c.status == "" {
			n++
		}
	}
	if n <= max {
		return ""
	}
	return fmt.Sprintf("%d changes exceed limits.max_actions_per_run %d; review the plan or pass --max-actions %d", n, max, n)
}

// actionAccounts returns the distinct accounts of actions, in order.
func actionAccounts(actions []iamprune.Action) []string {
	var out []string
	for _, a := range actions {
		if !slices.Contains(out, a.Account) {
			out = append(out, a.Account)
		}
	}
	return out
}
