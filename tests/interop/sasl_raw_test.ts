/**
 * SASL_PLAINTEXT spoken byte by byte: what may come before a login, Kafka's
 * answers to SASL requests out of order, and hostile SASL frames, each of
 * which closes its own connection only (another client logs in and is
 * served right after).
 *
 * @module
 */
import { assert, assertEquals, assertRejects } from "../../util/assert.ts";
import { ConfigError } from "../../broker/config.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  apiVersionsApi,
  metadataApi,
  saslAuthenticateApi,
  saslHandshakeApi,
} from "../../protocol/messages/mod.ts";
import { defaultApiVersionsRequest } from "../../protocol/messages/api_versions.ts";
import { defaultMetadataRequest } from "../../protocol/messages/metadata.ts";
import { utf8 } from "../../broker/security/_crypto.ts";
import { ScramClient } from "../../broker/security/_test_scram_client.ts";
import { plainMessage } from "../../broker/security/plain.ts";
import { type RawConnection, withConnection } from "./raw_client.ts";
import { withSaslBroker } from "./sasl_broker.ts";

/** A short failed-login delay: the escalating delays of many failures stay quick. */
const FAST = { "connection-failed-authentication-delay-ms": "5" };

/** A whole SCRAM-SHA-256 login as alice over SaslHandshake v1 + SaslAuthenticate v2. */
async function scramLogin(c: RawConnection): Promise<number> {
  const handshake = await c.request(saslHandshakeApi, 1, { mechanism: "SCRAM-SHA-256" });
  assertEquals(handshake.errorCode, ErrorCode.NONE);
  const client = new ScramClient("SCRAM-SHA-256", "alice", "alice-secret");
  const first = await c.request(saslAuthenticateApi, 2, { authBytes: client.firstMessage() });
  assertEquals(first.errorCode, ErrorCode.NONE);
  const final = await c.request(saslAuthenticateApi, 2, {
    authBytes: await client.finalMessage(first.authBytes),
  });
  assertEquals(final.errorCode, ErrorCode.NONE);
  assert(client.verifyServerFinal(final.authBytes));
  return Number(final.sessionLifetimeMs);
}

/** Metadata with no topics: served only to an authenticated connection. */
function metadata(c: RawConnection) {
  return c.request(metadataApi, 1, { ...defaultMetadataRequest(), topics: [] });
}

/** A fresh connection logs in and is served: the broker is unharmed. */
async function stillServes(bootstrap: string): Promise<void> {
  await withConnection(bootstrap, async (c) => {
    await scramLogin(c);
    assertEquals((await metadata(c)).brokers.length, 1);
  });
}

/** Bytes as one size-prefixed frame. */
function frameOf(body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setInt32(0, body.length);
  frame.set(body, 4);
  return frame;
}

Deno.test("SASL raw: before a login only ApiVersions and the SASL APIs are served; anything else closes", async () => {
  await withSaslBroker(FAST, async (t) => {
    await withConnection(t.bootstrap, async (c) => {
      const versions = await c.request(apiVersionsApi, 3, {
        ...defaultApiVersionsRequest(),
        clientSoftwareName: "raw",
        clientSoftwareVersion: "1",
      });
      const advertised = (key: number) => versions.apiKeys.find((k) => k.apiKey === key);
      assertEquals(advertised(17), { apiKey: 17, minVersion: 0, maxVersion: 1 });
      assertEquals(advertised(36), { apiKey: 36, minVersion: 0, maxVersion: 2 });
      await c.send(c.encode(metadataApi, 1, { ...defaultMetadataRequest(), topics: [] }).frame);
      await c.expectClosed();
    });
    await withConnection(t.bootstrap, async (c) => {
      assertEquals(await scramLogin(c), 0); // connections.max.reauth.ms 0: no expiry
      assertEquals((await metadata(c)).brokers.length, 1);
      // Once authenticated, SASL requests are out of order but harmless (Kafka's KafkaApis).
      const again = await c.request(saslAuthenticateApi, 1, { authBytes: utf8("x") });
      assertEquals(again.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
      assertEquals(
        again.errorMessage,
        "SaslAuthenticate request received after successful authentication",
      );
      assertEquals((await metadata(c)).brokers.length, 1);
    });
    // The PLAINTEXT listener of the same broker asks for nothing.
    const plain = t.listeners.find((l) => l.securityProtocol === "PLAINTEXT")!;
    await withConnection(`${plain.hostname}:${plain.port}`, async (c) => {
      assertEquals((await metadata(c)).brokers.length, 1);
      const handshake = await c.request(saslHandshakeApi, 1, { mechanism: "PLAIN" });
      assertEquals(handshake.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
    });
  });
});

Deno.test("SASL raw: out-of-order and unknown-mechanism requests get Kafka's errors, then the connection closes", async () => {
  await withSaslBroker(FAST, async (t) => {
    await withConnection(t.bootstrap, async (c) => {
      const early = await c.request(saslAuthenticateApi, 1, { authBytes: utf8("n,,n=a,r=b") });
      assertEquals(early.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
      assertEquals(
        early.errorMessage,
        "Unexpected Kafka request of type SASL_AUTHENTICATE during SASL handshake.",
      );
      await c.expectClosed();
    });
    await withConnection(t.bootstrap, async (c) => {
      const handshake = await c.request(saslHandshakeApi, 1, { mechanism: "GSSAPI" });
      assertEquals(handshake, {
        errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
        mechanisms: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"],
      });
      await c.expectClosed();
    });
    await withConnection(t.bootstrap, async (c) => {
      await c.request(saslHandshakeApi, 1, { mechanism: "PLAIN" });
      // A request other than SaslAuthenticate while the login is under way.
      await c.send(c.encode(metadataApi, 1, { ...defaultMetadataRequest(), topics: [] }).frame);
      await c.expectClosed();
    });
    await stillServes(t.bootstrap);
  });
});

Deno.test("SASL raw: hostile SASL tokens fail their own connection alone", async () => {
  await withSaslBroker(FAST, async (t) => {
    const garbage = crypto.getRandomValues(new Uint8Array(4096));
    const hostile: [string, Uint8Array][] = [
      ["SCRAM-SHA-256", garbage],
      ["SCRAM-SHA-512", new Uint8Array(0)],
      ["SCRAM-SHA-256", utf8("p,,n=alice,r=abc")], // channel binding asked for
      ["SCRAM-SHA-256", utf8("n,,n=al=ice,r=abc")], // a bad saslname escape
      ["PLAIN", utf8("\0\0\0\0")],
      ["PLAIN", new Uint8Array(1 << 20)], // 1 MiB of NULs
      ["OAUTHBEARER", utf8("n,,\x01auth=Bearer not.a.jwt\x01\x01")],
      ["OAUTHBEARER", garbage],
    ];
    for (const [mechanism, token] of hostile) {
      await withConnection(t.bootstrap, async (c) => {
        assertEquals((await c.request(saslHandshakeApi, 1, { mechanism })).errorCode, 0);
        let response = await c.request(saslAuthenticateApi, 2, { authBytes: token });
        if (response.errorCode === ErrorCode.NONE && mechanism === "OAUTHBEARER") {
          // RFC 7628: the invalid_token challenge, acknowledged with a lone %x01.
          response = await c.request(saslAuthenticateApi, 2, { authBytes: new Uint8Array([1]) });
        }
        assertEquals(response.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED, mechanism);
        await c.expectClosed();
      });
    }
    // A SCRAM client-final that does not belong to the exchange.
    await withConnection(t.bootstrap, async (c) => {
      await c.request(saslHandshakeApi, 1, { mechanism: "SCRAM-SHA-256" });
      const client = new ScramClient("SCRAM-SHA-256", "alice", "alice-secret");
      const first = await c.request(saslAuthenticateApi, 2, { authBytes: client.firstMessage() });
      const forged = utf8(`c=biws,r=${"A".repeat(40)},p=${btoa("x".repeat(32))}`);
      const final = await c.request(saslAuthenticateApi, 2, { authBytes: forged });
      assert(first.errorCode === 0 && final.errorCode === ErrorCode.SASL_AUTHENTICATION_FAILED);
      await c.expectClosed();
    });
    assertEquals((await t.saslCounters()).failedLogins, hostile.length + 1);
    await stillServes(t.bootstrap);
  });
});

Deno.test("SASL raw: after SaslHandshake v0 bare tokens log in, and a bad bare token closes without an answer", async () => {
  await withSaslBroker(FAST, async (t) => {
    await withConnection(t.bootstrap, async (c) => {
      assertEquals((await c.request(saslHandshakeApi, 0, { mechanism: "PLAIN" })).errorCode, 0);
      await c.send(frameOf(plainMessage("alice", "alice-secret")));
      const answer = await c.readFrame();
      assert(answer.kind === "frame");
      assertEquals(answer.body.length, 0); // PLAIN's empty server message
      assertEquals((await metadata(c)).brokers.length, 1);
    });
    for (
      const token of [plainMessage("alice", "guess"), new Uint8Array(0), new Uint8Array(70000)]
    ) {
      await withConnection(t.bootstrap, async (c) => {
        await c.request(saslHandshakeApi, 0, { mechanism: "PLAIN" });
        await c.send(frameOf(token));
        await c.expectClosed();
      });
    }
    // A bare frame that claims more than socket.request.max.bytes.
    await withConnection(t.bootstrap, async (c) => {
      await c.request(saslHandshakeApi, 0, { mechanism: "SCRAM-SHA-512" });
      const prefix = new Uint8Array(4);
      new DataView(prefix.buffer).setInt32(0, 0x7fff_ffff);
      await c.send(prefix);
      await c.expectClosed();
    });
    await stillServes(t.bootstrap);
  });
});

Deno.test("SASL broker start: an enabled mechanism it cannot serve is a config error", async () => {
  await assertRejects(
    () =>
      withSaslBroker({
        "sasl-oauthbearer-jwks-endpoint-url": "",
        "sasl-enabled-mechanisms": "OAUTHBEARER",
      }, () => Promise.resolve()),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message ===
        'Option "sasl-enabled-mechanisms": OAUTHBEARER needs a JWKS file or a shared secret to check tokens.',
  );
  await assertRejects(
    () => withSaslBroker({ "sasl-enabled-mechanisms": "GSSAPI" }, () => Promise.resolve()),
    (e: unknown) => e instanceof ConfigError && /"GSSAPI" is not a SASL mechanism/.test(e.message),
  );
});
