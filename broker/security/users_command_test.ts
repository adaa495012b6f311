import { loadLibc } from "../../ffi/load.ts";
import { memoryLibc } from "../../ffi/memory.ts";
import { assert, assertEquals } from "../../util/assert.ts";
import { ScramClient, scramLogin } from "./_test_scram_client.ts";
import { SCRAM_CREDENTIALS_FILE_NAME, ScramCredentialStore } from "./credentials.ts";
import { verifyPassword } from "./plain.ts";
import { type ScramMechanism, ScramServer } from "./scram.ts";
import { runUsersCommand } from "./users_command.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const DENO = `${ROOT}node_modules/.bin/deno`;

async function login(store: ScramCredentialStore, m: ScramMechanism, user: string, pw: string) {
  const server = new ScramServer(m, (u, mech) => store.get(u, mech));
  return (await scramLogin(server, new ScramClient(m, user, pw))).kind;
}

/** Runs `deno task broker users ...` as a user would, `stdin` piped in. */
async function spawnUsers(args: string[], stdin: string) {
  const child = new Deno.Command(DENO, {
    args: ["run", "--allow-all", `${ROOT}main.ts`, "users", ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code, stdout: text(stdout), stderr: text(stderr) };
}

Deno.test("denka users add (spawned) stores a credential a SCRAM login accepts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denka-users-" });
  try {
    const password = "correct horse battery staple";
    const added = await spawnUsers(
      ["add", "--data-dir", dir, "--mechanism", "SCRAM-SHA-256", "--user", "alice"],
      `${password}\n`,
    );
    assertEquals(added.code, 0, added.stderr);
    assert(added.stdout.includes(`"alice"`), added.stdout);
    const more = await spawnUsers(
      [
        "add",
        "--data-dir",
        dir,
        "--mechanism",
        "SCRAM-SHA-512",
        "--user",
        "bob",
        "--iterations",
        "8192",
      ],
      "bob-pw",
    );
    assertEquals(more.code, 0, more.stderr);
    const store = ScramCredentialStore.open(loadLibc(), dir);
    assertEquals(await login(store, "SCRAM-SHA-256", "alice", password), "complete");
    assertEquals(await login(store, "SCRAM-SHA-256", "alice", "wrong"), "failed");
    assertEquals(await login(store, "SCRAM-SHA-512", "bob", "bob-pw"), "complete");
    assertEquals(store.get("bob", "SCRAM-SHA-512")?.iterations, 8192);
    const file = await Deno.readTextFile(`${dir}/${SCRAM_CREDENTIALS_FILE_NAME}`);
    assert(!file.includes("horse") && !file.includes("bob-pw"), "a password is on disk");
    const listed = await spawnUsers(["list", "--data-dir", dir], "");
    assertEquals(
      listed.stdout,
      "alice: SCRAM-SHA-256 (4096 iterations)\nbob: SCRAM-SHA-512 (8192 iterations)\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("denka users (spawned) refuses a missing password and a bad mechanism", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denka-users-" });
  try {
    const args = ["add", "--data-dir", dir, "--user", "alice"];
    const empty = await spawnUsers([...args, "--mechanism", "SCRAM-SHA-256"], "");
    assertEquals(empty.code, 2);
    assert(empty.stderr.includes("no password on standard input"), empty.stderr);
    const bad = await spawnUsers([...args, "--mechanism", "SCRAM-SHA-1"], "pw\n");
    assertEquals(bad.code, 2);
    assert(bad.stderr.includes('not "SCRAM-SHA-1"'), bad.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runUsersCommand() adds, refuses too few iterations, and deletes", async () => {
  const libc = memoryLibc({ seed: 1 });
  const out: string[] = [], err: string[] = [];
  const io = (stdin: string) => ({
    libc,
    readStdin: () => Promise.resolve(stdin),
    out: (l: string) => out.push(l),
    err: (l: string) => err.push(l),
  });
  const base = ["--data-dir", "/d", "--mechanism", "SCRAM-SHA-256", "--user", "carol"];
  assertEquals(await runUsersCommand(["add", ...base], io("pw-c\r\n")), 0);
  assert(
    await verifyPassword(
      (u, m) => ScramCredentialStore.open(libc, "/d").get(u, m),
      "carol",
      "pw-c",
    ),
  );
  assertEquals(await runUsersCommand(["add", ...base, "--iterations", "100"], io("x")), 1);
  assertEquals(err.at(-1), 'denka users: user "carol" refused: Too few iterations.');
  assertEquals(await runUsersCommand(["add", ...base], io("two\nlines")), 2);
  assertEquals(await runUsersCommand(["delete", ...base], io("")), 0);
  assertEquals(ScramCredentialStore.open(libc, "/d").isEmpty, true);
  assertEquals(await runUsersCommand(["delete", ...base], io("")), 1);
  assertEquals(
    err.at(-1),
    'denka users: user "carol" refused: Attempt to delete a user credential that does not exist.',
  );
  assertEquals(await runUsersCommand(["frobnicate"], io("")), 2);
});
