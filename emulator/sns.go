package emulator

import (
	"encoding/json"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/snapshot"
)

// SNS (Query protocol, XML responses): the topic operations and Publish,
// which notifications use. Nothing is delivered: published messages are
// kept for tests to read back with Published. Subscriptions and the other
// SNS operations answer InvalidAction.

var snsService = &queryService{
	Name:    "sns",
	Version: "2010-03-31",
	Xmlns:   "http://sns.amazonaws.com/doc/2010-03-31/",
	Ops: map[string]func(*Server, queryParams) (any, *apiError){
		"CreateTopic":        (*Server).createTopic,
		"ListTopics":         (*Server).listTopics,
		"GetTopicAttributes": (*Server).getTopicAttributes,
		"DeleteTopic":        (*Server).deleteTopic,
		"Publish":            (*Server).publish,
	},
	Writes: map[string]bool{"CreateTopic": true, "DeleteTopic": true, "Publish": true},
}

// snsTopic is one topic. attrs holds the attributes set at creation;
// GetTopicAttributes adds the computed ones.
type snsTopic struct {
	arn, name string
	attrs     map[string]string
	tags      []snapshot.Tag
	// dedup remembers FIFO deduplication ids for five minutes, by id.
	dedup map[string]dedupEntry
}

type dedupEntry struct {
	messageID, sequence string
	at                  time.Time
}

func (t *snsTopic) fifo() bool { return t.attrs["FifoTopic"] == "true" }

// Errors SNS gives.

func snsInvalidParameter(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: "+format, args...)
}

// snsInvalidValue is InvalidParameterValueException, whose code is
// ParameterValueInvalid; SNS uses it for message attributes.
func snsInvalidValue(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "ParameterValueInvalid", format, args...)
}

func snsNotFound(format string, args ...any) *apiError {
	return errorf(http.StatusNotFound, "NotFound", format, args...)
}

// topicNamePattern is SNS's rule: 1 to 256 ASCII letters, digits,
// hyphens and underscores, and a FIFO topic's name ends in ".fifo" (which
// counts toward the 256).
var topicNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.fifo)?$`)

// topicAttributes are the attributes CreateTopic accepts; booleans must
// be "true" or "false".
var topicAttributes = map[string]bool{
	"ArchivePolicy": false, "ContentBasedDeduplication": true, "DataProtectionPolicy": false,
	"DeliveryPolicy": false, "DisplayName": false, "FifoThroughputScope": false, "FifoTopic": true,
	"KmsMasterKeyId": false, "Policy": false, "SignatureVersion": false, "TracingConfig": false,
}

// topicARN is the ARN SNS gives a topic of this name in the emulated
// account and region.
func (st *state) topicARN(name string) string {
	return "arn:" + st.partition() + ":sns:" + st.region() + ":" + st.meta.AccountID + ":" + name
}

// addTopic creates a topic without validation, for seeds.
func (st *state) addTopic(name string, attrs map[string]string, tags []snapshot.Tag) *snsTopic {
	if attrs == nil {
		attrs = map[string]string{}
	}
	if strings.HasSuffix(name, ".fifo") && attrs["FifoTopic"] == "" {
		attrs["FifoTopic"] = "true"
	}
	t := &snsTopic{arn: st.topicARN(name), name: name, attrs: attrs, tags: tags, dedup: map[string]dedupEntry{}}
	st.topics[t.arn] = t
	return t
}

// topicParam resolves the TopicArn parameter: InvalidParameter when it is
// missing or not an SNS topic ARN, NotFound when no such topic exists.
func (s *Server) topicParam(p queryParams) (*snsTopic, *apiError) {
	arn := p.get("TopicArn")
	if !isTopicARN(arn) {
		return nil, snsInvalidParameter("TopicArn")
	}
	t := s.st.topics[arn]
	if t == nil {
		return nil, snsNotFound("Topic does not exist")
	}
	return t, nil
}

// isTopicARN: arn:PARTITION:sns:REGION:ACCOUNT:NAME with no part empty.
func isTopicARN(arn string) bool {
	a, ok := iamprune.SplitARN(arn)
	return ok && a.Service == "sns" && !strings.Contains(a.Resource, ":") &&
		!slices.Contains([]string{a.Partition, a.Region, a.Account, a.Resource}, "")
}

// entries reads a Query map (Name.entry.N.key / Name.entry.N.value).
func (p queryParams) entries(name string) map[string]string {
	out := map[string]string{}
	for i := 1; ; i++ {
		prefix := name + ".entry." + strconv.Itoa(i) + "."
		key, ok := p[prefix+"key"]
		if !ok {
			return out
		}
		out[first(key)] = p.get(prefix + "value")
	}
}

type createTopicResult struct {
	TopicArn string `xml:"TopicArn"`
}

// createTopic is idempotent by name: asking again with the same (or no)
// attributes and tags returns the existing topic's ARN.
func (s *Server) createTopic(p queryParams) (any, *apiError) {
	name := p.get("Name")
	attrs := p.entries("Attributes")
	tags := p.tags("Tags")
	if aerr := checkTopic(name, attrs, tags); aerr != nil {
		return nil, aerr
	}
	if t := s.st.topics[s.st.topicARN(name)]; t != nil {
		for k, v := range attrs {
			if t.attrs[k] != v && !(v == "false" && topicAttributes[k] && t.attrs[k] == "") {
				return nil, snsInvalidParameter("Attributes Reason: Topic already exists with different attributes")
			}
		}
		if len(tags) > 0 && !sameTags(tags, t.tags) {
			return nil, snsInvalidParameter("Tags Reason: Topic already exists with different tags")
		}
		return createTopicResult{TopicArn: t.arn}, nil
	}
	t := s.st.addTopic(name, attrs, tags)
	return createTopicResult{TopicArn: t.arn}, nil
}

// checkTopic validates CreateTopic's input as SNS does.
func checkTopic(name string, attrs map[string]string, tags []snapshot.Tag) *apiError {
	if name == "" || len(name) > 256 || !topicNamePattern.MatchString(name) {
		return snsInvalidParameter("Topic Name")
	}
	for _, k := range sortedKeys(attrs) {
		boolean, known := topicAttributes[k]
		if !known {
			return snsInvalidParameter("Attributes Reason: Unknown attribute %s", k)
		}
		if boolean && attrs[k] != "true" && attrs[k] != "false" {
			return snsInvalidParameter("Attributes Reason: %s must be true or false, got %q", k, attrs[k])
		}
	}
	if pol, ok := attrs["Policy"]; ok && !json.Valid([]byte(pol)) {
		return snsInvalidParameter("Policy Error: the policy is not valid JSON")
	}
	fifoName := strings.HasSuffix(name, ".fifo")
	switch fifo := attrs["FifoTopic"] == "true"; {
	case fifo && !fifoName:
		return snsInvalidParameter("Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.")
	case !fifo && fifoName:
		return snsInvalidParameter("Topic Name Reason: a topic name ending in .fifo requires the FifoTopic attribute set to true")
	case !fifo && attrs["ContentBasedDeduplication"] == "true":
		return snsInvalidParameter("Attributes Reason: ContentBasedDeduplication is only valid for FIFO topics")
	}
	for _, tag := range tags {
		if tag.Key == "" || len(tag.Key) > 128 || len(tag.Value) > 256 {
			return snsInvalidParameter("Tags Reason: tag keys must be 1 to 128 characters and values at most 256")
		}
	}
	return nil
}

func sameTags(a, b []snapshot.Tag) bool {
	ma, mb := map[string]string{}, map[string]string{}
	for _, t := range a {
		ma[t.Key] = t.Value
	}
	for _, t := range b {
		mb[t.Key] = t.Value
	}
	return maps.Equal(ma, mb)
}

type xmlTopic struct {
	TopicArn string `xml:"TopicArn"`
}

type listTopicsResult struct {
	Topics    list[xmlTopic] `xml:"Topics"`
	NextToken string         `xml:"NextToken,omitempty"`
}

// listTopics lists topics in ARN order, a page (Options.PageSize, SNS's
// 100 by default) at a time.
func (s *Server) listTopics(p queryParams) (any, *apiError) {
	arns := sortedKeys(s.st.topics)
	pg, err := paginate(len(arns), p.get("NextToken"), s.pageSize, "ListTopics")
	if err != nil {
		return nil, snsInvalidParameter("NextToken")
	}
	out := listTopicsResult{Topics: list[xmlTopic]{}, NextToken: pg.Next}
	for _, arn := range arns[pg.Start:pg.End] {
		out.Topics = append(out.Topics, xmlTopic{TopicArn: arn})
	}
	return out, nil
}

type xmlEntry struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type getTopicAttributesResult struct {
	Attributes []xmlEntry `xml:"Attributes>entry"`
}

// getTopicAttributes answers what SNS does for a topic without
// subscriptions: the attributes set at creation plus the computed ones.
func (s *Server) getTopicAttributes(p queryParams) (any, *apiError) {
	t, aerr := s.topicParam(p)
	if aerr != nil {
		return nil, aerr
	}
	attrs := s.st.topicAttributes(t)
	out := getTopicAttributesResult{}
	for _, k := range sortedKeys(attrs) {
		out.Attributes = append(out.Attributes, xmlEntry{Key: k, Value: attrs[k]})
	}
	return out, nil
}

func (st *state) topicAttributes(t *snsTopic) map[string]string {
	account := st.meta.AccountID
	attrs := map[string]string{
		"TopicArn": t.arn, "Owner": account, "DisplayName": "",
		"SubscriptionsConfirmed": "0", "SubscriptionsPending": "0", "SubscriptionsDeleted": "0",
		"Policy":                  defaultTopicPolicy(t.arn, account),
		"EffectiveDeliveryPolicy": defaultDeliveryPolicy,
	}
	if t.fifo() {
		attrs["ContentBasedDeduplication"] = "false"
	}
	maps.Copy(attrs, t.attrs)
	if p, ok := t.attrs["DeliveryPolicy"]; ok {
		attrs["EffectiveDeliveryPolicy"] = p
	}
	return attrs
}

// defaultTopicPolicy is the access policy SNS gives a new topic.
func defaultTopicPolicy(arn, account string) string {
	return `{"Version":"2008-10-17","Id":"__default_policy_ID","Statement":[{"Sid":"__default_statement_ID","Effect":"Allow","Principal":{"AWS":"*"},` +
		`"Action":["SNS:GetTopicAttributes","SNS:SetTopicAttributes","SNS:AddPermission","SNS:RemovePermission","SNS:DeleteTopic","SNS:Subscribe","SNS:ListSubscriptionsByTopic","SNS:Publish"],` +
		`"Resource":"` + arn + `","Condition":{"StringEquals":{"AWS:SourceOwner":"` + account + `"}}}]}`
}

const defaultDeliveryPolicy = `{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}`

// deleteTopic is idempotent, as in SNS: deleting a topic that does not
// exist succeeds. Messages published to it stay in the Published log.
func (s *Server) deleteTopic(p queryParams) (any, *apiError) {
	arn := p.get("TopicArn")
	if !isTopicARN(arn) {
		return nil, snsInvalidParameter("TopicArn")
	}
	delete(s.st.topics, arn)
	return nil, nil
}
