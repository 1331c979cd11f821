package dynamodb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/iamprune/iamprune"
)

// Key attributes (see the package doc).
const (
	attrPK     = "pk"
	attrSK     = "sk"
	attrGSI1PK = "gsi1pk"
	attrGSI1SK = "gsi1sk"
	attrGSI2PK = "gsi2pk"
	attrGSI2SK = "gsi2sk"
	// attrWriteToken names the last conditional write of an item.
	attrWriteToken = "write_token"
)

// Key size limits of DynamoDB, in bytes of UTF-8.
const (
	maxPK = 2048
	maxSK = 1024
)

type item = map[string]types.AttributeValue

// keyEscaper keeps '#' a field separator in keys: see the package doc.
var keyEscaper = strings.NewReplacer("%", "%25", "#", "%23")

func esc(s string) string { return keyEscaper.Replace(s) }

func key(pk, sk string) item {
	return item{attrPK: str(pk), attrSK: str(sk)}
}

// checkKey rejects a key DynamoDB would refuse, naming what made it long.
func checkKey(what, pk, sk string) error {
	if len(pk) > maxPK || len(sk) > maxSK {
		return iamprune.Errorf(iamprune.EINVALID, "%s is too long for a DynamoDB key (%d and %d bytes, at most %d and %d)", what, len(pk), len(sk), maxPK, maxSK)
	}
	return nil
}

// fits says whether a key is short enough to exist at all.
func fits(pk, sk string) bool { return len(pk) <= maxPK && len(sk) <= maxSK }

// timeFormat is fixed-width, so stored times sort as text in time order.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// seqString is fixed-width, so sequence numbers sort as text.
func seqString(n int64) string { return fmt.Sprintf("%020d", n) }

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// setS stores s, or nothing when it is empty: a missing attribute reads
// back as "".
func setS(it item, name, s string) {
	if s != "" {
		it[name] = str(s)
	}
}

func setTime(it item, name string, t *time.Time) {
	if t != nil {
		it[name] = str(formatTime(*t))
	}
}

func getS(it item, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getN(it item, name string) (int64, error) {
	v, ok := it[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("item %s/%s has no number %s", getS(it, attrPK), getS(it, attrSK), name)
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("item %s/%s has a bad number %s=%q: %w", getS(it, attrPK), getS(it, attrSK), name, v.Value, err)
	}
	return n, nil
}

func getB(it item, name string) []byte {
	if v, ok := it[name].(*types.AttributeValueMemberB); ok {
		return v.Value
	}
	return nil
}

func getTime(it item, name string) (time.Time, error) {
	s := getS(it, name)
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("item %s/%s has a bad time %s=%q: %w", getS(it, attrPK), getS(it, attrSK), name, s, err)
	}
	return t.UTC(), nil
}

func getTimePtr(it item, name string) (*time.Time, error) {
	if _, ok := it[name]; !ok {
		return nil, nil
	}
	t, err := getTime(it, name)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func isConditionFailed(err error) bool {
	var e *types.ConditionalCheckFailedException
	return errors.As(err, &e)
}

func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("cannot make a token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// get reads one item with a strongly consistent read; nil when missing.
func (s *Store) get(ctx context.Context, k item) (item, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

// mine says whether the item at k carries token: a write that failed its
// condition only because an earlier attempt of the same write, retried by
// the SDK after a lost response, had already succeeded.
func (s *Store) mine(ctx context.Context, k item, token string) (bool, item, error) {
	cur, err := s.get(ctx, k)
	if err != nil {
		return false, nil, err
	}
	return cur != nil && getS(cur, attrWriteToken) == token, cur, nil
}

// Counters give the sequence numbers that order records of equal times in
// write order, as SQLite's AUTOINCREMENT does.
const (
	counterRun    = "RUN"
	counterNotice = "NOTICE"
)

func (s *Store) next(ctx context.Context, counter string) (int64, error) {
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key("COUNTER", counter),
		UpdateExpression:          aws.String("ADD #n :one"),
		ExpressionAttributeNames:  map[string]string{"#n": "n"},
		ExpressionAttributeValues: item{":one": num(1)},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("cannot take a %s sequence number: %w", strings.ToLower(counter), err)
	}
	return getN(out.Attributes, "n")
}

// query runs in to the end, or until it has limit items when limit > 0.
func (s *Store) query(ctx context.Context, in *dynamodb.QueryInput, limit int) ([]item, error) {
	in.TableName = aws.String(s.table)
	var items []item
	for {
		if limit > 0 {
			in.Limit = aws.Int32(int32(min(limit-len(items), 1000)))
		}
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		items = append(items, out.Items...)
		if limit > 0 && len(items) >= limit {
			return items[:limit], nil
		}
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// expr builds the names, values and conditions of a query; every name goes
// through a placeholder, as "status" and others are reserved words.
type expr struct {
	names       map[string]string
	values      item
	filter      []string
	set, remove []string
}

func newExpr() *expr { return &expr{names: map[string]string{}, values: item{}} }

// cond returns "name op value" with placeholders.
func (e *expr) cond(name, op string, v types.AttributeValue) string {
	i := len(e.values)
	n, p := fmt.Sprintf("#a%d", i), fmt.Sprintf(":v%d", i)
	e.names[n], e.values[p] = name, v
	return n + " " + op + " " + p
}

// name returns a placeholder for the attribute name.
func (e *expr) name(n string) string {
	p := fmt.Sprintf("#n%d", len(e.names))
	e.names[p] = n
	return p
}

// eq filters on name = v; an empty v matches anything.
func (e *expr) eq(name, v string) {
	if v != "" {
		e.filter = append(e.filter, e.cond(name, "=", str(v)))
	}
}

// prefix returns "begins_with(name, v)" with placeholders.
func (e *expr) prefix(name, v string) string {
	c := e.cond(name, ",", str(v))
	return "begins_with(" + c + ")"
}

// assign adds name = v to the update expression.
func (e *expr) assign(name string, v types.AttributeValue) {
	e.set = append(e.set, e.cond(name, "=", v))
}

// assignS assigns s, or removes the attribute when s is empty (setS).
func (e *expr) assignS(name, s string) {
	if s != "" {
		e.assign(name, str(s))
		return
	}
	e.unset(name)
}

func (e *expr) unset(name string) {
	n := fmt.Sprintf("#r%d", len(e.remove))
	e.names[n] = name
	e.remove = append(e.remove, n)
}

// update is the SET and REMOVE clauses of an update expression.
func (e *expr) update() string {
	var parts []string
	if len(e.set) > 0 {
		parts = append(parts, "SET "+strings.Join(e.set, ", "))
	}
	if len(e.remove) > 0 {
		parts = append(parts, "REMOVE "+strings.Join(e.remove, ", "))
	}
	return strings.Join(parts, " ")
}

// input is a query of the key condition kc with the filters.
func (e *expr) input(index, kc string, forward bool) *dynamodb.QueryInput {
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String(kc),
		ExpressionAttributeNames:  e.names,
		ExpressionAttributeValues: e.values,
		ScanIndexForward:          aws.Bool(forward),
	}
	if index == "" {
		in.ConsistentRead = aws.Bool(true)
	} else {
		in.IndexName = aws.String(index)
	}
	if len(e.filter) > 0 {
		in.FilterExpression = aws.String(strings.Join(e.filter, " AND "))
	}
	return in
}
