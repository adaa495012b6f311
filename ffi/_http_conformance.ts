/**
 * The conformance suite of `Runtime.serveHttp`, run on each binding: under
 * Deno by `ffi/http_serve_test.ts`, under Bun by
 * `tests/bun/http_serve.test.ts`. Plain HTTP answers and reports the
 * client's address; with a certificate it serves HTTPS that a client
 * trusting the issuing CA accepts and a client without it refuses; a key
 * that is not PEM throws at start. The test CA and certificate are made by
 * `openssl` in a temp directory.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { assert } from "../util/assert.ts";
import type { Runtime } from "./port.ts";
import type { Register } from "./_libc_conformance.ts";

/** A binding's runtime, and a fetch that trusts a given CA (runtime API, so passed in). */
export interface HttpServeUnderTest {
  readonly name: string;
  readonly runtime: Runtime;
  fetchTrusting(url: string, caPem: string): Promise<Response>;
}

interface TestPki {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

function makePki(): TestPki {
  const dir = mkdtempSync(`${tmpdir()}/denka-http-tls-`);
  try {
    const run = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    run([
      "req",
      "-x509",
      ...ec,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-subj",
      "/CN=CA",
      "-days",
      "2",
    ]);
    run(["req", ...ec, "-keyout", "s.key", "-out", "s.csr", "-subj", "/CN=localhost"]);
    writeFileSync(`${dir}/s.ext`, "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    run([
      "x509",
      "-req",
      "-in",
      "s.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "s.pem",
      "-extfile",
      "s.ext",
      "-days",
      "2",
    ]);
    const read = (name: string) => readFileSync(`${dir}/${name}`, "utf8");
    return { caPem: read("ca.pem"), certPem: read("s.pem"), keyPem: read("s.key") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Registers every case of the suite with `register`, titled `[name] ...`. */
export function httpServeConformance(t: HttpServeUnderTest, register: Register): void {
  const echo = (request: Request, info: { remoteAddress: string }) =>
    new Response(`${request.method} ${new URL(request.url).pathname} from ${info.remoteAddress}`);

  register(
    `[${t.name}] serveHttp() answers plain HTTP and reports the client's address`,
    async () => {
      const server = await t.runtime.serveHttp({ hostname: "127.0.0.1", port: 0 }, echo);
      try {
        assert.ok(server.port > 0);
        const res = await fetch(`http://127.0.0.1:${server.port}/a/b`);
        assert.equal(await res.text(), "GET /a/b from 127.0.0.1");
      } finally {
        await server.close();
      }
    },
  );

  register(
    `[${t.name}] serveHttp() with a certificate serves HTTPS to clients trusting its CA`,
    async () => {
      const pki = makePki();
      const tls = { certPem: pki.certPem, keyPem: pki.keyPem };
      const server = await t.runtime.serveHttp({ hostname: "127.0.0.1", port: 0, tls }, echo);
      try {
        const url = `https://127.0.0.1:${server.port}/secure`;
        const res = await t.fetchTrusting(url, pki.caPem);
        assert.equal(await res.text(), "GET /secure from 127.0.0.1");
        const other = makePki(); // another CA: the certificate is not trusted
        let refused = false;
        try {
          await (await t.fetchTrusting(url, other.caPem)).text();
        } catch {
          refused = true;
        }
        assert.ok(refused, "a client trusting another CA accepted the certificate");
      } finally {
        await server.close();
      }
    },
  );

  register(`[${t.name}] serveHttp() refuses a key that is not PEM`, async () => {
    const pki = makePki();
    const tls = { certPem: pki.certPem, keyPem: "not a key" };
    let server;
    try {
      server = await t.runtime.serveHttp({ hostname: "127.0.0.1", port: 0, tls }, echo);
    } catch {
      return;
    } finally {
      await server?.close();
    }
    assert.fail("serveHttp() started with a key that is not PEM");
  });
}
