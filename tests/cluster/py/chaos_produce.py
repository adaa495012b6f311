"""The chaos test's producer: idempotent confluent-kafka, acks=all, until told to stop.

Message i goes to partition i % partitions with value "<partition>:<seq>",
seq counting that partition's messages from 0, so the checker can tell
order, loss and duplicates per partition.

argv[1]: JSON {"bootstrap", "topic", "partitions", "rate_per_s", "config"}.
stdin: any line (or end of file) stops producing; the rest is flushed.
env CHAOS_PRODUCER_DEBUG=<path>: librdkafka's eos/msg/broker debug log goes to that file.
stdout: "ack <partition> <offset or -1> <value> <wall ms>" per acknowledged message,
        "err <partition> <value> <error>" per failed one, then "done <undelivered>".
"""

import json
import logging
import os
import sys
import threading
import time

from confluent_kafka import Producer


def main():
    spec = json.loads(sys.argv[1])
    config = {
        "bootstrap.servers": spec["bootstrap"],
        "acks": "all",
        "enable.idempotence": True,
        "compression.type": "none",
        "linger.ms": 5,
        "message.timeout.ms": 300000,
        "request.timeout.ms": 5000,
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
        "retry.backoff.ms": 50,
        "topic.metadata.refresh.interval.ms": 1000,
        # One request in flight per broker. Debian's librdkafka 2.0.2 answers an
        # OUT_OF_ORDER_SEQUENCE_NUMBER on one partition (a request refused with
        # NOT_ENOUGH_REPLICAS while the next one was already on the wire) by bumping the
        # producer epoch and re-sending every unacknowledged batch of every partition from
        # sequence 0, including batches already in the log: a duplicate no broker can detect
        # (confluentinc/librdkafka#4953; PR #4972 retries without the bump, as the Java client
        # does). The chaos run saw it about once per 100 rounds, always as the same record
        # under epoch N and then epoch N+1 with sequence 0, replicas identical. With one
        # request in flight no later request can overtake a refused one.
        "max.in.flight.requests.per.connection": 1,
    }
    config.update(spec.get("config", {}))
    debug_path = os.environ.get("CHAOS_PRODUCER_DEBUG")
    if debug_path:
        # librdkafka's idempotence trail (PID, epoch bumps, each batch's error and retry).
        config["debug"] = "eos,msg,broker"
        log = logging.getLogger("librdkafka")
        log.addHandler(logging.FileHandler(debug_path))
        log.setLevel(logging.DEBUG)
        producer = Producer(config, logger=log)
    else:
        producer = Producer(config)
    out = sys.stdout
    lock = threading.Lock()
    stop = threading.Event()

    def on_delivery(err, msg):
        now_ms = int(time.time() * 1000)
        value = msg.value().decode("ascii")
        with lock:
            if err is not None:
                out.write("err %d %s %s\n" % (msg.partition(), value, str(err).replace("\n", " ")))
            else:
                # No offset (None) when librdkafka knows the message persisted but not where,
                # e.g. a retry answered DUPLICATE_SEQUENCE_NUMBER: reported as -1.
                offset = msg.offset()
                out.write("ack %d %d %s %d\n" % (msg.partition(), -1 if offset is None else offset,
                                                  value, now_ms))
            out.flush()

    def wait_for_stop():
        sys.stdin.readline()
        stop.set()

    threading.Thread(target=wait_for_stop, daemon=True).start()
    partitions = spec["partitions"]
    interval_s = 1.0 / spec["rate_per_s"]
    seqs = [0] * partitions
    next_at = time.monotonic()
    i = 0
    while not stop.is_set():
        p = i % partitions
        value = "%d:%d" % (p, seqs[p])
        try:
            producer.produce(spec["topic"], value=value.encode("ascii"), partition=p,
                             on_delivery=on_delivery)
        except BufferError:
            producer.poll(0.05)
            continue
        seqs[p] += 1
        i += 1
        next_at += interval_s
        delay = next_at - time.monotonic()
        producer.poll(max(0.0, delay))
    remaining = producer.flush(spec.get("flush_timeout_s", 120))
    with lock:
        out.write("done %d\n" % remaining)
        out.flush()


if __name__ == "__main__":
    main()
