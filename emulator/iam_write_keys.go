package emulator

import (
	"slices"
	"unicode/utf8"

	"github.com/iamprune/iamprune/snapshot"
)

// Access key and login profile writes.

func noSuchKey(id string) *apiError {
	return noSuchEntity("The Access Key with id %s cannot be found.", id)
}

func noSuchLogin(user string) *apiError {
	return noSuchEntity("Login Profile for User %s cannot be found.", user)
}

// userKey resolves UserName (defaulting to the caller) and AccessKeyId. A
// key of another user is not found, as IAM answers.
func (s *Server) userKey(p queryParams) (*snapshot.AccessKey, *apiError) {
	id := p.get("AccessKeyId")
	if id == "" {
		return nil, missingParam("accessKeyId")
	}
	u, aerr := s.userOrCaller(p)
	if aerr != nil {
		return nil, aerr
	}
	k := s.st.keyByID[id]
	if k == nil || fold(k.UserName) != fold(u.UserName) {
		return nil, noSuchKey(id)
	}
	return k, nil
}

func (s *Server) updateAccessKey(p queryParams) (any, *apiError) {
	status := p.get("Status")
	switch status {
	case "Active", "Inactive":
	case "":
		return nil, missingParam("status")
	default:
		return nil, validationError("1 validation error detected: Value '%s' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]", status)
	}
	k, aerr := s.userKey(p)
	if aerr != nil {
		return nil, aerr
	}
	k.Status = status
	return nil, nil
}

func (s *Server) deleteAccessKey(p queryParams) (any, *apiError) {
	k, aerr := s.userKey(p)
	if aerr != nil {
		return nil, aerr
	}
	st := s.st
	st.keys = slices.DeleteFunc(st.keys, func(x *snapshot.AccessKey) bool { return x == k })
	delete(st.keyByID, k.AccessKeyId)
	return nil, nil
}

func (s *Server) deleteLoginProfile(p queryParams) (any, *apiError) {
	u, aerr := s.userOrCaller(p)
	if aerr != nil {
		return nil, aerr
	}
	if s.st.logins[fold(u.UserName)] == nil {
		return nil, noSuchLogin(u.UserName)
	}
	delete(s.st.logins, fold(u.UserName))
	return nil, nil
}

type createLoginProfileResult struct {
	LoginProfile xmlLoginProfile `xml:"LoginProfile"`
}

// createLoginProfile checks the password against the default password
// policy's minimum length; the password itself is not kept. A new profile
// has never been used, so the user's PasswordLastUsed is cleared with it.
func (s *Server) createLoginProfile(p queryParams) (any, *apiError) {
	u, aerr := s.userOrCaller(p)
	if aerr != nil {
		return nil, aerr
	}
	pw := p.get("Password")
	if pw == "" {
		return nil, missingParam("password")
	}
	if n := utf8.RuneCountInString(pw); n > maxPasswordLength {
		return nil, validationError("1 validation error detected: Value at 'password' failed to satisfy constraint: Member must have length less than or equal to %d", maxPasswordLength)
	}
	reset := false
	switch v := p.get("PasswordResetRequired"); v {
	case "", "false":
	case "true":
		reset = true
	default:
		return nil, validationError("Invalid value for parameter PasswordResetRequired: %s", v)
	}
	if s.st.logins[fold(u.UserName)] != nil {
		return nil, entityAlreadyExists("Login Profile for user %s already exists.", u.UserName)
	}
	if utf8.RuneCountInString(pw) < minPasswordLength {
		return nil, passwordPolicyViolation("Password should have a minimum length of %d", minPasswordLength)
	}
	lp := &snapshot.LoginProfile{UserName: u.UserName, CreateDate: s.stamp(), PasswordResetRequired: reset}
	s.st.logins[fold(u.UserName)] = lp
	return createLoginProfileResult{LoginProfile: xmlLoginProfile{
		CreateDate: isoTime(lp.CreateDate), PasswordResetRequired: reset, UserName: u.UserName,
	}}, nil
}
