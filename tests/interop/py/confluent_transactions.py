"""confluent-kafka-python transactions (librdkafka's transactional producer).

stdin: {"bootstrap", "op", ...}
  op "produce_txns": {"topic", "input_topic", "group", "transactional_id"}
      three transactions: 5 records + offset 7 of input_topic sent, committed; 3 records
      + offset 99 sent, aborted; 2 records committed.
      -> {"committed_after_commit", "committed_after_abort"} (the group's offset of
      input_topic partition 0 each time, read back with read_committed)
  op "ctp": {"input", "output", "group", "transactional_id", "batch", "die": null |
      "after_produce" | "after_offsets", "die_after_txns"}
      a consume-transform-produce loop: read a batch of input (read_committed, from the
      group's committed offset), write "out-<n>" for each "in-<n>", send the offsets,
      commit; until the end of the input. With "die", the process exits abruptly
      (os._exit, no cleanup) in the transaction after "die_after_txns" commits.
      -> {"transactions": n}
"""

import os
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from _common import deadline, decode, encode, run_main

TIMEOUT_S = 30


def producer(spec):
    return Producer({
        "bootstrap.servers": spec["bootstrap"],
        "transactional.id": spec["transactional_id"],
        "transaction.timeout.ms": spec.get("transaction_timeout_ms", 60000),
    })


def consumer(spec, group):
    return Consumer({
        "bootstrap.servers": spec["bootstrap"],
        "group.id": group,
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
    })


def committed(spec, topic):
    c = consumer(spec, spec["group"])
    try:
        return c.committed([TopicPartition(topic, 0)], TIMEOUT_S)[0].offset
    finally:
        c.close()


def produce_txns(spec):
    p = producer(spec)
    p.init_transactions(TIMEOUT_S)
    c = consumer(spec, spec["group"])
    metadata = c.consumer_group_metadata()
    offsets = lambda n: [TopicPartition(spec["input_topic"], 0, n)]  # noqa: E731

    p.begin_transaction()
    for i in range(5):
        p.produce(spec["topic"], encode("c1-%d" % i), partition=0)
    p.send_offsets_to_transaction(offsets(7), metadata, TIMEOUT_S)
    p.commit_transaction(TIMEOUT_S)
    after_commit = committed(spec, spec["input_topic"])

    p.begin_transaction()
    for i in range(3):
        p.produce(spec["topic"], encode("a-%d" % i), partition=0)
    p.flush(TIMEOUT_S)  # the aborted records are in the log before the abort
    p.send_offsets_to_transaction(offsets(99), metadata, TIMEOUT_S)
    p.abort_transaction(TIMEOUT_S)
    after_abort = committed(spec, spec["input_topic"])

    p.begin_transaction()
    for i in range(2):
        p.produce(spec["topic"], encode("c2-%d" % i), partition=0)
    p.commit_transaction(TIMEOUT_S)
    c.close()
    return {"committed_after_commit": after_commit, "committed_after_abort": after_abort}


def read_batch(c, size, until):
    """Up to `size` messages; stops early at the end of the partition."""
    batch = []
    while len(batch) < size and time.monotonic() < until:
        msg = c.poll(0.2)
        if msg is None:
            continue
        err = msg.error()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                return batch, True
            raise RuntimeError("consume failed: %s" % err)
        batch.append(msg)
    return batch, False


def ctp(spec):
    p = producer(spec)
    p.init_transactions(TIMEOUT_S)
    c = consumer(spec, spec["group"])
    c.assign([TopicPartition(spec["input"], 0)])  # from the group's committed offset
    metadata = c.consumer_group_metadata()
    until = deadline(TIMEOUT_S)
    transactions = 0
    while time.monotonic() < until:
        batch, at_end = read_batch(c, spec["batch"], until)
        if batch:
            dying = spec.get("die") is not None and transactions == spec.get("die_after_txns", 0)
            p.begin_transaction()
            for msg in batch:
                n = decode(msg.value()).split("-")[1]
                p.produce(spec["output"], encode("out-%s" % n), partition=0)
            if dying and spec["die"] == "after_produce":
                p.flush(TIMEOUT_S)
                os._exit(9)
            last = batch[-1]
            offsets = [TopicPartition(spec["input"], 0, last.offset() + 1)]
            p.send_offsets_to_transaction(offsets, metadata, TIMEOUT_S)
            if dying:
                p.flush(TIMEOUT_S)
                os._exit(9)
            p.commit_transaction(TIMEOUT_S)
            transactions += 1
        if at_end:  # the input was written before the loop started
            break
    c.close()
    return {"transactions": transactions}


OPS = {"produce_txns": produce_txns, "ctp": ctp}


def main(spec):
    return OPS[spec["op"]](spec)


if __name__ == "__main__":
    run_main(main)
