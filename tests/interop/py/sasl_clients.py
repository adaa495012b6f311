"""SASL logins with confluent_kafka (librdkafka 2.0) and kafka-python 2.0 (SaslHandshake v0).

stdin: {"mode", "bootstrap", "topic", "mechanism", "username", "password", "count",
        "token" (OAUTHBEARER), "seconds" (mode confluent_loop),
        "ca_file" (optional: SASL_SSL with this CA; SASL_PLAINTEXT without)}
modes:
  confluent_produce  produce `count` messages, flush; {"delivered", "errors"}
  confluent_oauth    the same with OAUTHBEARER, `token` handed over by oauth_cb
  confluent_loop     produce and flush one message at a time until `seconds` have passed
                     (a session outliving connections.max.reauth.ms); {"delivered", "errors"}
  kafka_python       produce `count` messages, then consume them back; {"values"}
"""

import time

from _common import run_main


def confluent_config(spec):
    config = {
        "bootstrap.servers": spec["bootstrap"],
        "security.protocol": "SASL_SSL" if spec.get("ca_file") else "SASL_PLAINTEXT",
        "sasl.mechanisms": spec["mechanism"],
        "message.timeout.ms": 15000,
    }
    if spec.get("ca_file"):
        config["ssl.ca.location"] = spec["ca_file"]
    if spec["mechanism"] == "OAUTHBEARER":
        token = spec["token"]
        config["oauth_cb"] = lambda _config_str: (token, time.time() + 60)
    else:
        config["sasl.username"] = spec["username"]
        config["sasl.password"] = spec["password"]
    return config


def confluent_produce(spec, until_s=None):
    """Delivery errors in "errors", the client's own (error_cb) in "client_errors"."""
    from confluent_kafka import KafkaError, Producer

    errors = []
    delivered = []
    client_errors = []
    auth_failed = []

    def on_error(err):
        client_errors.append(str(err))
        if err.code() == KafkaError._AUTHENTICATION:
            auth_failed.append(True)

    config = confluent_config(spec)
    config["error_cb"] = on_error

    def on_delivery(err, _msg):
        if err is not None:
            errors.append(str(err))
        else:
            delivered.append(1)

    producer = Producer(config)
    deadline = time.monotonic() + (until_s if until_s is not None else 30)
    i = 0
    while True:
        if until_s is not None or i < spec["count"]:
            producer.produce(spec["topic"], ("m-%d" % i).encode(), on_delivery=on_delivery)
            i += 1
        # A refused login ends the run at once instead of at message.timeout.ms.
        while len(producer) > 0 and not auth_failed and time.monotonic() < deadline + 20:
            producer.flush(0.2)
        done = until_s is None and i >= spec["count"]
        if auth_failed or errors or done or time.monotonic() >= deadline:
            break
    return {"delivered": len(delivered), "errors": errors, "client_errors": client_errors}


def kafka_python(spec):
    from kafka import KafkaConsumer, KafkaProducer

    common = {
        "bootstrap_servers": spec["bootstrap"],
        "security_protocol": "SASL_SSL" if spec.get("ca_file") else "SASL_PLAINTEXT",
        "sasl_mechanism": spec["mechanism"],
        "sasl_plain_username": spec["username"],
        "sasl_plain_password": spec["password"],
        "api_version": (2, 5, 0),
    }
    if spec.get("ca_file"):
        common["ssl_cafile"] = spec["ca_file"]
    producer = KafkaProducer(**common)
    for i in range(spec["count"]):
        producer.send(spec["topic"], ("m-%d" % i).encode()).get(timeout=20)
    producer.close()
    consumer = KafkaConsumer(
        spec["topic"], auto_offset_reset="earliest", consumer_timeout_ms=5000, **common)
    values = []
    for record in consumer:
        values.append(record.value.decode())
        if len(values) == spec["count"]:
            break
    consumer.close()
    return {"values": values}


def main(spec):
    mode = spec["mode"]
    if mode in ("confluent_produce", "confluent_oauth"):
        return confluent_produce(spec)
    if mode == "confluent_loop":
        return confluent_produce(spec, until_s=spec["seconds"])
    if mode == "kafka_python":
        return kafka_python(spec)
    raise ValueError("unknown mode %r" % mode)


run_main(main)
