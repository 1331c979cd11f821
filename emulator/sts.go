package emulator

import (
	"crypto/sha256"
	"encoding/base32"

	"github.com/iamprune/iamprune"
)

var stsService = &queryService{
	Name:    "sts",
	Version: "2011-06-15",
	Xmlns:   "https://sts.amazonaws.com/doc/2011-06-15/",
	Ops: map[string]func(*Server, queryParams) (any, *apiError){
		"GetCallerIdentity": (*Server).getCallerIdentity,
		"AssumeRole":        (*Server).assumeRole,
	},
	Unlocked: map[string]bool{"AssumeRole": true},
}

type getCallerIdentityResult struct {
	Account string `xml:"Account"`
	Arn     string `xml:"Arn"`
	UserId  string `xml:"UserId"`
}

// getCallerIdentity answers as the identity the request acts as: the
// assumed-role session its credentials belong to, or else the identity the
// snapshot was captured as.
func (s *Server) getCallerIdentity(p queryParams) (any, *apiError) {
	caller := s.caller(p)
	return getCallerIdentityResult{Account: s.st.meta.AccountID, Arn: caller, UserId: s.callerUserID(caller)}, nil
}

// callerUserID gives the UserId STS would: the user's id for a user, the
// role's id and the session name for an assumed role, the account for root.
// Principals absent from the snapshot get a stable id derived from the ARN.
func (s *Server) callerUserID(arn string) string {
	p, ok := iamprune.ParseARN(arn)
	if !ok {
		return syntheticID("AIDA", arn)
	}
	switch {
	case p.Kind == "root":
		return p.Account
	case p.Service == "iam" && p.Kind == "user":
		if u := s.st.userByName[fold(p.Name)]; u != nil && u.UserId != "" {
			return u.UserId
		}
		return syntheticID("AIDA", arn)
	case p.Service == "sts" && p.Kind == "assumed-role":
		session := sessionName(arn)
		if r := s.st.roleByName[fold(p.Name)]; r != nil && r.RoleId != "" {
			return r.RoleId + ":" + session
		}
		return syntheticID("AROA", "role/"+p.Name) + ":" + session
	}
	return syntheticID("AIDA", arn)
}

// sessionName is the part after the last slash of an assumed-role ARN.
func sessionName(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == '/' {
			return arn[i+1:]
		}
	}
	return ""
}

// syntheticID builds an IAM-style unique id (prefix + 17 characters).
func syntheticID(prefix, seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return prefix + base32.StdEncoding.EncodeToString(sum[:])[:17]
}
