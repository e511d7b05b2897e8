// Package dynamostream polls a DynamoDB table's stream, as Lambda's event
// source mapping does in AWS, and hands the records to a stream handler:
// local mode's change feed on DynamoDB Local. It is apart from the store
// adapter so that the Lambda binaries do not link the streams client.
package dynamostream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/opsos/onboarding/internal/store/dynamo"
	"github.com/opsos/onboarding/internal/stream"
)

// Checkpoints remember, per stream and shard ("<stream ARN>|<shard id>"),
// the sequence number of the last record handled, so that a restarted poller resumes instead of replaying.
type Checkpoints interface {
	Load(ctx context.Context) (map[string]string, error)
	Save(ctx context.Context, shards map[string]string) error
}

// Poller reads a table's stream through the DynamoDB Streams API and hands
// the records to a StreamHandler as Lambda would: shard by shard, parents
// before children, in order, retrying from the first failed record.
// It stands in for the event source mapping against DynamoDB Local.
type Poller struct {
	streams *dynamodbstreams.Client
	arn     string
	handle  stream.Handler
	cp      Checkpoints
	log     *slog.Logger
	batch   int32

	// iterators are the open shard iterators; done marks closed shards
	// read to the end.
	iterators map[string]*string
	done      map[string]bool
	seqs      map[string]string
}

// NewPoller returns a poller of the stream of table.
func NewPoller(ctx context.Context, db *dynamodb.Client, streams *dynamodbstreams.Client, table string, h stream.Handler, cp Checkpoints, log *slog.Logger) (*Poller, error) {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return nil, fmt.Errorf("describe table %s: %w", table, err)
	}
	if out.Table.LatestStreamArn == nil {
		return nil, fmt.Errorf("table %s has no stream", table)
	}
	seqs, err := cp.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("load stream checkpoints: %w", err)
	}
	if seqs == nil {
		seqs = map[string]string{}
	}
	return &Poller{
		streams: streams, arn: *out.Table.LatestStreamArn, handle: h, cp: cp, log: log, batch: 100,
		iterators: map[string]*string{}, done: map[string]bool{}, seqs: seqs,
	}, nil
}

// StreamARN returns the ARN of the stream polled.
func (p *Poller) StreamARN() string { return p.arn }

// Run polls until ctx ends, resting for idle when there is nothing new and
// backing off while polls or the handler fail.
func (p *Poller) Run(ctx context.Context, idle time.Duration) error {
	pause := stream.Pause{Idle: idle, Max: 30 * time.Second}
	for {
		n, err := p.Poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			p.log.Warn("stream poll failed; retrying", "error", err.Error())
		}
		rest := pause.After(err)
		if n == 0 || err != nil {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(rest):
			}
		}
	}
}

// Poll makes one pass over every shard and returns how many records the
// handler finished.
func (p *Poller) Poll(ctx context.Context) (int, error) {
	shards, err := p.shards(ctx)
	if err != nil {
		return 0, err
	}
	finished := 0
	for _, sh := range shards {
		id := aws.ToString(sh.ShardId)
		if p.done[id] {
			continue
		}
		if parent := aws.ToString(sh.ParentShardId); parent != "" && !p.done[parent] && known(shards, parent) {
			continue // the parent's records come first
		}
		n, err := p.pollShard(ctx, id)
		finished += n
		if err != nil {
			return finished, fmt.Errorf("shard %s: %w", id, err)
		}
	}
	return finished, nil
}

func known(shards []streamtypes.Shard, id string) bool {
	for _, s := range shards {
		if aws.ToString(s.ShardId) == id {
			return true
		}
	}
	return false
}

func (p *Poller) shards(ctx context.Context) ([]streamtypes.Shard, error) {
	var shards []streamtypes.Shard
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: &p.arn}
	for {
		out, err := p.streams.DescribeStream(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("describe stream: %w", err)
		}
		shards = append(shards, out.StreamDescription.Shards...)
		if out.StreamDescription.LastEvaluatedShardId == nil {
			return shards, nil
		}
		in.ExclusiveStartShardId = out.StreamDescription.LastEvaluatedShardId
	}
}

func (p *Poller) iterator(ctx context.Context, shard string) (*string, error) {
	if it := p.iterators[shard]; it != nil {
		return it, nil
	}
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: &p.arn, ShardId: &shard, ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon}
	if seq := p.seqs[p.arn+"|"+shard]; seq != "" {
		in.ShardIteratorType, in.SequenceNumber = streamtypes.ShardIteratorTypeAfterSequenceNumber, &seq
	}
	out, err := p.streams.GetShardIterator(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("get shard iterator: %w", err)
	}
	return out.ShardIterator, nil
}

// pollShard reads the shard until it has nothing new, handing each batch
// to the handler.
func (p *Poller) pollShard(ctx context.Context, shard string) (int, error) {
	finished := 0
	for {
		it, err := p.iterator(ctx, shard)
		if err != nil {
			return finished, err
		}
		out, err := p.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(p.batch)})
		var expired *streamtypes.ExpiredIteratorException
		if errors.As(err, &expired) {
			delete(p.iterators, shard)
			continue
		}
		if err != nil {
			return finished, fmt.Errorf("get records: %w", err)
		}
		if len(out.Records) == 0 {
			p.iterators[shard] = out.NextShardIterator
			if out.NextShardIterator == nil {
				p.done[shard] = true
			}
			return finished, nil
		}
		ev, err := p.event(out.Records)
		if err != nil {
			return finished, err
		}
		resp, err := p.handle(ctx, ev)
		if err != nil {
			// The whole batch is retried, from a fresh iterator.
			delete(p.iterators, shard)
			return finished, fmt.Errorf("handler: %w", err)
		}
		last, failed := stream.Handled(ev.Records, resp)
		if last != "" {
			p.seqs[p.arn+"|"+shard] = last
			if err := p.cp.Save(ctx, p.seqs); err != nil {
				return finished, fmt.Errorf("save checkpoint: %w", err)
			}
		}
		if failed {
			// Retry from the first failure, as Lambda does.
			delete(p.iterators, shard)
			return finished + done(ev.Records, last), fmt.Errorf("%d record(s) failed; retrying from %s", len(resp.BatchItemFailures), resp.BatchItemFailures[0].ItemIdentifier)
		}
		finished += len(ev.Records)
		p.iterators[shard] = out.NextShardIterator
	}
}

func done(recs []events.DynamoDBEventRecord, last string) int {
	for i, r := range recs {
		if r.Change.SequenceNumber == last {
			return i + 1
		}
	}
	return 0
}

// event converts stream API records to the event Lambda delivers.
func (p *Poller) event(recs []streamtypes.Record) (events.DynamoDBEvent, error) {
	ev := events.DynamoDBEvent{Records: make([]events.DynamoDBEventRecord, 0, len(recs))}
	for _, r := range recs {
		d := r.Dynamodb
		if d != nil {
			if pk, ok := d.Keys["PK"].(*streamtypes.AttributeValueMemberS); ok && dynamo.IsCursorKey(pk.Value) {
				continue // the cursor secret goes to no handler
			}
		}
		out := events.DynamoDBEventRecord{
			AWSRegion: aws.ToString(r.AwsRegion), EventID: aws.ToString(r.EventID), EventName: string(r.EventName),
			EventSource: aws.ToString(r.EventSource), EventVersion: aws.ToString(r.EventVersion), EventSourceArn: p.arn,
		}
		if d != nil {
			out.Change = events.DynamoDBStreamRecord{
				SequenceNumber: aws.ToString(d.SequenceNumber), SizeBytes: aws.ToInt64(d.SizeBytes),
				StreamViewType: string(d.StreamViewType),
			}
			if d.ApproximateCreationDateTime != nil {
				out.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: d.ApproximateCreationDateTime.UTC()}
			}
			var err error
			for _, img := range []struct {
				src map[string]streamtypes.AttributeValue
				dst *map[string]events.DynamoDBAttributeValue
			}{{d.Keys, &out.Change.Keys}, {d.OldImage, &out.Change.OldImage}, {d.NewImage, &out.Change.NewImage}} {
				if *img.dst, err = convertImage(img.src); err != nil {
					return events.DynamoDBEvent{}, fmt.Errorf("record %s: %w", out.EventID, err)
				}
			}
		}
		ev.Records = append(ev.Records, out)
	}
	return ev, nil
}

func convertImage(m map[string]streamtypes.AttributeValue) (map[string]events.DynamoDBAttributeValue, error) {
	if m == nil {
		return nil, nil
	}
	av, err := attributevalue.FromDynamoDBStreamsMap(m)
	if err != nil {
		return nil, err
	}
	js, err := attributevalue.MarshalMapJSON(av)
	if err != nil {
		return nil, err
	}
	var out map[string]events.DynamoDBAttributeValue
	return out, json.Unmarshal(js, &out)
}

// FileCheckpoints keeps the poller's checkpoints in a JSON file, replaced
// atomically.
type FileCheckpoints struct{ Path string }

// Load implements Checkpoints.
func (f FileCheckpoints) Load(ctx context.Context) (map[string]string, error) {
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	return m, nil
}

// Save implements Checkpoints.
func (f FileCheckpoints) Save(ctx context.Context, shards map[string]string) error {
	b, err := json.Marshal(shards)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o700); err != nil {
		return err
	}
	tmp := f.Path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, f.Path)
}

// NewLocalClient returns a client of DynamoDB Local's stream API.
func NewLocalClient(endpoint string) *dynamodbstreams.Client {
	return dynamodbstreams.NewFromConfig(dynamo.LocalConfig(endpoint))
}
