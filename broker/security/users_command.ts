/**
 * `denka users`: SCRAM credentials managed before the broker ever starts,
 * as Kafka's `kafka-storage format --add-scram` creates the first users.
 *
 * ```sh
 * echo -n 'alice-secret' | npx deno task broker users add --data-dir DIR \
 *     --mechanism SCRAM-SHA-256 --user alice [--iterations 8192]
 * npx deno task broker users delete --data-dir DIR --mechanism SCRAM-SHA-256 --user alice
 * npx deno task broker users list --data-dir DIR
 * ```
 *
 * The password is read from standard input (one line; a trailing newline is
 * dropped), never from the command line where `ps` would show it. The
 * command salts it and goes through the same AlterUserScramCredentials path
 * as the admin API, so only salt, iterations, StoredKey and ServerKey reach
 * the disk. Run it while no broker uses the directory: a running broker
 * keeps its credentials in memory and would write over the file.
 *
 * @module
 */
import process from "node:process";
import { loadLibc } from "../../ffi/load.ts";
import type { Libc } from "../../ffi/port.ts";
import { parseArgs } from "../../util/args.ts";
import { concatBytes } from "../../util/bytes.ts";
import { randomBytes } from "./_crypto.ts";
import { SCRAM_CREDENTIALS_FILE_NAME, ScramCredentialStore } from "./credentials.ts";
import {
  SCRAM_ITERATIONS_MIN,
  SCRAM_MECHANISM_CODES,
  SCRAM_MECHANISMS,
  SCRAM_SALT_BYTES,
  type ScramMechanism,
  scramSaltedPassword,
} from "./scram.ts";

/** What the command reads and writes through. */
export interface UsersCommandIo {
  readonly libc: Libc;
  readStdin(): Promise<string>;
  out(line: string): void;
  err(line: string): void;
}

const USAGE = `Usage:
  denka users add --data-dir DIR --mechanism SCRAM-SHA-256|SCRAM-SHA-512 --user NAME [--iterations N]
      (the password is read from standard input)
  denka users delete --data-dir DIR --mechanism SCRAM-SHA-256|SCRAM-SHA-512 --user NAME
  denka users list --data-dir DIR`;

/** Runs `users <args>`; the process exit code (0 ok, 1 refused, 2 usage). */
export async function runUsersCommand(
  args: readonly string[],
  io: UsersCommandIo,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        "data-dir": { type: "string", default: "./data" },
        mechanism: { type: "string" },
        user: { type: "string" },
        iterations: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    io.err(`denka users: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const action = positionals[0];
  if (values.help === true || positionals.length !== 1) {
    (values.help === true ? io.out : io.err)(USAGE);
    return values.help === true ? 0 : 2;
  }
  const dataDir = values["data-dir"]!;
  if (action === "list") return list(io, dataDir);
  if (action !== "add" && action !== "delete") {
    io.err(`denka users: unknown action "${action}".\n${USAGE}`);
    return 2;
  }
  const mechanism = values.mechanism as ScramMechanism;
  if (!SCRAM_MECHANISMS.includes(mechanism)) {
    io.err(
      `denka users: --mechanism must be ${SCRAM_MECHANISMS.join(" or ")}, not "${
        values.mechanism ?? ""
      }".`,
    );
    return 2;
  }
  if (values.user === undefined || values.user === "") {
    io.err("denka users: --user NAME is required.");
    return 2;
  }
  const user = values.user;
  if (action === "delete") {
    return alter(io, dataDir, [{ name: user, mechanism: SCRAM_MECHANISM_CODES[mechanism] }], []);
  }
  const iterations = Number(values.iterations ?? SCRAM_ITERATIONS_MIN);
  if (!Number.isSafeInteger(iterations)) {
    io.err(`denka users: --iterations must be an integer, not "${values.iterations}".`);
    return 2;
  }
  const password = passwordFrom(await io.readStdin());
  if (typeof password !== "string") {
    io.err(`denka users: ${password.error}`);
    return 2;
  }
  const salt = randomBytes(SCRAM_SALT_BYTES);
  const saltedPassword = await scramSaltedPassword(mechanism, password, {
    salt,
    iterations: Math.max(iterations, 1),
  });
  const upsertion = {
    name: user,
    mechanism: SCRAM_MECHANISM_CODES[mechanism],
    iterations,
    salt,
    saltedPassword,
  };
  return alter(io, dataDir, [], [upsertion]);
}

/** The password in what standard input gave: one line, its newline dropped. */
function passwordFrom(text: string): string | { error: string } {
  const password = text.replace(/\r?\n$/, "");
  if (password === "") return { error: "no password on standard input." };
  if (/[\r\n]/.test(password)) return { error: "the password on standard input must be one line." };
  return password;
}

function alter(
  io: UsersCommandIo,
  dataDir: string,
  deletions: Parameters<ScramCredentialStore["alter"]>[0],
  upsertions: Parameters<ScramCredentialStore["alter"]>[1],
): number {
  io.libc.mkdirp(dataDir);
  const store = ScramCredentialStore.open(io.libc, dataDir);
  const [result] = store.alter(deletions, upsertions);
  const path = `${dataDir}/${SCRAM_CREDENTIALS_FILE_NAME}`;
  if (result.errorCode !== 0) {
    io.err(`denka users: user "${result.user}" refused: ${result.errorMessage}.`);
    return 1;
  }
  const what = deletions.length > 0 ? "Deleted" : "Saved";
  io.out(`${what} the credential of user "${result.user}" in "${path}".`);
  return 0;
}

function list(io: UsersCommandIo, dataDir: string): number {
  const store = ScramCredentialStore.open(io.libc, dataDir);
  for (const r of store.describe(null)) {
    const infos = r.credentialInfos.map((c) =>
      `${
        SCRAM_MECHANISMS.find((m) => SCRAM_MECHANISM_CODES[m] === c.mechanism)
      } (${c.iterations} iterations)`
    );
    io.out(`${r.user}: ${infos.join(", ")}`);
  }
  return 0;
}

/** `users` run from `main.ts`: the process's standard streams and the runtime's libc. */
export function usersCommandMain(args: readonly string[]): Promise<number> {
  return runUsersCommand(args, {
    libc: loadLibc(),
    readStdin: async () => {
      const chunks: Uint8Array[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Uint8Array);
      return new TextDecoder().decode(concatBytes(chunks));
    },
    out: (line) => console.log(line),
    err: (line) => console.error(line),
  });
}
