/**
 * {@linkcode ScramServer} against an independent SCRAM client: the one in
 * kafka-python (Debian's `python3-kafka`, `kafka/scram.py`), driven over
 * standard input and output one message per line.
 */
import { assert, assertEquals } from "../../util/assert.ts";
import { utf8 } from "./_crypto.ts";
import { scramCredentialFromPassword, type ScramMechanism, ScramServer } from "./scram.ts";

const PYTHON = "/usr/bin/python3";
const CLIENT = `
import sys
from kafka.scram import ScramClient
c = ScramClient(sys.argv[1], sys.argv[2], sys.argv[3])
print(c.first_message(), flush=True)
c.process_server_first_message(sys.stdin.readline().strip())
print(c.final_message(), flush=True)
c.process_server_final_message(sys.stdin.readline().strip())
print("verified", flush=True)
`;

/** Runs one login of kafka-python's client against `server`; the server's steps and the client's last line. */
async function pythonLogin(server: ScramServer, mechanism: ScramMechanism, password: string) {
  const child = new Deno.Command(PYTHON, {
    args: ["-c", CLIENT, "alice", password, mechanism],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const writer = child.stdin.getWriter();
  let buffered = "";
  const readLine = async (): Promise<string> => {
    while (!buffered.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) return buffered;
      buffered += value;
    }
    const at = buffered.indexOf("\n");
    const line = buffered.slice(0, at);
    buffered = buffered.slice(at + 1);
    return line;
  };
  const first = await server.evaluate(utf8(await readLine()));
  assert(first.kind === "challenge");
  await writer.write(utf8(new TextDecoder().decode(first.bytes) + "\n"));
  const final = await server.evaluate(utf8(await readLine()));
  await writer.write(
    utf8(final.kind === "complete" ? new TextDecoder().decode(final.bytes) + "\n" : "v=\n"),
  );
  const last = await readLine();
  await writer.close().catch(() => {});
  await lines.cancel();
  await child.status;
  return { final, last };
}

for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as ScramMechanism[]) {
  Deno.test(`ScramServer logs in kafka-python's SCRAM client (${mechanism})`, async () => {
    const credential = await scramCredentialFromPassword(mechanism, "py-secret");
    const ok = await pythonLogin(
      new ScramServer(mechanism, () => credential),
      mechanism,
      "py-secret",
    );
    assertEquals(ok.final.kind, "complete");
    assertEquals(ok.last, "verified"); // the client checked the server's signature
    const bad = await pythonLogin(new ScramServer(mechanism, () => credential), mechanism, "nope");
    assertEquals(bad.final.kind, "failed");
  });
}
