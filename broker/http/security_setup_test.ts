import { assert } from "../../util/assert.ts";
import { memoryLibc } from "../../ffi/memory.ts";
import { ConfigError, parseConfigText, resolveConfig, settingsFromArgs } from "../config.ts";
import { loadHttpTls, resolveHttpAuth } from "./security_setup.ts";

const open = { authorizerConfigured: false, saslListener: false };

Deno.test("resolveHttpAuth(): none by default, required once the Kafka side is secured, options win", () => {
  const config = (args: string[]) => resolveConfig([settingsFromArgs(args)]);
  assert.deepEqual(resolveHttpAuth(config([]), open), {
    authRequired: false,
    opsAuthRequired: false,
  });
  const secured = [{ ...open, authorizerConfigured: true }, { ...open, saslListener: true }];
  for (const kafkaSide of secured) {
    assert.deepEqual(resolveHttpAuth(config([]), kafkaSide), {
      authRequired: true,
      opsAuthRequired: true,
    });
    assert.deepEqual(resolveHttpAuth(config(["--http-auth", "none"]), kafkaSide), {
      authRequired: false,
      opsAuthRequired: false,
    });
  }
  assert.deepEqual(resolveHttpAuth(config(["--http-auth", "required"]), open), {
    authRequired: true,
    opsAuthRequired: true,
  });
  const opsOpen = config(["--http-auth", "required", "--http-ops-auth", "none"]);
  assert.deepEqual(resolveHttpAuth(opsOpen, open), {
    authRequired: true,
    opsAuthRequired: false,
  });
  assert.throws(() => config(["--http-auth", "maybe"]), ConfigError, '"http-auth" must be one of');
});

Deno.test("--http-tls needs --tls-cert and --tls-key, also as Kafka's ssl.*.location keys", () => {
  assert.throws(
    () => resolveConfig([settingsFromArgs(["--http-tls", "--tls-cert", "c.pem"])]),
    ConfigError,
    'Option "http-tls" needs both "tls-cert" and "tls-key".',
  );
  const file = parseConfigText(
    "http-tls=true\nssl.certificate.location=/etc/c.pem\nssl.key.location=/etc/k.pem\n",
    false,
  );
  const config = resolveConfig([file]);
  assert.equal(config.httpTls, true);
  assert.equal(config.tlsCertFile, "/etc/c.pem");
  assert.equal(config.tlsKeyFile, "/etc/k.pem");
  assert.equal(resolveConfig([]).httpTls, false);
});

Deno.test("loadHttpTls() reads the PEM files, naming a missing or non-PEM file", () => {
  const libc = memoryLibc();
  libc.mkdirp("/tls");
  const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  libc.writeFileAtomic("/tls/cert.pem", new TextEncoder().encode(pem));
  libc.writeFileAtomic("/tls/key.txt", new TextEncoder().encode("not a key"));
  const settings = { httpTls: true, tlsCertFile: "/tls/cert.pem", tlsKeyFile: "/tls/key.txt" };
  assert.equal(loadHttpTls(libc, { ...settings, httpTls: false }), undefined);
  assert.throws(
    () => loadHttpTls(libc, settings),
    Error,
    'The "tls-key" file "/tls/key.txt" holds no PEM block.',
  );
  assert.throws(
    () => loadHttpTls(libc, { ...settings, tlsKeyFile: "/tls/missing.pem" }),
    Error,
    'The "tls-key" file "/tls/missing.pem" does not exist.',
  );
  libc.writeFileAtomic("/tls/key.txt", new TextEncoder().encode(pem));
  assert.deepEqual(loadHttpTls(libc, settings), { certPem: pem, keyPem: pem });
});
