/**
 * Helpers of the HTTP security suites: users created as an operator creates
 * them (`denka users add`, the password on standard input), Basic and bearer
 * headers, a test CA and server certificate made by `openssl` in a temp
 * directory, and a walk over every file of a data directory.
 *
 * @module
 */
import { loadLibc } from "../../ffi/load.ts";
import { runUsersCommand } from "../../broker/security/users_command.ts";
import type { ScramMechanism } from "../../broker/security/scram.ts";
import { assert } from "../../util/assert.ts";

/** Adds `user` with `password` to `dataDir` through `denka users add`. */
export async function addUser(
  dataDir: string,
  user: string,
  password: string,
  mechanism: ScramMechanism = "SCRAM-SHA-256",
): Promise<void> {
  const errors: string[] = [];
  const code = await runUsersCommand(
    ["add", "--data-dir", dataDir, "--mechanism", mechanism, "--user", user],
    {
      libc: await loadLibc(),
      readStdin: () => Promise.resolve(`${password}\n`),
      out: () => {},
      err: (line) => errors.push(line),
    },
  );
  assert.equal(code, 0, errors.join("\n"));
}

/** `Authorization: Basic ...` of `user` and `password` (UTF-8). */
export function basic(user: string, password: string): Record<string, string> {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  return { authorization: `Basic ${btoa(String.fromCharCode(...bytes))}` };
}

/** `Authorization: Bearer <token>`. */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** A CA and a server certificate for 127.0.0.1 and localhost, as PEM files. */
export interface TestCertificates {
  readonly dir: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly caPem: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Makes a CA and a server certificate it signed in a fresh temp directory. */
export async function makeCertificates(): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "denka-tls-" });
  const days = ["-days", "2"];
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-subj",
    "/CN=Denka test CA",
    ...days,
  ], dir);
  await openssl([
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=localhost",
  ], dir);
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-extfile",
    "server.ext",
    ...days,
  ], dir);
  return {
    dir,
    caFile: `${dir}/ca.pem`,
    certFile: `${dir}/server.pem`,
    keyFile: `${dir}/server.key`,
    caPem: await Deno.readTextFile(`${dir}/ca.pem`),
  };
}

/** Every regular file under `dir`, with its bytes. */
export async function filesUnder(dir: string): Promise<{ path: string; bytes: Uint8Array }[]> {
  const out: { path: string; bytes: Uint8Array }[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...await filesUnder(path));
    else if (entry.isFile) out.push({ path, bytes: await Deno.readFile(path) });
  }
  return out;
}

/** True when `needle` occurs in `haystack`. */
export function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}
