"""confluent_kafka AdminClient and consumer metadata calls, one op per run.

stdin: {"bootstrap", "op", ...}
  op "create_topics":   {"topics": [{"name", "partitions", "config": {...}}]}
      -> {"results": {name: null | error}}
  op "delete_topics":   {"topics": [name]} -> {"results": {name: null | error}}
  op "describe_configs": {"topic"} -> {"configs": {name: {"value", "is_default",
      "is_read_only", "source"}}}
  op "list_topics":     {"topic" (optional)} -> {"brokers": [...], "topics": {name:
      {"partitions": {id: {"leader", "replicas", "isrs", "error"}}, "error"}}}
  op "offsets_for_times": {"topic", "partition", "timestamps": [ms]} -> {"offsets": [n]}
  op "watermarks":      {"topic", "partition"} -> {"low", "high"}
"""

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from _common import run_main

TIMEOUT_S = 15


def admin(spec):
    return AdminClient({"bootstrap.servers": spec["bootstrap"]})


def wait_all(client, futures):
    """Waits for every future; `client` is held so it is not destroyed before they settle."""
    results = {}
    for name, future in futures.items():
        try:
            future.result(TIMEOUT_S)
            results[str(name)] = None
        except Exception as e:  # noqa: BLE001 - reported to the test
            results[str(name)] = str(e)
    return results


def create_topics(spec):
    new = [NewTopic(t["name"], num_partitions=t.get("partitions", 1), replication_factor=1,
                    config=t.get("config", {})) for t in spec["topics"]]
    client = admin(spec)
    return {"results": wait_all(client, client.create_topics(new, operation_timeout=TIMEOUT_S))}


def delete_topics(spec):
    client = admin(spec)
    futures = client.delete_topics(spec["topics"], operation_timeout=TIMEOUT_S)
    return {"results": wait_all(client, futures)}


def describe_configs(spec):
    resource = ConfigResource(ConfigResource.Type.TOPIC, spec["topic"])
    client = admin(spec)
    futures = client.describe_configs([resource])
    entries = futures[resource].result(TIMEOUT_S)
    return {"configs": {name: {
        "value": entry.value,
        "is_default": entry.is_default,
        "is_read_only": entry.is_read_only,
        "source": int(entry.source),
    } for name, entry in entries.items()}}


def list_topics(spec):
    client = admin(spec)
    md = client.list_topics(topic=spec.get("topic"), timeout=TIMEOUT_S)
    return {
        "brokers": [{"id": b.id, "host": b.host, "port": b.port} for b in md.brokers.values()],
        "topics": {name: {
            "error": None if t.error is None else str(t.error),
            "partitions": {str(pid): {
                "leader": p.leader,
                "replicas": list(p.replicas),
                "isrs": list(p.isrs),
                "error": None if p.error is None else str(p.error),
            } for pid, p in t.partitions.items()},
        } for name, t in md.topics.items()},
    }


def consumer(spec):
    return Consumer({
        "bootstrap.servers": spec["bootstrap"],
        "group.id": "denka-interop-unused",
        "enable.auto.commit": False,
    })


def offsets_for_times(spec):
    c = consumer(spec)
    try:
        offsets = []
        for ts in spec["timestamps"]:
            tp = TopicPartition(spec["topic"], spec.get("partition", 0), ts)
            [found] = c.offsets_for_times([tp], timeout=TIMEOUT_S)
            if found.error is not None:
                raise RuntimeError("offsets_for_times(%d): %s" % (ts, found.error))
            offsets.append(found.offset)
        return {"offsets": offsets}
    finally:
        c.close()


def watermarks(spec):
    c = consumer(spec)
    try:
        tp = TopicPartition(spec["topic"], spec.get("partition", 0))
        low, high = c.get_watermark_offsets(tp, timeout=TIMEOUT_S, cached=False)
        return {"low": low, "high": high}
    finally:
        c.close()


OPS = {
    "create_topics": create_topics,
    "delete_topics": delete_topics,
    "describe_configs": describe_configs,
    "list_topics": list_topics,
    "offsets_for_times": offsets_for_times,
    "watermarks": watermarks,
}


def main(spec):
    op = spec.get("op")
    if op not in OPS:
        raise ValueError("Unknown op %r; expected one of %s" % (op, sorted(OPS)))
    return OPS[op](spec)


if __name__ == "__main__":
    run_main(main)
