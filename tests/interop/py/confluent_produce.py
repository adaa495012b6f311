"""Produces messages with confluent_kafka (librdkafka) and reports every delivery.

stdin: {"bootstrap", "topic", "config": {librdkafka props},
        "messages": [{"key", "value" (text|null|{"repeat","times"}), "headers": [[k, v]],
                      "partition", "timestamp"}],
        "generate": {"count", "prefix", "partition"} (optional, appended),
        "flush_timeout_s"}
stdout: {"delivered": N, "offsets": [[partition, offset] ...], "errors": [...],
         "throttle_events": N (librdkafka's throttle_cb calls with a non-zero throttle)}
"""

from confluent_kafka import Producer

from _common import headers_of, run_main, value_of, encode


def main(spec):
    config = {"bootstrap.servers": spec["bootstrap"]}
    config.update(spec.get("config", {}))
    throttles = []
    config["throttle_cb"] = lambda event: throttles.append(event.throttle_time)
    producer = Producer(config)
    topic = spec["topic"]
    results = []
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append({"error": str(err), "code": err.code()})
        else:
            results.append([msg.partition(), msg.offset()])

    messages = list(spec.get("messages", []))
    gen = spec.get("generate")
    if gen:
        for i in range(gen["count"]):
            messages.append({
                "key": "%skey-%d" % (gen.get("prefix", ""), i),
                "value": "%svalue-%d" % (gen.get("prefix", ""), i),
                "headers": [["h", "%d" % i]],
                "partition": gen.get("partition", 0),
            })
    for m in messages:
        kwargs = {
            "key": encode(m.get("key")),
            "value": value_of(m),
            "headers": headers_of(m),
            "on_delivery": on_delivery,
        }
        if m.get("partition") is not None:
            kwargs["partition"] = m["partition"]
        if m.get("timestamp") is not None:
            kwargs["timestamp"] = m["timestamp"]
        while True:
            try:
                producer.produce(topic, **kwargs)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    remaining = producer.flush(spec.get("flush_timeout_s", 30))
    return {
        "delivered": len(results),
        "offsets": results,
        "errors": errors,
        "undelivered": remaining,
        "throttle_events": len([t for t in throttles if t > 0]),
    }


if __name__ == "__main__":
    run_main(main)
