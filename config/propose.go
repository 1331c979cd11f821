package config

import (
	"fmt"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/internal/yamlnode"
	"go.yaml.in/yaml/v3"
)

var (
	accountKeys     = []string{"allow", "role_name", "external_id", "session_name"}
	proposeKeys     = []string{"repo", "base", "mode", "github_repo", "github_api", "token_env", "files", "author_name", "author_email"}
	proposeFileKeys = []string{"principal", "policy", "path", "pointer"}
)

// accounts reads `accounts:`: a list (the allowlist), or a mapping with the
// allowlist and how to reach member accounts.
func (p *parser) accounts(v *yaml.Node, cfg *iamprune.Config) {
	const path = "accounts"
	allow := func(n *yaml.Node, kp string) {
		p.Strings(n, kp, func(i int, ip, s string, item *yaml.Node) {
			p.lines[ip] = item.Line
			// Config.Validate names items accounts[i], whichever form.
			p.lines[fmt.Sprintf("%s[%d]", path, i)] = item.Line
			cfg.Accounts = append(cfg.Accounts, s)
		})
	}
	switch n := yamlnode.Deref(v); {
	case yamlnode.IsNull(n):
		return
	case n.Kind == yaml.ScalarNode:
		p.Add(n.Line, path, "must be a list of account ids, or a mapping with allow, role_name, external_id and session_name; got %s", yamlnode.Describe(n))
		return
	case n.Kind != yaml.MappingNode:
		allow(v, path)
		return
	}
	p.Fields(v, path, "key", accountKeys, func(key string, k, fv *yaml.Node) {
		kp := yamlnode.Join(path, key)
		p.lines[kp] = k.Line
		switch key {
		case "allow":
			allow(fv, kp)
		case "role_name":
			if s, ok := p.String(fv, kp); ok {
				cfg.CrossAccount.RoleName = s
			}
		case "external_id":
			if s, ok := p.String(fv, kp); ok {
				cfg.CrossAccount.ExternalID = s
			}
		case "session_name":
			if s, ok := p.String(fv, kp); ok {
				cfg.CrossAccount.SessionName = s
			}
		}
	})
}

// propose reads `propose:`, where propose-policy opens pull requests.
func (p *parser) propose(v *yaml.Node, pr *iamprune.Propose) {
	const path = "propose"
	p.Fields(v, path, "key", proposeKeys, func(key string, k, fv *yaml.Node) {
		kp := yamlnode.Join(path, key)
		p.lines[kp] = k.Line
		if key == "files" {
			p.list(fv, kp, func(ip string, item *yaml.Node) {
				var f iamprune.ProposeFile
				p.Fields(item, ip, "key", proposeFileKeys, func(fk string, k, fv *yaml.Node) {
					fp := yamlnode.Join(ip, fk)
					p.lines[fp] = k.Line
					s, ok := p.String(fv, fp)
					if !ok {
						return
					}
					switch fk {
					case "principal":
						f.Principal = s
					case "policy":
						f.Policy = s
					case "path":
						f.Path = s
					case "pointer":
						f.Pointer = s
					}
				})
				pr.Files = append(pr.Files, f)
			})
			return
		}
		s, ok := p.String(fv, kp)
		if !ok {
			return
		}
		switch key {
		case "repo":
			pr.Repo = s
		case "base":
			pr.Base = s
		case "mode":
			pr.Mode = s
		case "github_repo":
			pr.GitHubRepo = s
		case "github_api":
			pr.GitHubAPI = s
		case "token_env":
			pr.TokenEnv = s
		case "author_name":
			pr.AuthorName = s
		case "author_email":
			pr.AuthorEmail = s
		}
	})
}
