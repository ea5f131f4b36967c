#!/usr/bin/env python3
"""Reads healthpipe events with Confluent's own Python client, as an outside team would.

Consumes N messages of a topic from the beginning (a fresh consumer group each run),
decodes every value with confluent-kafka's SchemaRegistryClient + AvroDeserializer, using
the writer's schema the registry serves for the id in the Confluent wire format (no reader
schema of our own), and prints one JSON line per message:

    {"key": "<user id>", "record": {...the decoded record...}}

timestamp-micros fields, which fastavro turns into datetimes, are printed as integer
microseconds since the Unix epoch; bytes as lowercase hex. Exits non-zero with a message on
stderr on a timeout or any error. Run by tests/standard_clients.rs.
"""

import argparse
import datetime as dt
import decimal
import json
import sys
import time
import uuid
from typing import NoReturn

from confluent_kafka import Consumer, KafkaError
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def fail(message: str, code: int = 1) -> NoReturn:
    print(f"consume.py: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def micros(value: dt.datetime) -> int:
    """Exact integer microseconds since the epoch (no float rounding)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def jsonable(value):
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return micros(value)
    if isinstance(value, dt.date):
        return (value - EPOCH.date()).days
    if isinstance(value, dt.time):
        return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return str(value)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", required=True, help="Kafka bootstrap servers")
    parser.add_argument("--registry", required=True, help="schema registry URL")
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", required=True, type=int, help="messages to read")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds (default 60)")
    args = parser.parse_args()

    registry = SchemaRegistryClient({"url": args.registry})
    # Our producers register each record type under `<topic>-<record full name>`
    # (TopicRecordNameStrategy). Decoding itself needs only the id in the message, but this
    # client's default strategy (ASSOCIATED, falling back to TopicNameStrategy) would
    # name a `<topic>-value` subject that does not exist; say what we use.
    deserializer = AvroDeserializer(
        registry, conf={"subject.name.strategy.type": "TOPIC_RECORD"}
    )
    consumer = Consumer(
        {
            "bootstrap.servers": args.brokers,
            "group.id": f"healthpipe-python-check-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "error_cb": lambda err: print(f"consume.py: kafka: {err}", file=sys.stderr, flush=True),
        }
    )
    ctx = SerializationContext(args.topic, MessageField.VALUE)
    deadline = time.monotonic() + args.timeout
    seen = 0
    try:
        consumer.subscribe([args.topic])
        while seen < args.count:
            left = deadline - time.monotonic()
            if left <= 0:
                fail(
                    f"timed out after {args.timeout:g} s: read {seen} of {args.count} "
                    f"messages from {args.topic}",
                    code=2,
                )
            msg = consumer.poll(min(left, 1.0))
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                fail(f"kafka error on {args.topic}: {msg.error()}")
            key = msg.key()
            record = deserializer(msg.value(), ctx)
            line = {
                "key": key.decode("utf-8") if key is not None else None,
                "record": jsonable(record),
            }
            print(json.dumps(line, sort_keys=True), flush=True)
            seen += 1
    except SystemExit:
        raise
    except Exception as e:  # any decoding or client failure fails the check loudly
        fail(f"{type(e).__name__}: {e}")
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
