// Package dynamodb is the iamprune state store in one Amazon DynamoDB
// table: runs, the action journal with pre-images and steps, the
// per-account run lock, holds, the notification log and the
// service-last-accessed cache. It behaves as the SQLite store does (the
// storetest suite checks both), so that many Lambda invocations or workers
// can share state.
//
// # Table schema
//
// One table, single-table design. Every key attribute is a string. Values
// taken from records (run ids, action ids, accounts, item keys) are escaped
// inside keys, '%' as "%25" and '#' as "%23", so that '#' always separates
// fields and no two records can share a key. Times are UTC RFC 3339 text of
// fixed width with nanoseconds (2006-01-02T15:04:05.000000000Z), so they
// sort as text in time order; sequence numbers are 20-digit decimals.
//
//	record       pk                          sk                                   gsi1pk             gsi2pk
//	run          RUN#<run>                   RUN                                  RUNS#<account>     RUNS
//	action       RUN#<run>                   ACTION#<action>                      ACTIONS#<account>  ACTIONS
//	step         RUN#<run>                   STEP#<action>#<seq>
//	image chunk  RUN#<run>                   CHUNK#<action>#<token>#<pre|post>#<n>
//	notice       NOTICE#<account>#<item key> <sent_at>#<notice seq>               NOTICES#<account>  NOTICES
//	hold         HOLD#<hold id>              HOLD                                 HOLDS#<account>    HOLDS
//	run lock     LOCK#<account>              LOCK
//	usage cache  USAGE#<account>#<principal> USAGE
//	sweep        SWEEP#<sweep>               SWEEP
//	sweep part   SWEEP#<sweep>               PART#<account>#<page>
//	counter      COUNTER                     RUN | NOTICE
//
// gsi1sk and gsi2sk are equal: <started_at>#<run seq> for a run,
// <started_at>#<run seq>#<action seq> for an action, <at>#<hold id> for a
// hold and the notice's sk for a notice. Steps, chunks, locks, usage cache
// items and counters have no index attributes, so the indexes stay sparse.
//
// Access patterns:
//   - Run, FinishRun: the run item. BeginAction adds 1 to the run's
//     action_seq (which also checks that the run exists), so Actions, a query
//     of the run's partition, returns the journal in write order.
//   - Runs: index by-account (gsi1) or, for every account, by-type (gsi2),
//     newest first. The RUN and NOTICE counters give the run and notice
//     sequence numbers that break ties of equal times in write order.
//   - FindActions: by-account, or by-type when no account is given, oldest
//     first; the other fields of the filter are filter expressions.
//   - Steps: a query of the STEP# items of each run read, in Seq order.
//     RecordStep reads the action item first (ENOTFOUND without one) and
//     replaces the step item of the same Seq.
//   - Hold, PutHold, ReleaseHold: the hold item. Holds: by-account or
//     by-type, newest first.
//   - LockHolder, BreakLock, Renew: the lock item, whose write_token is the
//     holding's token; Renew and BreakLock are conditional on it.
//   - CachedLastAccessed, CacheLastAccessed: the usage cache item, whose
//     data is the result's JSON (at most 350 KiB, else refused) and at the
//     time it was stored.
//   - StartSweep, FinishSweepPart, Sweep: the sweep's partition. A done
//     part is counted by adding its key to the sweep item's done_parts
//     string set on condition that it is not there yet (sweeps.go).
//   - FindNotices: the notice partition for an account and an item key, else
//     by-account or by-type; Since is a sort-key condition.
//
// Images (pre- and post-images, of actions and of steps) are never
// truncated. One up to 64 KiB is
// stored in the action item; a larger one is split into chunk items of
// 256 KiB, written before the action item, which records their count, size,
// SHA-256 and a random token naming this write's chunks. A read reassembles
// them and fails, rather than return a partial image, when one is missing.
//
// The other fields of a record stay in its item: one whose text alone
// (an enormous detail, say) passes the item limit is refused with an
// error, never cut.
//
// Every conditional write also stores a random write token, so that a write
// the SDK retried after a lost response, and that then fails its condition
// against its own first attempt, is recognised as done, not as a conflict.
//
// The by-account and by-type indexes are updated asynchronously by
// DynamoDB, usually within a second: Runs, FindActions and FindNotices (but
// for one account and item key) may miss a record written a moment ago.
// Nothing that makes an action happen at most once relies on them: the
// conditional writes on the base table and the per-account lock do. The
// by-type index puts each record type in one partition; iamprune writes a
// few records per finding, far below a partition's throughput.
//
// # Provisioning
//
// The table is created by the CloudFormation stack in production, or by
// CreateTable (TableInput is its exact definition):
//
//	BillingMode: PAY_PER_REQUEST
//	AttributeDefinitions: pk, sk, gsi1pk, gsi1sk, gsi2pk, gsi2sk, all type S
//	KeySchema: pk HASH, sk RANGE
//	GlobalSecondaryIndexes:
//	  by-account: gsi1pk HASH, gsi1sk RANGE, Projection ALL
//	  by-type:    gsi2pk HASH, gsi2sk RANGE, Projection ALL
//	PointInTimeRecoverySpecification: PointInTimeRecoveryEnabled: true
//
// The IAM permissions the store uses on the table and its indexes are
// dynamodb:DescribeTable, GetItem, PutItem, UpdateItem, DeleteItem, Query,
// BatchGetItem and BatchWriteItem.
//
// It is an adapter: it imports only the root, never another adapter; app and
// cmd import it.
package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/iamprune/iamprune"
)

var (
	_ iamprune.Store     = (*Store)(nil)
	_ iamprune.NoticeLog = (*Store)(nil)
	_ iamprune.SweepLog  = (*Store)(nil)
)

// Index names and their key attributes.
const (
	IndexByAccount = "by-account"
	IndexByType    = "by-type"
)

// Store is an iamprune.Store in a DynamoDB table. It is safe for concurrent
// use, and any number of Stores, in any number of processes, may share the
// table.
type Store struct {
	client *dynamodb.Client
	table  string
}

// Option configures Open.
type Option func(*options)

type options struct {
	client []func(*dynamodb.Options)
}

// WithClientOptions adjusts the DynamoDB client, e.g. its endpoint or
// retryer.
func WithClientOptions(fns ...func(*dynamodb.Options)) Option {
	return func(o *options) { o.client = append(o.client, fns...) }
}

// Open returns the store in table, which must exist with the schema of
// TableInput: a missing table is ENOTFOUND, one with another schema or a
// bad name EINVALID.
func Open(ctx context.Context, cfg aws.Config, table string, opts ...Option) (*Store, error) {
	if err := checkTableName(table); err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	s := &Store{client: dynamodb.NewFromConfig(cfg, o.client...), table: table}
	out, err := s.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil, &iamprune.Error{Code: iamprune.ENOTFOUND, Err: err,
			Message: fmt.Sprintf("DynamoDB table %s not found in region %s: create it with the CloudFormation stack or dynamodb.CreateTable", table, cfg.Region)}
	}
	if err != nil {
		return nil, fmt.Errorf("cannot describe table %s: %w", table, err)
	}
	if err := checkSchema(out.Table); err != nil {
		return nil, iamprune.Errorf(iamprune.EINVALID, "DynamoDB table %s is not an iamprune state table: %s", table, err)
	}
	return s, nil
}

// Close releases nothing: the client holds no connection of its own.
func (s *Store) Close() error { return nil }

var tableNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)

func checkTableName(table string) error {
	if !tableNameRE.MatchString(table) {
		return iamprune.Errorf(iamprune.EINVALID, "bad table name %q for the DynamoDB state: want 3 to 255 letters, digits, '_', '-' or '.'", table)
	}
	return nil
}

// TableInput is the definition of the state table; the CloudFormation
// template must match it.
func TableInput(table string) *dynamodb.CreateTableInput {
	str := func(names ...string) []types.AttributeDefinition {
		var defs []types.AttributeDefinition
		for _, n := range names {
			defs = append(defs, types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS})
		}
		return defs
	}
	keys := func(hash, rng string) []types.KeySchemaElement {
		return []types.KeySchemaElement{
			{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange},
		}
	}
	all := &types.Projection{ProjectionType: types.ProjectionTypeAll}
	return &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: str(attrPK, attrSK, attrGSI1PK, attrGSI1SK, attrGSI2PK, attrGSI2SK),
		KeySchema:            keys(attrPK, attrSK),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			{IndexName: aws.String(IndexByAccount), KeySchema: keys(attrGSI1PK, attrGSI1SK), Projection: all},
			{IndexName: aws.String(IndexByType), KeySchema: keys(attrGSI2PK, attrGSI2SK), Projection: all},
		},
	}
}

// checkSchema says how desc differs from TableInput, if it does.
func checkSchema(desc *types.TableDescription) error {
	want := TableInput("")
	attrTypes := map[string]types.ScalarAttributeType{}
	for _, d := range desc.AttributeDefinitions {
		attrTypes[aws.ToString(d.AttributeName)] = d.AttributeType
	}
	sameKeys := func(what string, got, want []types.KeySchemaElement) error {
		ok := len(got) == len(want)
		for i := 0; ok && i < len(want); i++ {
			name := aws.ToString(want[i].AttributeName)
			ok = aws.ToString(got[i].AttributeName) == name && got[i].KeyType == want[i].KeyType &&
				attrTypes[name] == types.ScalarAttributeTypeS
		}
		if !ok {
			return fmt.Errorf("%s key schema is not %s", what, keyString(want))
		}
		return nil
	}
	if err := sameKeys("the table's", desc.KeySchema, want.KeySchema); err != nil {
		return err
	}
	for _, w := range want.GlobalSecondaryIndexes {
		name := aws.ToString(w.IndexName)
		var found bool
		for _, g := range desc.GlobalSecondaryIndexes {
			if aws.ToString(g.IndexName) != name {
				continue
			}
			found = true
			if err := sameKeys("index "+name+"'s", g.KeySchema, w.KeySchema); err != nil {
				return err
			}
			if g.Projection == nil || g.Projection.ProjectionType != types.ProjectionTypeAll {
				return fmt.Errorf("index %s does not project ALL attributes", name)
			}
		}
		if !found {
			return fmt.Errorf("index %s is missing", name)
		}
	}
	return nil
}

func keyString(ks []types.KeySchemaElement) string {
	var parts []string
	for _, k := range ks {
		parts = append(parts, aws.ToString(k.AttributeName)+" "+string(k.KeyType)+" (S)")
	}
	return strings.Join(parts, ", ")
}

// TableOption configures CreateTable.
type TableOption func(*tableOptions)

type tableOptions struct{ noPITR bool }

// WithoutPointInTimeRecovery skips enabling point-in-time recovery, for
// local emulators that do not implement it. Never use it in production.
func WithoutPointInTimeRecovery() TableOption {
	return func(o *tableOptions) { o.noPITR = true }
}

// CreateTable creates the state table (TableInput), waits until it and its
// indexes are active, and enables point-in-time recovery. A table that
// already exists is ECONFLICT.
func CreateTable(ctx context.Context, client *dynamodb.Client, table string, opts ...TableOption) error {
	if err := checkTableName(table); err != nil {
		return err
	}
	var o tableOptions
	for _, opt := range opts {
		opt(&o)
	}
	_, err := client.CreateTable(ctx, TableInput(table))
	var inUse *types.ResourceInUseException
	if errors.As(err, &inUse) {
		return &iamprune.Error{Code: iamprune.ECONFLICT, Message: fmt.Sprintf("DynamoDB table %s already exists", table), Err: err}
	}
	if err != nil {
		return fmt.Errorf("cannot create table %s: %w", table, err)
	}
	if err := waitActive(ctx, client, table); err != nil {
		return err
	}
	if o.noPITR {
		return nil
	}
	_, err = client.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{
		TableName:                        aws.String(table),
		PointInTimeRecoverySpecification: &types.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("DynamoDB table %s created, but cannot enable point-in-time recovery: %w", table, err)
	}
	return nil
}

// waitActive polls until the table and all its indexes are ACTIVE.
func waitActive(ctx context.Context, client *dynamodb.Client, table string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	delay := 100 * time.Millisecond
	for {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			return fmt.Errorf("cannot wait for table %s: %w", table, err)
		}
		active := out.Table.TableStatus == types.TableStatusActive
		for _, g := range out.Table.GlobalSecondaryIndexes {
			active = active && g.IndexStatus == types.IndexStatusActive
		}
		if active {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("DynamoDB table %s is not active yet (%s): %w", table, out.Table.TableStatus, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}
