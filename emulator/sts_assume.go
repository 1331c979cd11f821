package emulator

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
)

// sts:AssumeRole. The role's account must be the home account or a member
// (AddMember), the role must exist there, and its trust policy must allow
// the caller (see trust.go for what is evaluated). The credentials it
// issues route later requests to the role's account (accounts.go).
//
// Not modelled: session policies (Policy, PolicyArns) and session tags are
// accepted and ignored; the role's MaxSessionDuration is not in a snapshot,
// so any DurationSeconds up to 43200 is allowed, except that role chaining
// (a caller that is itself an assumed-role session) is held to one hour, as
// in AWS; MFA (SerialNumber, TokenCode) is not checked; assuming a role
// does not change its RoleLastUsed, so that Dump shows only what clients
// changed (MarkRoleUsed records use).

type assumeRoleResult struct {
	AssumedRoleUser xmlAssumedRoleUser `xml:"AssumedRoleUser"`
	Credentials     xmlCredentials     `xml:"Credentials"`
}

type xmlAssumedRoleUser struct {
	Arn           string `xml:"Arn"`
	AssumedRoleId string `xml:"AssumedRoleId"`
}

type xmlCredentials struct {
	AccessKeyId     string  `xml:"AccessKeyId"`
	SecretAccessKey string  `xml:"SecretAccessKey"`
	SessionToken    string  `xml:"SessionToken"`
	Expiration      isoTime `xml:"Expiration"`
}

const (
	defaultSessionSeconds = 3600
	minSessionSeconds     = 900
	maxSessionSeconds     = 43200
	chainedSessionSeconds = 3600
)

var (
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]*$`)
	externalIDPattern  = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
	roleARNPattern     = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role/(.+)$`)
)

// assumeParams are AssumeRole's validated parameters.
type assumeParams struct {
	roleArn, session, externalID string
	duration                     int
	explicitDuration             bool
}

// validateAssumeRole applies STS's parameter constraints, reporting every
// violation in one message as STS does.
func validateAssumeRole(p queryParams) (assumeParams, *apiError) {
	a := assumeParams{
		roleArn: p.get("RoleArn"), session: p.get("RoleSessionName"),
		externalID: p.get("ExternalId"), duration: defaultSessionSeconds,
	}
	var errs []string
	bad := func(value, member, constraint string) {
		v := "null"
		if value != "\x00" {
			v = "'" + value + "'"
		}
		errs = append(errs, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: Member must %s", v, member, constraint))
	}
	_, hasArn := p["RoleArn"]
	switch {
	case !hasArn:
		bad("\x00", "roleArn", "not be null")
	case len(a.roleArn) < 20:
		bad(a.roleArn, "roleArn", "have length greater than or equal to 20")
	case len(a.roleArn) > 2048:
		bad(a.roleArn, "roleArn", "have length less than or equal to 2048")
	}
	_, hasSession := p["RoleSessionName"]
	switch {
	case !hasSession:
		bad("\x00", "roleSessionName", "not be null")
	case len(a.session) < 2:
		bad(a.session, "roleSessionName", "have length greater than or equal to 2")
	case len(a.session) > 64:
		bad(a.session, "roleSessionName", "have length less than or equal to 64")
	}
	if hasSession && !sessionNamePattern.MatchString(a.session) {
		bad(a.session, "roleSessionName", `satisfy regular expression pattern: [\w+=,.@-]*`)
	}
	if _, ok := p["ExternalId"]; ok {
		switch {
		case len(a.externalID) < 2:
			bad(a.externalID, "externalId", "have length greater than or equal to 2")
		case len(a.externalID) > 1224:
			bad(a.externalID, "externalId", "have length less than or equal to 1224")
		}
		if !externalIDPattern.MatchString(a.externalID) {
			bad(a.externalID, "externalId", `satisfy regular expression pattern: [\w+=,.@:\/-]*`)
		}
	}
	if v, ok := p["DurationSeconds"]; ok {
		raw := strings.Join(v, ",")
		n, err := strconv.Atoi(raw)
		switch {
		case err != nil:
			bad(raw, "durationSeconds", "be an integer")
		case n < minSessionSeconds:
			bad(raw, "durationSeconds", fmt.Sprintf("have value greater than or equal to %d", minSessionSeconds))
		case n > maxSessionSeconds:
			bad(raw, "durationSeconds", fmt.Sprintf("have value less than or equal to %d", maxSessionSeconds))
		}
		a.duration, a.explicitDuration = n, true
	}
	if len(errs) > 0 {
		plural := "s"
		if len(errs) == 1 {
			plural = ""
		}
		return a, validationError("%d validation error%s detected: %s", len(errs), plural, strings.Join(errs, "; "))
	}
	return a, nil
}

// trustedRole is what AssumeRole needs of the role, read under its
// account's lock.
type trustedRole struct {
	name, id, arn, trust string
}

func (s *Server) assumeRole(p queryParams) (any, *apiError) {
	a, aerr := validateAssumeRole(p)
	if aerr != nil {
		return nil, aerr
	}
	m := roleARNPattern.FindStringSubmatch(a.roleArn)
	if m == nil {
		return nil, validationError("%s is invalid", a.roleArn)
	}
	partition, account, resource := m[1], m[2], m[3]
	caller := s.caller(p)
	denied := accessDenied("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller, a.roleArn)
	c, _ := iamprune.ParseARN(caller)
	if c.Kind == "assumed-role" && a.explicitDuration && a.duration > chainedSessionSeconds {
		return nil, validationError("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}

	// Each account's state is locked on its own, never two at once: an
	// AssumeRole into account A from B may run while another goes from A
	// to B.
	principal := s.org.principalOf(caller, c)
	target := s.Member(account)
	if target == nil {
		return nil, denied
	}
	role, ok := target.trustedRole(partition, resource)
	if !ok || !trustAllows(role.trust, trustRequest{principals: principalsOf(caller, principal, c), context: assumeContext(a, c, principal)}) {
		return nil, denied
	}

	now := s.now().UTC()
	expires := now.Add(time.Duration(a.duration) * time.Second).Truncate(time.Second)
	sessionARN := "arn:" + partition + ":sts::" + account + ":assumed-role/" + role.name + "/" + a.session
	creds := xmlCredentials{
		AccessKeyId:     "ASIA" + randomText(base32.StdEncoding, 10)[:16],
		SecretAccessKey: randomText(base64.StdEncoding, 30),
		SessionToken:    randomText(base64.StdEncoding, 180),
		Expiration:      isoTime(expires),
	}
	roleID := role.id
	if roleID == "" {
		roleID = syntheticID("AROA", role.arn)
	}
	o := s.org
	o.mu.Lock()
	o.sessions[creds.AccessKeyId] = &session{account: account, arn: sessionARN, token: creds.SessionToken, expires: expires}
	o.assumed = append(o.assumed, AssumedRole{
		Account: account, RoleArn: a.roleArn, SessionName: a.session, ExternalId: a.externalID,
		Caller: caller, Arn: sessionARN, AccessKeyId: creds.AccessKeyId, Expiration: expires,
	})
	o.mu.Unlock()
	return assumeRoleResult{
		AssumedRoleUser: xmlAssumedRoleUser{Arn: sessionARN, AssumedRoleId: roleID + ":" + a.session},
		Credentials:     creds,
	}, nil
}

// trustedRole finds the role a role ARN's resource (role/PATH/NAME, here
// without "role/") names: the path must be the role's, the name matches
// regardless of case, as IAM resolves names.
func (s *Server) trustedRole(partition, resource string) (trustedRole, bool) {
	path, name := "/", resource
	if i := strings.LastIndexByte(resource, '/'); i >= 0 {
		path, name = "/"+resource[:i+1], resource[i+1:]
	}
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	r := s.st.roleByName[fold(name)]
	if r == nil || pathOf(r.Path) != path || s.st.partition() != partition {
		return trustedRole{}, false
	}
	t := trustedRole{name: r.RoleName, id: r.RoleId, arn: r.Arn}
	if r.AssumeRolePolicyDocument != nil {
		t.trust = r.AssumeRolePolicyDocument.JSON
	}
	return t, true
}

// principalOf is the principal a trust policy sees for caller: the caller
// itself, but for a role session the role's IAM ARN (with its path, when
// the role's account is served), which is also aws:PrincipalArn.
func (o *org) principalOf(caller string, c iamprune.ParsedARN) string {
	if c.Service == "sts" && c.Kind == "assumed-role" {
		return o.roleARN(c)
	}
	return caller
}

// principalsOf lists what a trust policy's Principal may name to match the
// caller: its account id and root ARN, its own ARN and its principal's.
func principalsOf(caller, principal string, c iamprune.ParsedARN) []string {
	out := []string{caller, principal}
	if c.Account != "" {
		out = append(out, c.Account, "arn:"+c.Partition+":iam::"+c.Account+":root")
	}
	return out
}

// roleARN is the IAM ARN of an assumed-role session's role.
func (o *org) roleARN(c iamprune.ParsedARN) string {
	arn := "arn:" + c.Partition + ":iam::" + c.Account + ":role/" + c.Name
	o.mu.Lock()
	srv := o.accounts[c.Account]
	o.mu.Unlock()
	if srv == nil {
		return arn
	}
	srv.st.mu.RLock()
	defer srv.st.mu.RUnlock()
	if r := srv.st.roleByName[fold(c.Name)]; r != nil && r.Arn != "" {
		return r.Arn
	}
	return arn
}

// assumeContext gives the condition keys of an AssumeRole request.
func assumeContext(a assumeParams, c iamprune.ParsedARN, principal string) map[string]string {
	ctx := map[string]string{"sts:rolesessionname": a.session, "aws:principalarn": principal}
	if a.externalID != "" {
		ctx["sts:externalid"] = a.externalID
	}
	if c.Account != "" {
		ctx["aws:principalaccount"] = c.Account
	}
	return ctx
}

// randomText is n random bytes in enc, for secrets and session tokens.
func randomText(enc interface{ EncodeToString([]byte) string }, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return enc.EncodeToString(b)
}
