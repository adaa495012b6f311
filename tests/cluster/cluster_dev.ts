/**
 * `deno task cluster:dev`: a local cluster to try: one etcd (Debian's
 * `etcd-server`, data in a temporary directory) and three brokers on
 * loopback (Kafka on 127.0.0.1:9092-9094, HTTP on 127.0.0.1:8080-8082, data
 * in the same temporary directory), each a `main.ts` subprocess with
 * `--node-id N --etcd URL`. Ctrl-C (or SIGTERM) stops the brokers and etcd
 * by their PIDs and removes the directory.
 *
 * @module
 */
import { startEtcd } from "./etcd_server.ts";

const BROKER_COUNT = 3;
const KAFKA_PORT_FIRST = 9092;
const HTTP_PORT_FIRST = 8080;

const etcd = await startEtcd();
const root = await Deno.makeTempDir({ prefix: "denka-cluster-dev-" });
const deno = Deno.execPath();
const main = new URL("../../main.ts", import.meta.url).pathname;
const brokers: Deno.ChildProcess[] = [];
for (let i = 0; i < BROKER_COUNT; i++) {
  brokers.push(
    new Deno.Command(deno, {
      args: [
        "run",
        "--allow-all",
        main,
        "--node-id",
        String(i + 1),
        "--etcd",
        etcd.clientUrl,
        "--listen",
        `127.0.0.1:${KAFKA_PORT_FIRST + i}`,
        "--http",
        `127.0.0.1:${HTTP_PORT_FIRST + i}`,
        "--data-dir",
        `${root}/broker-${i + 1}`,
        "--default-replication-factor",
        String(BROKER_COUNT),
      ],
      stdin: "null",
    }).spawn(),
  );
}
const bootstrap = brokers.map((_, i) => `127.0.0.1:${KAFKA_PORT_FIRST + i}`).join(",");
console.log(`
Denka cluster: etcd at ${etcd.clientUrl} (pid ${etcd.pid}), data in ${root}
  brokers 1-${BROKER_COUNT}: ${bootstrap} (pids ${brokers.map((b) => b.pid).join(", ")})
  try:  kcat -b ${bootstrap} -L
        echo hello | kcat -b ${bootstrap} -P -t greetings
        kcat -b ${bootstrap} -C -t greetings -o beginning -e
  Ctrl-C stops everything.
`);

let stopping: Promise<void> | undefined;
async function stop(): Promise<void> {
  for (const b of brokers) {
    try {
      b.kill("SIGTERM");
    } catch { /* already gone */ }
  }
  await Promise.all(brokers.map((b) => b.status));
  await etcd.close();
  await Deno.remove(root, { recursive: true });
  Deno.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => stopping ??= stop());
}
// A broker that exits on its own (killed to try a failover, a bad option) is reported; the
// others keep running until Ctrl-C.
brokers.forEach((b, i) =>
  b.status.then((status) => {
    if (stopping === undefined) {
      console.log(`Broker ${i + 1} (pid ${b.pid}) exited with code ${status.code}.`);
    }
  })
);
