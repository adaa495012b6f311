"""Consumes one partition with confluent_kafka's assign() (no group commits).

stdin: {"bootstrap", "topic", "partition", "offset", "count", "timeout_s", "config": {...}}
stdout: {"messages": [{"offset", "partition", "key", "value", "headers", "timestamp"}],
         "errors": [...]}
Values longer than 256 characters are summarized as {"length", "head", "tail"}.
"""

import time

from confluent_kafka import Consumer, KafkaError, TopicPartition

from _common import decode, deadline, run_main, summarize


def main(spec):
    config = {
        "bootstrap.servers": spec["bootstrap"],
        "group.id": spec.get("group", "denka-interop-unused"),
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "auto.offset.reset": "error",
    }
    config.update(spec.get("config", {}))
    consumer = Consumer(config)
    partition = spec.get("partition", 0)
    consumer.assign([TopicPartition(spec["topic"], partition, spec.get("offset", 0))])
    messages = []
    errors = []
    count = spec["count"]
    until = deadline(spec.get("timeout_s", 30))
    try:
        while len(messages) < count and time.monotonic() < until:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    if spec.get("stop_at_eof", False):
                        break
                    continue
                errors.append({"error": str(err), "code": err.code()})
                if err.fatal() or not err.retriable():
                    break
                continue
            messages.append({
                "offset": msg.offset(),
                "partition": msg.partition(),
                "key": decode(msg.key()),
                "value": summarize(decode(msg.value())),
                "headers": [[k, decode(v)] for k, v in (msg.headers() or [])],
                "timestamp": msg.timestamp()[1],
            })
    finally:
        consumer.close()
    return {"messages": messages, "errors": errors}


if __name__ == "__main__":
    run_main(main)
