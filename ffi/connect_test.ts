import { connectConformance, connectTlsConformance } from "./_connect_conformance.ts";
import { denoRuntime } from "./deno.ts";
import { makeTestCertificates } from "../tests/interop/tls_certs.ts";

connectConformance(denoRuntime(), Deno.test);

connectTlsConformance(denoRuntime(), Deno.test, async () => {
  const certs = await makeTestCertificates();
  try {
    const [caPem, certPem, keyPem] = await Promise.all(
      [certs.caFile, certs.certFile, certs.keyFile].map((f) => Deno.readTextFile(f)),
    );
    return { caPem, certPem, keyPem };
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
});
