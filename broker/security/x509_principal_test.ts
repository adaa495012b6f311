import { assertEquals } from "../../util/assert.ts";
import { fromBase64 } from "../../util/base64.ts";
import { escapeRfc2253, principalFromCertificate, subjectRfc2253 } from "./x509_principal.ts";

/**
 * A certificate made with `openssl req -x509 -multivalue-rdn -subj
 * '/C=US/ST=CA/O=Acme, Inc./OU=eng+UID=42/CN=bob "the" <b>;/emailAddress=bob@example.com/DC=example'`:
 * a comma, RFC 2253 specials, a multi-valued RDN, an attribute without an RFC 2253 keyword.
 */
const TRICKY_DER = fromBase64(
  "MIICmjCCAj+gAwIBAgIUDQp0icrFkkiChJ17STmv8LrHr+gwCgYIKoZIzj0EAwIwgaExCzAJBgNVBAYTAlVTMQsw" +
    "CQYDVQQIDAJDQTETMBEGA1UECgwKQWNtZSwgSW5jLjEeMAoGA1UECwwDZW5nMBAGCgmSJomT8ixkAQEMAjQyMRcw" +
    "FQYDVQQDDA5ib2IgInRoZSIgPGI+OzEeMBwGCSqGSIb3DQEJARYPYm9iQGV4YW1wbGUuY29tMRcwFQYKCZImiZPy" +
    "LGQBGRYHZXhhbXBsZTAeFw0yNjEyMDUwMTE5MzdaFw0yNjEyMDcwMTE5MzdaMIGhMQswCQYDVQQGEwJVUzELMAkG" +
    "A1UECAwCQ0ExEzARBgNVBAoMCkFjbWUsIEluYy4xHjAKBgNVBAsMA2VuZzAQBgoJkiaJk/IsZAEBDAI0MjEXMBUG" +
    "A1UEAwwOYm9iICJ0aGUiIDxiPjsxHjAcBgkqhkiG9w0BCQEWD2JvYkBleGFtcGxlLmNvbTEXMBUGCgmSJomT8ixk" +
    "ARkWB2V4YW1wbGUwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATyFjgEo1p/KzSUCqyhZStcssucCaeS+8wbKuHm" +
    "4yJ6LKDJNofY6/VODiZdZYGeiP+yr55tmVYGzrKeTc89eFNNo1MwUTAdBgNVHQ4EFgQU6FxbVxiIeGqjx4dee7Jd" +
    "UDgidt4wHwYDVR0jBBgwFoAU6FxbVxiIeGqjx4dee7JdUDgidt4wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQD" +
    "AgNJADBGAiEAsrFXks92JBD+2JGZ54KTT1PjgyGau4PcyVKb1wzuC9UCIQDuRORGTDk3dyknjhQqv8dt32Wyrrl8" +
    "0kYp+/z45KuzGQ==",
)!;

Deno.test("subjectRfc2253() writes the subject last RDN first, as Java's X500Principal.getName()", () => {
  assertEquals(
    subjectRfc2253(TRICKY_DER),
    "DC=example,1.2.840.113549.1.9.1=#160f626f62406578616d706c652e636f6d," +
      'CN=bob \\"the\\" \\<b\\>\\;,OU=eng+UID=42,O=Acme\\, Inc.,ST=CA,C=US',
  );
  assertEquals(
    principalFromCertificate(TRICKY_DER),
    `User:${subjectRfc2253(TRICKY_DER)}`,
  );
});

Deno.test("subjectRfc2253() returns undefined for bytes that are not a whole certificate", () => {
  for (const cut of [0, 1, 2, 10, 100, TRICKY_DER.length - 1]) {
    assertEquals(subjectRfc2253(TRICKY_DER.subarray(0, cut)), undefined, `cut at ${cut}`);
  }
  assertEquals(subjectRfc2253(new Uint8Array([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])), undefined);
  assertEquals(principalFromCertificate(new Uint8Array([0x02, 0x01, 0x00])), undefined);
});

Deno.test("escapeRfc2253() escapes specials, a leading # or space and a trailing space", () => {
  assertEquals(escapeRfc2253('a,b+c"d\\e<f>g;h'), 'a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h');
  assertEquals(escapeRfc2253("#x"), "\\#x");
  assertEquals(escapeRfc2253(" x "), "\\ x\\ ");
  assertEquals(escapeRfc2253("plain"), "plain");
});
