"""confluent_kafka 1.7.0 AdminClient.list_groups (ListGroups + DescribeGroups through librdkafka).

stdin: {"bootstrap", "group" (optional: describe just this one)}
stdout: {"groups": [{"id", "state", "protocol_type", "protocol", "members": [{"id", "client_id", "client_host"}]}]}
"""

from confluent_kafka.admin import AdminClient

from _common import run_main


def main(spec):
    admin = AdminClient({"bootstrap.servers": spec["bootstrap"]})
    groups = admin.list_groups(spec.get("group"), timeout=20)
    return {"groups": sorted(({
        "id": g.id,
        "state": g.state,
        "protocol_type": g.protocol_type,
        "protocol": g.protocol,
        "error": None if g.error is None else str(g.error),
        "members": [{"id": m.id, "client_id": m.client_id, "client_host": m.client_host}
                    for m in g.members],
    } for g in groups), key=lambda g: g["id"])}


run_main(main)
