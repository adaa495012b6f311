"""The chaos test's consumer: reads every partition from the start (read_uncommitted).

argv[1]: JSON {"bootstrap", "topic", "partitions", "config"}.
stdin: any line (or end of file) stops it.
stdout: "see <partition> <offset> <value>" per record, then "done".
"""

import json
import sys
import threading

from confluent_kafka import Consumer, TopicPartition


def main():
    spec = json.loads(sys.argv[1])
    config = {
        "bootstrap.servers": spec["bootstrap"],
        "group.id": "denka-chaos-reader",
        "enable.auto.commit": False,
        "isolation.level": "read_uncommitted",
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": 100,
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
        "topic.metadata.refresh.interval.ms": 1000,
    }
    config.update(spec.get("config", {}))
    consumer = Consumer(config)
    consumer.assign([TopicPartition(spec["topic"], p, 0) for p in range(spec["partitions"])])
    stop = threading.Event()

    def wait_for_stop():
        sys.stdin.readline()
        stop.set()

    threading.Thread(target=wait_for_stop, daemon=True).start()
    out = sys.stdout
    while not stop.is_set():
        msg = consumer.poll(0.1)
        if msg is None or msg.error() is not None:
            continue
        out.write("see %d %d %s\n" % (msg.partition(), msg.offset(), msg.value().decode("ascii")))
        out.flush()
    consumer.close()
    out.write("done\n")
    out.flush()


if __name__ == "__main__":
    main()
