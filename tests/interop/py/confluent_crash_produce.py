"""Produces `count` messages "m-<i>" to one partition and streams every delivery.

For the crash test: the broker is killed and restarted while this runs, so
deliveries are printed as they happen (one line each, flushed) instead of one
JSON object at the end.

stdin: {"bootstrap", "topic", "count", "config": {librdkafka props}}
stdout: "ack <i> <offset>" per delivered message, "err <i> <error>" per failed
        one, then "done <undelivered>".
"""

import sys

from confluent_kafka import Producer

from _common import read_spec


def main():
    spec = read_spec()
    config = {
        "bootstrap.servers": spec["bootstrap"],
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 5,
        "message.timeout.ms": 120000,
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
        "retry.backoff.ms": 50,
    }
    config.update(spec.get("config", {}))
    producer = Producer(config)
    out = sys.stdout

    def on_delivery(err, msg):
        i = int(msg.value().decode("ascii")[2:])
        if err is not None:
            out.write("err %d %s\n" % (i, err))
        else:
            out.write("ack %d %d\n" % (i, msg.offset()))
        out.flush()

    for i in range(spec["count"]):
        while True:
            try:
                producer.produce(spec["topic"], value=("m-%d" % i).encode("ascii"),
                                 partition=0, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    remaining = producer.flush(spec.get("flush_timeout_s", 120))
    out.write("done %d\n" % remaining)
    out.flush()


if __name__ == "__main__":
    main()
