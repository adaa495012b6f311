"""A consumer-group member (confluent_kafka or kafka-python) that reports as it goes.

argv[1]: JSON {"client": "confluent" | "kafka-python", "bootstrap", "topic", "group",
               "session_timeout_ms", "max_messages" (stop after this many, optional),
               "commit": "sync" (commit after each message) | "none",
               "config": {...} (extra client settings, optional)}
stdout: one JSON object per line, flushed:
  {"event": "ready"}
  {"event": "assigned", "partitions": [p, ...]}      (the member's whole assignment)
  {"event": "message", "partition", "offset", "value"}
  {"event": "closed", "count"}
stdin: any line (or EOF) asks for a clean stop: commit, leave the group, exit 0.
A SIGKILL from the test stops it without leaving the group.
"""

import json
import sys
import threading


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def watch_stdin(stop):
    sys.stdin.readline()
    stop.set()


def run_confluent(spec, stop):
    from confluent_kafka import Consumer

    config = {
        "bootstrap.servers": spec["bootstrap"],
        "group.id": spec["group"],
        "session.timeout.ms": spec["session_timeout_ms"],
        "heartbeat.interval.ms": 300,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "fetch.wait.max.ms": 100,
    }
    config.update(spec.get("config", {}))
    consumer = Consumer(config)
    assigned = set()

    def on_assign(c, partitions):
        if config.get("partition.assignment.strategy") == "cooperative-sticky":
            assigned.update(p.partition for p in partitions)
            c.incremental_assign(partitions)
        else:
            assigned.clear()
            assigned.update(p.partition for p in partitions)
        say({"event": "assigned", "partitions": sorted(assigned)})

    def on_revoke(c, partitions):
        if config.get("partition.assignment.strategy") == "cooperative-sticky":
            assigned.difference_update(p.partition for p in partitions)
            c.incremental_unassign(partitions)

    consumer.subscribe([spec["topic"]], on_assign=on_assign, on_revoke=on_revoke)
    say({"event": "ready"})
    count = 0
    limit = spec.get("max_messages")
    while not stop.is_set() and (limit is None or count < limit):
        msg = consumer.poll(0.1)
        if msg is None or msg.error() is not None:
            continue
        count += 1
        if spec.get("commit") == "sync":
            consumer.commit(message=msg, asynchronous=False)
        say({"event": "message", "partition": msg.partition(), "offset": msg.offset(),
             "value": msg.value().decode("utf-8")})
    consumer.close()
    say({"event": "closed", "count": count})


def run_kafka_python(spec, stop):
    from kafka import KafkaConsumer, ConsumerRebalanceListener

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            pass

        def on_partitions_assigned(self, partitions):
            say({"event": "assigned", "partitions": sorted(p.partition for p in partitions)})

    consumer = KafkaConsumer(
        bootstrap_servers=spec["bootstrap"],
        group_id=spec["group"],
        session_timeout_ms=spec["session_timeout_ms"],
        heartbeat_interval_ms=300,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=100,
        **spec.get("config", {}),
    )
    consumer.subscribe([spec["topic"]], listener=Listener())
    say({"event": "ready"})
    count = 0
    limit = spec.get("max_messages")
    while not stop.is_set() and (limit is None or count < limit):
        batches = consumer.poll(timeout_ms=100, max_records=1)
        for records in batches.values():
            for r in records:
                count += 1
                if spec.get("commit") == "sync":
                    from kafka import OffsetAndMetadata, TopicPartition
                    consumer.commit({TopicPartition(r.topic, r.partition): OffsetAndMetadata(r.offset + 1, "")})
                say({"event": "message", "partition": r.partition, "offset": r.offset,
                     "value": r.value.decode("utf-8")})
    consumer.close()
    say({"event": "closed", "count": count})


def main():
    spec = json.loads(sys.argv[1])
    stop = threading.Event()
    threading.Thread(target=watch_stdin, args=(stop,), daemon=True).start()
    if spec["client"] == "confluent":
        run_confluent(spec, stop)
    else:
        run_kafka_python(spec, stop)


if __name__ == "__main__":
    main()
