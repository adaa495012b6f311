/**
 * The outbound-connection suite (`ffi/_connect_conformance.ts`) on the Bun
 * binding, under `bun test` (`deno task test:bun`), plain and over TLS (a
 * CA and a server certificate for 127.0.0.1 made with `openssl`).
 *
 * @module
 */
import { test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectConformance, connectTlsConformance } from "../../ffi/_connect_conformance.ts";
import { bunRuntime } from "../../ffi/bun.ts";

connectConformance(bunRuntime(), test);

function testPems() {
  const dir = mkdtempSync(join(tmpdir(), "denka-bun-tls-"));
  const at = (name: string) => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const openssl = (args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  try {
    openssl(["req", "-x509", ...ec, "-keyout", at("ca.key"), "-out", at("ca.pem"), "-days", "2"]
      .concat(["-subj", "/CN=Denka Bun Test CA"]));
    openssl(["req", "-new", ...ec, "-keyout", at("server.key"), "-out", at("server.csr")]
      .concat(["-subj", "/CN=localhost"]));
    writeFileSync(
      at("server.ext"),
      "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n" +
        "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    );
    openssl(
      ["x509", "-req", "-in", at("server.csr"), "-CA", at("ca.pem"), "-CAkey", at("ca.key")]
        .concat(["-set_serial", "7", "-days", "2", "-extfile", at("server.ext")])
        .concat(["-out", at("server.pem")]),
    );
    const read = (name: string) => readFileSync(at(name), "utf8");
    return { caPem: read("ca.pem"), certPem: read("server.pem"), keyPem: read("server.key") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

connectTlsConformance(bunRuntime(), test, () => Promise.resolve(testPems()));
