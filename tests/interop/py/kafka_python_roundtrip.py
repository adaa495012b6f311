"""kafka-python 2.0.2: produce with KafkaProducer, then read back with a
KafkaConsumer using manual assign() + seek() (no group).

stdin: {"bootstrap", "topic", "partition", "count", "seek_to", "api_version" ([a, b, c] optional),
        "compression_type" (optional), "config" (optional: more client settings, e.g. ssl_cafile)}
stdout: {"produced": [offsets], "consumed": [{"offset", "key", "value", "headers"}],
         "api_version": [..]}
"""

import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from _common import decode, deadline, run_main


def main(spec):
    common = {"bootstrap_servers": spec["bootstrap"]}
    if spec.get("api_version"):
        common["api_version"] = tuple(spec["api_version"])
    common.update(spec.get("config", {}))
    topic = spec["topic"]
    partition = spec.get("partition", 0)
    count = spec["count"]
    producer = KafkaProducer(acks="all", compression_type=spec.get("compression_type"),
                             linger_ms=5, **common)
    try:
        futures = [producer.send(topic, partition=partition, key=b"k-%d" % i,
                                 value=b"v-%d" % i, headers=[("i", b"%d" % i)])
                   for i in range(count)]
        producer.flush(30)
        produced = [f.get(timeout=30).offset for f in futures]
        api_version = producer.config["api_version"]
    finally:
        producer.close(10)

    seek_to = spec.get("seek_to", produced[0])
    consumer = KafkaConsumer(enable_auto_commit=False, group_id=None,
                             consumer_timeout_ms=1000, **common)
    consumed = []
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, seek_to)
        want = produced[-1] - seek_to + 1
        until = deadline(spec.get("timeout_s", 30))
        while len(consumed) < want and time.monotonic() < until:
            batch = consumer.poll(timeout_ms=500)
            for records in batch.values():
                for r in records:
                    consumed.append({
                        "offset": r.offset,
                        "key": decode(r.key),
                        "value": decode(r.value),
                        "headers": [[k, decode(v)] for k, v in (r.headers or [])],
                    })
        end = consumer.end_offsets([tp])[tp]
    finally:
        consumer.close()
    return {"produced": produced, "consumed": consumed, "end_offset": end,
            "api_version": list(api_version) if api_version else None}


if __name__ == "__main__":
    run_main(main)
