package notify

import "github.com/iamprune/iamprune"

// DefaultRoute names the route of owners no route matches, and of errors.
const DefaultRoute = "default"

// Delivery is one digest and where it goes.
type Delivery struct {
	Digest   iamprune.Digest
	Channels []string
	// Notices are what the notice log records, per channel, once the
	// digest was sent or failed: one per item key.
	Notices []Notice
	// To maps an email channel with mail_owners to the owners it also
	// mails directly.
	To map[string][]string
}

// Notice is the log entry of one item key in a delivery, less the channel,
// status and time that sending adds.
type Notice struct {
	ItemKey     string
	ActionID    string
	Principal   string
	Owner       string
	Fingerprint string
}

// Route groups pending notices into one Delivery per route: the owner of
// each principal (OwnerOf with n.OwnerTags) is matched against the routes'
// owner globs, case-insensitively, and the first match wins; principals
// without an owner or a match go to n.Default. Deliveries follow the order
// of the routes, with the default route last.
func Route(pending []Pending, facts *iamprune.Facts, n iamprune.Notifications) []Delivery {
	channels := map[string]iamprune.Channel{}
	for _, c := range n.Channels {
		channels[c.Name] = c
	}
	groups := map[int]*builder{}
	for _, p := range pending {
		pr := facts.Principal(p.Action.Principal)
		owner := OwnerOf(pr, n.OwnerTags)
		idx := matchRoute(owner, n.Routes)
		g := groups[idx]
		if g == nil {
			g = newBuilder(facts, n, idx)
			groups[idx] = g
		}
		g.add(p, owner)
		if email := OwnerEmail(pr, n.OwnerTags); email != "" {
			for _, name := range g.d.Channels {
				if c := channels[name]; c.Type == iamprune.ChannelEmail && c.MailOwners {
					g.mail(name, email)
				}
			}
		}
	}
	var out []Delivery
	for i := range n.Routes {
		if g := groups[i]; g != nil {
			out = append(out, g.delivery())
		}
	}
	if g := groups[-1]; g != nil {
		out = append(out, g.delivery())
	}
	return out
}

// matchRoute returns the index of the first route matching owner, or -1.
func matchRoute(owner string, routes []iamprune.Route) int {
	if owner == "" {
		return -1
	}
	for i, r := range routes {
		if iamprune.MatchGlob(r.Owner, owner, iamprune.FoldCase) {
			return i
		}
	}
	return -1
}
