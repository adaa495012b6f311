/**
 * Helpers of the HTTP security suites: users created as an operator creates
 * them (`denka users add`, the password on standard input), Basic and bearer
 * headers, a test CA and server certificate made by `openssl` in a temp
 * directory, and a walk over every file of a data directory.
 *
 * @module
 */
import { loadLibc, loadRuntime } from "../../ffi/load.ts";
import { Broker } from "../../broker/broker.ts";
import { resolveConfig } from "../../broker/config.ts";
import { startHttpServer } from "../../broker/http/server.ts";
import { createHttpSecurity } from "../../broker/http/security_setup.ts";
import {
  AclOperation,
  AclPermissionType,
  CLUSTER_RESOURCE_NAME,
  PatternType,
  ResourceType,
} from "../../broker/security/acl.ts";
import { type AclCreation, AclStore } from "../../broker/security/acl_store.ts";
import { JwtValidator } from "../../broker/security/jwt.ts";
import { newSigner, type TestSigner } from "../../broker/security/_test_jwt.ts";
import { runUsersCommand } from "../../broker/security/users_command.ts";
import type { ScramMechanism } from "../../broker/security/scram.ts";
import { assert } from "../../util/assert.ts";
import { makeDataDir } from "./harness.ts";

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

/** The passwords of the users of {@linkcode withSecuredHttp}. */
export const SECURED_PASSWORDS = { admin: "admin-pw-1", alice: "alice-pw-2", carol: "carol-pw-3" };

function allow(
  principal: string,
  operation: number,
  resourceType: number,
  resourceName: string,
  patternType: number = PatternType.LITERAL,
): AclCreation {
  return {
    resourceType,
    resourceName,
    resourcePatternType: patternType,
    principal,
    host: "*",
    operation,
    permissionType: AclPermissionType.ALLOW,
  };
}

/** A broker and an HTTP listener that requires credentials and applies ACLs. */
export interface SecuredHttp {
  readonly url: string;
  readonly cluster: string;
  readonly signer: TestSigner;
  readonly broker: Broker;
}

/**
 * Runs `fn` against a broker with users admin (a super user), alice (READ
 * on topics `orders-*`, DESCRIBE on group `alice-group`) and carol (CREATE
 * and DESCRIBE on the cluster), and an HTTP listener started here with the
 * broker's SCRAM credentials, the ACL store of its data directory and a JWT
 * validator for `signer`'s tokens with audience `denka` (what the broker
 * wires when an authorizer and OAUTHBEARER are configured).
 */
export async function withSecuredHttp(fn: (t: SecuredHttp) => Promise<void>): Promise<void> {
  const dataDir = await makeDataDir();
  try {
    for (const [user, password] of Object.entries(SECURED_PASSWORDS)) {
      await addUser(dataDir, user, password);
    }
    const config = resolveConfig([{
      options: { listen: "127.0.0.1:0", "data-dir": dataDir, http: "off", "log-level": "warn" },
      topics: {},
    }]);
    const broker = await Broker.start(config);
    const acls = AclStore.open(broker.libc, dataDir, { superUsers: ["User:admin"] });
    acls.create([
      allow("User:alice", AclOperation.READ, ResourceType.TOPIC, "orders-", PatternType.PREFIXED),
      allow("User:alice", AclOperation.DESCRIBE, ResourceType.GROUP, "alice-group"),
      allow("User:carol", AclOperation.CREATE, ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME),
      allow("User:carol", AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME),
    ]);
    const signer = await newSigner("ES256", "k1");
    const jwtValidator = await JwtValidator.create({
      jwks: { keys: [signer.publicJwk] },
      expectedAudience: ["denka"],
      clockSkewSec: 0,
    });
    const http = await startHttpServer(loadRuntime(), { hostname: "127.0.0.1", port: 0 }, {
      broker,
      metrics: broker.metrics,
      groups: { listGroups: () => broker.groupSource.listGroups() },
      connectionCount: () => broker.connectionCount,
      isReady: () => true,
      bodySizeBytesMax: 1 << 20,
      security: createHttpSecurity({ authRequired: true, opsAuthRequired: true }, {
        credentials: (user, mechanism) => broker.scramCredentials.get(user, mechanism),
        jwtValidator,
        authorizer: acls,
        log: broker.logLimiter,
      }),
    });
    const url = `http://127.0.0.1:${http.address.port}`;
    try {
      await fn({ url, cluster: `${url}/v3/clusters/${config.clusterId}`, signer, broker });
    } finally {
      await http.close();
      await broker.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}
