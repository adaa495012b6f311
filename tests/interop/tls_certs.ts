/**
 * Certificates for the TLS tests, made with `openssl` in a fresh temp
 * directory: a CA, a server certificate for 127.0.0.1 and localhost, a
 * second server certificate to rotate to (subject `O=Rotated`), a client
 * certificate for `C=US, O=Denka Test, OU=eng, CN=alice`, and a self-signed
 * client certificate no CA vouches for. EC P-256 keys, valid for two days.
 *
 * @module
 */
import { join } from "node:path";
import { run } from "./harness.ts";

/** Paths of the generated PEM files. */
export interface TestCertificates {
  readonly dir: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Another server certificate and key (subject `CN=localhost,O=Rotated`) for reload tests. */
  readonly rotatedCertFile: string;
  readonly rotatedKeyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** A self-signed client certificate (`CN=mallory`): no CA the broker trusts signed it. */
  readonly strangerCertFile: string;
  readonly strangerKeyFile: string;
  /** The client certificate's principal as Kafka's default principal builder names it. */
  readonly clientPrincipal: string;
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
const SERVER_EXTENSIONS = "subjectAltName=IP:127.0.0.1,DNS:localhost\n" +
  "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n";
const CLIENT_EXTENSIONS = "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n" +
  "extendedKeyUsage=clientAuth\n";

/** Makes a certificate for `subject` signed by the test CA in `dir`. */
async function signed(
  dir: string,
  name: string,
  subject: string,
  extensions: string,
): Promise<void> {
  const extFile = join(dir, `${name}.ext`);
  await Deno.writeTextFile(extFile, extensions);
  const csr = join(dir, `${name}.csr`);
  await run("openssl", [
    "req",
    "-new",
    ...EC_KEY,
    "-keyout",
    join(dir, `${name}.key`),
    "-out",
    csr,
    "-subj",
    subject,
  ]);
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    join(dir, "ca.pem"),
    "-CAkey",
    join(dir, "ca.key"),
    "-set_serial",
    String(Math.floor(Math.random() * 2 ** 40) + 1),
    "-days",
    "2",
    "-extfile",
    extFile,
    "-out",
    join(dir, `${name}.pem`),
  ]);
}

async function selfSigned(dir: string, name: string, subject: string): Promise<void> {
  await run("openssl", [
    "req",
    "-x509",
    ...EC_KEY,
    "-keyout",
    join(dir, `${name}.key`),
    "-out",
    join(dir, `${name}.pem`),
    "-days",
    "2",
    "-subj",
    subject,
  ]);
}

/** Generates the test certificates into a new temp directory (remove `dir` when done). */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "denka-tls-" });
  await selfSigned(dir, "ca", "/CN=Denka Test CA");
  await Promise.all([
    signed(dir, "server", "/CN=localhost", SERVER_EXTENSIONS),
    signed(dir, "rotated", "/O=Rotated/CN=localhost", SERVER_EXTENSIONS),
    signed(dir, "client", "/C=US/O=Denka Test/OU=eng/CN=alice", CLIENT_EXTENSIONS),
    selfSigned(dir, "stranger", "/CN=mallory"),
  ]);
  return {
    dir,
    caFile: join(dir, "ca.pem"),
    certFile: join(dir, "server.pem"),
    keyFile: join(dir, "server.key"),
    rotatedCertFile: join(dir, "rotated.pem"),
    rotatedKeyFile: join(dir, "rotated.key"),
    clientCertFile: join(dir, "client.pem"),
    clientKeyFile: join(dir, "client.key"),
    strangerCertFile: join(dir, "stranger.pem"),
    strangerKeyFile: join(dir, "stranger.key"),
    clientPrincipal: "User:CN=alice,OU=eng,O=Denka Test,C=US",
  };
}

/**
 * The subject of the certificate a TLS server at `port` presents (openssl's one-line form,
 * e.g. `CN = localhost`), checked against the test CA.
 */
export async function presentedSubject(port: number, caFile: string): Promise<string> {
  const result = await run("openssl", [
    "s_client",
    "-connect",
    `127.0.0.1:${port}`,
    "-CAfile",
    caFile,
    "-verify_return_error",
    "-brief",
  ], { stdin: "" });
  const m = /Peer certificate: (.*)/.exec(result.stderrText) ??
    /subject=(.*)/.exec(result.stdoutText);
  if (m === null) throw new Error(`No peer certificate from port ${port}:\n${result.stderrText}`);
  return m[1].trim();
}
