import { memoryLibc } from "../../ffi/memory.ts";
import type { Libc } from "../../ffi/port.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { assert, assertEquals, assertThrows } from "../../util/assert.ts";
import { utf8 } from "./_crypto.ts";
import { ScramClient, scramLogin } from "./_test_scram_client.ts";
import {
  SCRAM_CREDENTIALS_FILE_NAME,
  ScramCredentialStore,
  type ScramCredentialUpsertion,
} from "./credentials.ts";
import { type ScramMechanism, scramSaltedPassword, ScramServer } from "./scram.ts";

function open(libc: Libc = memoryLibc({ seed: 1 })) {
  libc.mkdirp("/data");
  return { libc, store: ScramCredentialStore.open(libc, "/data") };
}

/** An upsertion as Kafka's admin client builds it: the client salts the password. */
async function upsertion(
  name: string,
  password: string,
  options: { mechanism?: number; iterations?: number } = {},
): Promise<ScramCredentialUpsertion> {
  const mechanism = options.mechanism ?? 1;
  const iterations = options.iterations ?? 4096;
  const salt = crypto.getRandomValues(new Uint8Array(24));
  const saltedPassword = await scramSaltedPassword(
    mechanism === 2 ? "SCRAM-SHA-512" : "SCRAM-SHA-256",
    password,
    { salt, iterations: Math.max(iterations, 1) },
  );
  return { name, mechanism, iterations, salt, saltedPassword };
}

async function login(store: ScramCredentialStore, m: ScramMechanism, user: string, pw: string) {
  const server = new ScramServer(m, (u, mech) => store.get(u, mech));
  return (await scramLogin(server, new ScramClient(m, user, pw))).kind;
}

Deno.test("ScramCredentialStore keeps upserted credentials across a reopen, and logins work", async () => {
  const { libc, store } = open();
  const results = store.alter([], [
    await upsertion("alice", "alice-secret"),
    await upsertion("bob", "bob-secret", { mechanism: 2, iterations: 8192 }),
  ]);
  assertEquals(results, [
    { user: "alice", errorCode: 0, errorMessage: null },
    { user: "bob", errorCode: 0, errorMessage: null },
  ]);
  const again = open(libc).store;
  assertEquals(await login(again, "SCRAM-SHA-256", "alice", "alice-secret"), "complete");
  assertEquals(await login(again, "SCRAM-SHA-256", "alice", "wrong"), "failed");
  assertEquals(await login(again, "SCRAM-SHA-512", "bob", "bob-secret"), "complete");
  assertEquals(await login(again, "SCRAM-SHA-256", "bob", "bob-secret"), "failed");
  assertEquals(again.get("bob", "SCRAM-SHA-512")?.iterations, 8192);
});

Deno.test("ScramCredentialStore writes no password nor salted password to disk", async () => {
  const { libc, store } = open();
  const u = await upsertion("carol", "Tr0ub4dor&3-unique-password");
  store.alter([], [u]);
  const bytes = libc.readFile(`/data/${SCRAM_CREDENTIALS_FILE_NAME}`);
  const text = new TextDecoder().decode(bytes);
  assert(text.includes("carol"), "the file holds the user");
  assert(!text.includes("Tr0ub4dor"), "the file holds the password");
  const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
  for (const form of [b64(u.saltedPassword), hex(u.saltedPassword)]) {
    assert(!text.includes(form), "the file holds the salted password");
  }
  const needle = utf8("Tr0ub4dor");
  const found = bytes.some((_, i) => needle.every((b, j) => bytes[i + j] === b));
  assertEquals(found, false);
});

Deno.test("ScramCredentialStore.describe() answers per user as Kafka does", async () => {
  const { store } = open();
  store.alter([], [await upsertion("alice", "a")]);
  store.alter([], [await upsertion("alice", "a", { mechanism: 2, iterations: 5000 })]);
  assertEquals(store.describe(null), [
    {
      user: "alice",
      errorCode: 0,
      errorMessage: null,
      credentialInfos: [{ mechanism: 1, iterations: 4096 }, { mechanism: 2, iterations: 5000 }],
    },
  ]);
  assertEquals(store.describe([]).length, 1);
  assertEquals(store.describe([{ name: "nobody" }, { name: "alice" }, { name: "alice" }]), [
    {
      user: "nobody",
      errorCode: ErrorCode.RESOURCE_NOT_FOUND,
      errorMessage: "Attempt to describe a user credential that does not exist: nobody",
      credentialInfos: [],
    },
    {
      user: "alice",
      errorCode: ErrorCode.DUPLICATE_RESOURCE,
      errorMessage:
        "Cannot describe SCRAM credentials for the same user twice in a single request: alice",
      credentialInfos: [],
    },
  ]);
});

Deno.test("ScramCredentialStore.alter() deletes, and refuses what Kafka refuses", async () => {
  const { libc, store } = open();
  store.alter([], [await upsertion("alice", "a"), await upsertion("dave", "d")]);
  const results = store.alter(
    [{ name: "alice", mechanism: 1 }, { name: "ghost", mechanism: 1 }, { name: "x", mechanism: 9 }],
    [
      await upsertion("few", "p", { iterations: 4095 }),
      await upsertion("many", "p", { iterations: 16385 }),
      await upsertion("", "p"),
      await upsertion("bad", "p", { mechanism: 0 }),
      await upsertion("dave", "d2"),
      await upsertion("dave", "d3"),
    ],
  );
  assertEquals(results.map((r) => [r.user, r.errorCode, r.errorMessage]), [
    ["alice", 0, null],
    [
      "ghost",
      ErrorCode.RESOURCE_NOT_FOUND,
      "Attempt to delete a user credential that does not exist",
    ],
    ["x", ErrorCode.UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism"],
    ["few", ErrorCode.UNACCEPTABLE_CREDENTIAL, "Too few iterations"],
    ["many", ErrorCode.UNACCEPTABLE_CREDENTIAL, "Too many iterations"],
    ["", ErrorCode.UNACCEPTABLE_CREDENTIAL, "Username must not be empty"],
    ["bad", ErrorCode.UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism"],
    [
      "dave",
      ErrorCode.DUPLICATE_RESOURCE,
      "A user credential cannot be altered twice in the same request",
    ],
  ]);
  const again = open(libc).store;
  assertEquals(again.get("alice", "SCRAM-SHA-256"), undefined);
  assertEquals(await login(again, "SCRAM-SHA-256", "dave", "d"), "complete");
  assertEquals(again.describe(null).map((r) => r.user), ["dave"]);
});

Deno.test("ScramCredentialStore.alter() changes nothing when the save fails", async () => {
  const libc = memoryLibc({ seed: 2 });
  const { store } = open(libc);
  store.alter([], [await upsertion("alice", "a")]);
  libc.addFault({ syscall: "writeFileAtomic", errno: 28 });
  const bob = await upsertion("bob", "b");
  assertThrows(() => store.alter([], [bob]), /ENOSPC/);
  assertEquals(store.get("bob", "SCRAM-SHA-256"), undefined);
  assert(store.get("alice", "SCRAM-SHA-256") !== undefined);
});

Deno.test("ScramCredentialStore.open() refuses a file of another version", () => {
  const { libc } = open();
  libc.writeFileAtomic(`/data/${SCRAM_CREDENTIALS_FILE_NAME}`, utf8('{"version":7,"users":[]}'));
  assertThrows(
    () => ScramCredentialStore.open(libc, "/data"),
    /Unsupported SCRAM credentials file/,
  );
});
