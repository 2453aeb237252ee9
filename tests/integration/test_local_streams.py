"""The local runtime's stream reading: moto's shards read in-process (the same records boto3 reads), and
a pump woken by each record written instead of polling on a timer."""

import threading
import time

import boto3
from botocore.config import Config
from moto import mock_aws

from nudge_tools.local.moto_speedups import STREAM_WRITES, InProcessStreams
from nudge_tools.local.streams import MappingSettings, StreamPump, lambda_record


def _table(dynamodb):
    return dynamodb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]


def _boto3_streams():
    # botocore 1.44 routes stream calls to account-based endpoints that moto 5.2 does not serve.
    return boto3.client(
        "dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled")
    )


def _read(client, arn):
    shard = client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = client.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    answer = client.get_records(ShardIterator=iterator["ShardIterator"], Limit=100)
    return [lambda_record(r, arn, "us-east-1") for r in answer["Records"]], answer["NextShardIterator"]


def test_in_process_reads_give_the_records_boto3_reads():
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        arn = _table(dynamodb)
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}, "n": {"N": "1"}, "l": {"L": [{"S": "x"}]}})
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}, "n": {"N": "2"}})
        dynamodb.delete_item(TableName="t", Key={"pk": {"S": "a"}})
        direct = InProcessStreams("us-east-1")
        through_boto3, _ = _read(_boto3_streams(), arn)
        in_process, iterator = _read(direct, arn)
        assert [r["eventName"] for r in in_process] == ["INSERT", "MODIFY", "REMOVE"]
        assert in_process == through_boto3
        in_process[0]["dynamodb"]["NewImage"]["l"]["L"].clear()  # a consumer's change stays its own
        assert _read(direct, arn)[0] == through_boto3
        assert direct.get_records(ShardIterator=iterator, Limit=100)["Records"] == []
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "b"}})
        fresh = direct.get_records(ShardIterator=iterator, Limit=100)["Records"]
        assert [r["dynamodb"]["Keys"] for r in fresh] == [{"pk": {"S": "b"}}]


def test_a_written_record_is_delivered_at_once_however_long_the_poll_interval():
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        arn = _table(dynamodb)
        streams = InProcessStreams("us-east-1")
        delivered = threading.Event()

        def handler(event, context):
            delivered.set()
            return {"batchItemFailures": []}

        # A minute between polls: only the write's wake-up can deliver the record within the test.
        pump = StreamPump(
            streams,
            {"t": arn},
            handler,
            region="us-east-1",
            mapping=MappingSettings(poll_seconds=60),
            writes=STREAM_WRITES,
        )
        pump.start()
        try:
            time.sleep(0.2)  # the pump has read the empty shard and sleeps
            began = time.monotonic()
            dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}})
            assert delivered.wait(5)
            assert time.monotonic() - began < 1
            assert pump.status()["tables"]["t"]["records"] == 1
            stopping = time.monotonic()
            pump.stop()
            assert time.monotonic() - stopping < 1  # woken to stop, not at the end of its minute
        finally:
            pump.stop()
