package awsapi

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// SNS publishes notifications to SNS topics. It is a thin wrapper so that
// the client is built from the shared configuration (LoadConfig's
// retryer, endpoint override and call counter); the notify package's
// SNSPublisher interface is satisfied by it as by *sns.Client.
type SNS struct {
	client *sns.Client
}

// NewSNS returns an SNS publisher over cfg.
func NewSNS(cfg aws.Config) *SNS {
	return &SNS{client: sns.NewFromConfig(cfg)}
}

// Publish sends one message. Errors are the SDK's, unwrapped: they name
// the operation, and callers match on the typed exceptions
// (types.NotFoundException, types.InvalidParameterException) and on
// smithy.APIError to tell permanent failures from retryable ones.
func (s *SNS) Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error) {
	return s.client.Publish(ctx, in, optFns...)
}
