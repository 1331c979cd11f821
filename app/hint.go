package app

import "strings"

// credentialErrors are the words of the AWS SDK's errors when it found no
// credentials, or only expired ones: the SDK gives them no type.
var credentialErrors = []string{
	"failed to refresh cached credentials", "failed to retrieve credentials", "get credentials:",
	"no EC2 IMDS role found", "ExpiredToken", "InvalidClientTokenId", "UnrecognizedClientException",
	"token has expired", "SSO session", "the SSO token",
}

// CredentialsHint says how to get AWS credentials when err shows that the
// SDK found none, or only expired ones; else "".
func CredentialsHint(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	for _, s := range credentialErrors {
		if strings.Contains(msg, s) {
			return "no usable AWS credentials: sign in with 'aws sso login --profile NAME' and pass --profile NAME " +
				"(or set AWS_PROFILE), or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN); " +
				"'aws sts get-caller-identity' checks them. To try iamprune without AWS: 'iamprune demo', or plan --snapshot DIR"
		}
	}
	return ""
}
