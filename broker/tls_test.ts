import { assertEquals, assertThrows } from "../util/assert.ts";
import { memoryLibc } from "../ffi/memory.ts";
import { loadTlsMaterial, resolveTlsSettings, TlsMaterialError } from "./tls.ts";

Deno.test("resolveTlsSettings() is off without files and needs a key with a certificate", () => {
  assertEquals(resolveTlsSettings({}), undefined);
  assertEquals(
    resolveTlsSettings({ certFile: "/c", keyFile: "/k", clientAuth: "REQUIRED", caFile: "/ca" }),
    {
      certFile: "/c",
      keyFile: "/k",
      caFile: "/ca",
      clientAuth: "required",
    },
  );
  assertThrows(() => resolveTlsSettings({ certFile: "/c" }), TlsMaterialError, "both");
  assertThrows(() => resolveTlsSettings({ keyFile: "/k" }), TlsMaterialError, "both");
  assertThrows(
    () => resolveTlsSettings({ certFile: "/c", keyFile: "/k", clientAuth: "requested" }),
    TlsMaterialError,
    `"ssl.client.auth" is "requested": set "tls-ca"`,
  );
  assertThrows(
    () => resolveTlsSettings({ clientAuth: "sometimes" }),
    TlsMaterialError,
    `got "sometimes"`,
  );
});

Deno.test("loadTlsMaterial() names the file it cannot read or parse", () => {
  const libc = memoryLibc();
  const settings = {
    certFile: "/c.pem",
    keyFile: "/k.pem",
    caFile: undefined,
    clientAuth: "none" as const,
  };
  assertThrows(() => loadTlsMaterial(libc, settings), TlsMaterialError, `certificate "/c.pem"`);
  libc.writeFileAtomic("/c.pem", new TextEncoder().encode("-----BEGIN CERTIFICATE-----\n"));
  libc.writeFileAtomic("/k.pem", new TextEncoder().encode("nothing"));
  assertThrows(
    () => loadTlsMaterial(libc, settings),
    TlsMaterialError,
    `"/c.pem" is not a PEM certificate`,
  );
});
