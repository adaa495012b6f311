/**
 * The one-binary build: `bun build --compile main.ts` produces an executable
 * that serves kcat like the in-process broker, and stops cleanly on SIGTERM.
 */
import { assert, assertEquals } from "../../util/assert.ts";
import { makeTextMessages } from "./harness.ts";
import { kcatConsume, kcatProduce } from "./kcat.ts";

const BUN = new URL("../../node_modules/.bin/bun", import.meta.url).pathname;
const MAIN = new URL("../../main.ts", import.meta.url).pathname;
/** How long the binary may take to print its listening line. */
const START_TIMEOUT_MS = 30_000;

Deno.test("the Bun single binary produces, consumes, restarts and stops on SIGTERM", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denka-bin-" });
  try {
    const binary = `${dir}/denka-bun`;
    const build = await new Deno.Command(BUN, {
      args: ["build", "--compile", MAIN, "--outfile", binary],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(build.success, new TextDecoder().decode(build.stderr));

    const messages = makeTextMessages(2000, { prefix: "bin-" });
    let broker = await startBinary(binary, `${dir}/data`);
    try {
      await kcatProduce(broker.bootstrap, messages, { topic: "bin", codec: "lz4" });
    } finally {
      assertEquals(await broker.stop(), 0);
    }
    assert(/logs flushed and closed/.test(broker.output()), broker.output());

    broker = await startBinary(binary, `${dir}/data`);
    try {
      const got = await kcatConsume(broker.bootstrap, { topic: "bin", count: messages.length });
      assertEquals(got.map((m) => m.value), messages.map((m) => m.value));
      assertEquals(got.map((m) => m.key), messages.map((m) => m.key));
    } finally {
      assertEquals(await broker.stop(), 0);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Starts the binary on a free port and reads the port from its listening line. */
async function startBinary(binary: string, dataDir: string) {
  const child = new Deno.Command(binary, {
    args: [
      "--listen",
      "127.0.0.1:0",
      "--http",
      "off",
      "--data-dir",
      dataDir,
      "--log-level",
      "info",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let output = "";
  const { promise: bootstrap, resolve: resolveBootstrap } = Promise.withResolvers<string>();
  const drained = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      output += chunk;
      const m = /listening on (127\.0\.0\.1:\d+)/.exec(output);
      if (m !== null) resolveBootstrap(m[1]);
    }
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`The binary did not start:\n${output}`)),
      START_TIMEOUT_MS,
    );
  });
  let address: string;
  try {
    address = await Promise.race([bootstrap, timeout]);
  } catch (e) {
    child.kill("SIGKILL");
    await child.status;
    await drained;
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return {
    bootstrap: address,
    output: () => output,
    async stop(): Promise<number> {
      child.kill("SIGTERM");
      const status = await child.status;
      await drained;
      return status.code;
    },
  };
}
