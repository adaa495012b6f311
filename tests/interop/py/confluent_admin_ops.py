"""confluent_kafka AdminClient calls of the issue-11 admin APIs.

stdin: {"bootstrap", "op", ...}
  op "create_partitions": {"topic", "count", "validate_only"} -> {"error": null | text}
  op "describe_broker":   {"name"} -> {"configs": {name: {"value", "source", "is_read_only",
      "synonyms": [[name, value, source]]}}}
  op "alter_broker":      {"name", "config": {k: v}} -> {"error": null | text}
"""

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions

from _common import run_main

TIMEOUT_S = 15


def admin(spec):
    return AdminClient({"bootstrap.servers": spec["bootstrap"]})


def create_partitions(spec):
    client = admin(spec)
    futures = client.create_partitions([NewPartitions(spec["topic"], spec["count"])],
                                       validate_only=spec.get("validate_only", False),
                                       operation_timeout=TIMEOUT_S)
    try:
        futures[spec["topic"]].result(TIMEOUT_S)
        return {"error": None}
    except KafkaException as e:
        return {"error": str(e.args[0])}


def describe_broker(spec):
    resource = ConfigResource(ConfigResource.Type.BROKER, spec["name"])
    client = admin(spec)
    entries = client.describe_configs([resource])[resource].result(TIMEOUT_S)
    return {"configs": {name: {
        "value": e.value,
        "source": int(e.source),
        "is_read_only": e.is_read_only,
        # librdkafka keys synonyms by name, so layers sharing a name collapse to one.
        "synonyms": [[s.name, s.value, int(s.source)] for s in e.synonyms.values()],
    } for name, e in entries.items()}}


def alter_broker(spec):
    resource = ConfigResource(ConfigResource.Type.BROKER, spec["name"], set_config=spec["config"])
    client = admin(spec)
    try:
        client.alter_configs([resource])[resource].result(TIMEOUT_S)
        return {"error": None}
    except KafkaException as e:
        return {"error": str(e.args[0])}


OPS = {
    "create_partitions": create_partitions,
    "describe_broker": describe_broker,
    "alter_broker": alter_broker,
}


def main(spec):
    op = spec.get("op")
    if op not in OPS:
        raise ValueError("Unknown op %r; expected one of %s" % (op, sorted(OPS)))
    return OPS[op](spec)


if __name__ == "__main__":
    run_main(main)
