package depsprobe

import (
	_ "github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/google/go-github/v75/github"
)
