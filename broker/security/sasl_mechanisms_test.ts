import { memoryLibc } from "../../ffi/memory.ts";
import { assert, assertEquals } from "../../util/assert.ts";
import { utf8 } from "./_crypto.ts";
import { newSigner, signJwt } from "./_test_jwt.ts";
import { ScramClient, scramLogin } from "./_test_scram_client.ts";
import { ScramCredentialStore } from "./credentials.ts";
import { JwtValidator } from "./jwt.ts";
import { oauthBearerInitialResponse } from "./oauthbearer.ts";
import { plainMessage } from "./plain.ts";
import { createSaslServer, SASL_MECHANISMS, unservableMechanisms } from "./sasl_mechanisms.ts";
import { scramSaltedPassword } from "./scram.ts";

async function storeWithAlice(): Promise<ScramCredentialStore> {
  const libc = memoryLibc({ seed: 1 });
  libc.mkdirp("/d");
  const store = ScramCredentialStore.open(libc, "/d");
  const salt = crypto.getRandomValues(new Uint8Array(32));
  for (const [code, mechanism] of [[1, "SCRAM-SHA-256"], [2, "SCRAM-SHA-512"]] as const) {
    const saltedPassword = await scramSaltedPassword(mechanism, "pw", { salt, iterations: 4096 });
    const [r] = store.alter([], [{
      name: "alice",
      mechanism: code,
      iterations: 4096,
      salt,
      saltedPassword,
    }]);
    assertEquals(r.errorCode, 0);
  }
  return store;
}

Deno.test("createSaslServer() serves every enabled mechanism from one credential store", async () => {
  const store = await storeWithAlice();
  const signer = await newSigner("ES256", "k");
  const jwtValidator = await JwtValidator.create({ jwks: { keys: [signer.publicJwk] } });
  const deps = {
    credentials: (u: string, m: "SCRAM-SHA-256" | "SCRAM-SHA-512") => store.get(u, m),
    jwtValidator,
  };
  for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as const) {
    const server = createSaslServer(mechanism, SASL_MECHANISMS, deps)!;
    const step = await scramLogin(server, new ScramClient(mechanism, "alice", "pw"));
    assertEquals(step.kind, "complete", mechanism);
  }
  const plain = await createSaslServer("PLAIN", SASL_MECHANISMS, deps)!.evaluate(
    plainMessage("alice", "pw"),
  );
  assertEquals(plain.kind, "complete");
  const token = await signJwt(signer, { sub: "svc", exp: Date.now() / 1000 + 60 });
  const oauth = await createSaslServer("OAUTHBEARER", SASL_MECHANISMS, deps)!
    .evaluate(oauthBearerInitialResponse(token));
  assert(oauth.kind === "complete");
  assertEquals(oauth.authorizationId, "svc");
});

Deno.test("createSaslServer() refuses mechanisms not enabled or unknown", async () => {
  const store = await storeWithAlice();
  const deps = {
    credentials: (u: string, m: "SCRAM-SHA-256" | "SCRAM-SHA-512") => store.get(u, m),
  };
  assertEquals(createSaslServer("PLAIN", ["SCRAM-SHA-512"], deps), undefined);
  assertEquals(createSaslServer("GSSAPI", ["GSSAPI"], deps), undefined);
  assertEquals(createSaslServer("OAUTHBEARER", ["OAUTHBEARER"], deps), undefined);
  const server = createSaslServer("SCRAM-SHA-512", ["SCRAM-SHA-512"], {
    ...deps,
    reauthentication: true,
  })!;
  const step = await server.evaluate(utf8("garbage"));
  assert(step.kind === "failed");
  assertEquals(
    step.errorMessage,
    "Authentication failed during re-authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512",
  );
});

Deno.test("unservableMechanisms() names what cannot be enabled", () => {
  assertEquals(unservableMechanisms(["PLAIN", "SCRAM-SHA-256"], {}), []);
  assertEquals(unservableMechanisms(["GSSAPI", "OAUTHBEARER"], {}), [
    '"GSSAPI" is not a SASL mechanism Denka implements',
    "OAUTHBEARER needs a JWKS file or a shared secret to check tokens",
  ]);
});
