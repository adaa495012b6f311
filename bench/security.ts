/**
 * The cost of a login and of an ACL check, server side: SCRAM-SHA-256 and
 * SCRAM-SHA-512 logins at 4096 iterations (only the server's `evaluate`
 * calls are timed; the client's SaltedPassword is computed once, as a
 * real client caches it), PLAIN logins (one PBKDF2 run of 4096 iterations
 * each, checked against the stored SCRAM keys), and `authorize()` over
 * 20,000 ACLs (half LITERAL, half PREFIXED). The SCRAM figures do not
 * depend on the iteration count: the server never runs PBKDF2 in SCRAM.
 *
 * Usage: `deno run -A bench/security.ts` (or `bun bench/security.ts`).
 *
 * @module
 */
import process from "node:process";
import { ScramClient } from "../broker/security/_test_scram_client.ts";
import {
  AclAuthorizer,
  AclOperation,
  AclPermissionType,
  PatternType,
  ResourceType,
} from "../broker/security/acl.ts";
import { plainMessage, PlainServer } from "../broker/security/plain.ts";
import {
  scramCredentialFromSaltedPassword,
  type ScramMechanism,
  scramSaltedPassword,
  ScramServer,
} from "../broker/security/scram.ts";

const runtime = "Bun" in globalThis ? "bun" : "deno";
const SCRAM_LOGINS = 2000;
const PLAIN_LOGINS = 200;
const ACL_CHECKS = 1_000_000;
const ITERATIONS = 4096;

async function scramLoginsPerSec(mechanism: ScramMechanism): Promise<number> {
  const salt = crypto.getRandomValues(new Uint8Array(32));
  const saltedPassword = await scramSaltedPassword(mechanism, "pw", {
    salt,
    iterations: ITERATIONS,
  });
  const credential = scramCredentialFromSaltedPassword(mechanism, saltedPassword, {
    salt,
    iterations: ITERATIONS,
  });
  let serverMs = 0;
  for (let i = 0; i < SCRAM_LOGINS; i++) {
    const server = new ScramServer(mechanism, () => credential);
    const client = new ScramClient(mechanism, "alice", "pw", { saltedPassword });
    const firstMessage = client.firstMessage();
    let t = performance.now();
    const first = await server.evaluate(firstMessage);
    serverMs += performance.now() - t;
    if (first.kind !== "challenge") throw new Error("Login refused.");
    const finalMessage = await client.finalMessage(first.bytes);
    t = performance.now();
    const final = await server.evaluate(finalMessage);
    serverMs += performance.now() - t;
    if (final.kind !== "complete") throw new Error("Login refused.");
  }
  return SCRAM_LOGINS / (serverMs / 1000);
}

async function plainLoginsPerSec(): Promise<number> {
  const mechanism = "SCRAM-SHA-256";
  const salt = crypto.getRandomValues(new Uint8Array(32));
  const saltedPassword = await scramSaltedPassword(mechanism, "pw", {
    salt,
    iterations: ITERATIONS,
  });
  const credential = scramCredentialFromSaltedPassword(mechanism, saltedPassword, {
    salt,
    iterations: ITERATIONS,
  });
  const lookup = (_u: string, m: ScramMechanism) => m === mechanism ? credential : undefined;
  const t = performance.now();
  for (let i = 0; i < PLAIN_LOGINS; i++) {
    const step = await new PlainServer(lookup).evaluate(plainMessage("alice", "pw"));
    if (step.kind !== "complete") throw new Error("Login refused.");
  }
  return PLAIN_LOGINS / ((performance.now() - t) / 1000);
}

function aclChecksPerSec(): number {
  const authorizer = new AclAuthorizer();
  const base = {
    resourceType: ResourceType.TOPIC,
    host: "*",
    permissionType: AclPermissionType.ALLOW,
  };
  for (let i = 0; i < 10_000; i++) {
    const principal = `User:u${i}`;
    authorizer.add({
      ...base,
      resourceName: `team-${i}.`,
      patternType: PatternType.PREFIXED,
      principal,
      operation: AclOperation.READ,
    });
    authorizer.add({
      ...base,
      resourceName: `topic-${i}`,
      patternType: PatternType.LITERAL,
      principal,
      operation: AclOperation.WRITE,
    });
  }
  const sessions = Array.from(
    { length: 1000 },
    (_, i) => ({ principal: `User:u${i * 10}`, host: "10.0.0.1" }),
  );
  const names = sessions.map((_, i) => `team-${i * 10}.events`);
  let allowed = 0;
  const t = performance.now();
  for (let i = 0; i < ACL_CHECKS; i++) {
    const k = i % 1000;
    if (
      authorizer.authorize(sessions[k], AclOperation.READ, {
        resourceType: ResourceType.TOPIC,
        name: names[k],
      })
    ) allowed++;
  }
  const seconds = (performance.now() - t) / 1000;
  if (allowed !== ACL_CHECKS) throw new Error(`Only ${allowed} checks allowed.`);
  return ACL_CHECKS / seconds;
}

// Warm-up: the first thousand logins run before the JIT has compiled the path.
await scramLoginsPerSec("SCRAM-SHA-256");
await scramLoginsPerSec("SCRAM-SHA-512");
const results = {
  runtime,
  scramSha256LoginsPerSec: Math.round(await scramLoginsPerSec("SCRAM-SHA-256")),
  scramSha512LoginsPerSec: Math.round(await scramLoginsPerSec("SCRAM-SHA-512")),
  plainLoginsPerSec: Math.round(await plainLoginsPerSec()),
  aclChecksPerSec: Math.round(aclChecksPerSec()),
};
console.log(JSON.stringify(results));
process.exit(0);
