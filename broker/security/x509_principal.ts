/**
 * The principal of a TLS client certificate as Kafka's default principal
 * builder makes it: `User:` and the subject's distinguished name in RFC 2253
 * form, as Java's `X500Principal.getName()` writes it (with the default
 * `ssl.principal.mapping.rules`, which keep the name whole). RFC 2253 lists
 * the RDNs last-to-first (`CN=alice,OU=eng,O=Acme,C=US` for a certificate
 * issued to C=US, O=Acme, OU=eng, CN=alice); attribute types with an RFC 2253
 * keyword (CN, C, L, ST, O, OU, STREET, DC, UID) use it, others are written
 * as a dotted OID with the value's DER in hex (`1.2.840.113549.1.9.1=#16...`
 * for an e-mail address, as Java does).
 *
 * The certificate comes from the TLS stack, which has verified it, but it is
 * still parsed as untrusted bytes: every length is checked against what is
 * left, and a certificate that does not parse yields `undefined`.
 *
 * @module
 */

/** Keywords of RFC 2253 section 2.3, by OID (Java's X500Principal.RFC2253 set). */
const RFC2253_KEYWORDS: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.9": "STREET",
  "0.9.2342.19200300.100.1.25": "DC",
  "0.9.2342.19200300.100.1.1": "UID",
};

const TAG_INTEGER = 0x02;
const TAG_OID = 0x06;
const TAG_UTF8 = 0x0c;
const TAG_PRINTABLE = 0x13;
const TAG_T61 = 0x14;
const TAG_IA5 = 0x16;
const TAG_UNIVERSAL = 0x1c;
const TAG_BMP = 0x1e;
const TAG_SEQUENCE = 0x30;
const TAG_SET = 0x31;
const TAG_VERSION = 0xa0;

/** One DER element: its tag, where its content is, and its whole encoding. */
interface Element {
  readonly tag: number;
  readonly content: Uint8Array;
  readonly encoded: Uint8Array;
}

/** The element at `offset` of `bytes`, or undefined when its header or length does not fit. */
function readElement(bytes: Uint8Array, offset: number): Element | undefined {
  if (offset + 2 > bytes.length) return undefined;
  const tag = bytes[offset];
  let lengthBytes = bytes[offset + 1];
  let headerBytes = 2;
  if (lengthBytes & 0x80) {
    const count = lengthBytes & 0x7f;
    if (count === 0 || count > 4 || offset + 2 + count > bytes.length) return undefined;
    lengthBytes = 0;
    for (let i = 0; i < count; i++) lengthBytes = lengthBytes * 256 + bytes[offset + 2 + i];
    headerBytes += count;
  }
  const end = offset + headerBytes + lengthBytes;
  if (end > bytes.length) return undefined;
  return {
    tag,
    content: bytes.subarray(offset + headerBytes, end),
    encoded: bytes.subarray(offset, end),
  };
}

/** The elements inside a constructed element's content, or undefined if one does not fit. */
function children(content: Uint8Array): Element[] | undefined {
  const out: Element[] = [];
  for (let offset = 0; offset < content.length;) {
    const e = readElement(content, offset);
    if (e === undefined) return undefined;
    out.push(e);
    offset += e.encoded.length;
  }
  return out;
}

function decodeOid(content: Uint8Array): string | undefined {
  if (content.length === 0) return undefined;
  const arcs = [Math.floor(content[0] / 40), content[0] % 40];
  if (content[0] >= 80) [arcs[0], arcs[1]] = [2, content[0] - 80];
  let value = 0;
  for (const byte of content.subarray(1)) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(value);
      value = 0;
    }
  }
  return arcs.join(".");
}

/** A directory string's text, or undefined for a type that is not one. */
function decodeString(e: Element): string | undefined {
  switch (e.tag) {
    case TAG_UTF8:
    case TAG_PRINTABLE:
    case TAG_IA5:
      return new TextDecoder("utf-8", { fatal: false }).decode(e.content);
    case TAG_T61:
      return new TextDecoder("latin1").decode(e.content);
    case TAG_BMP:
      return new TextDecoder("utf-16be").decode(e.content);
    case TAG_UNIVERSAL: {
      const points: number[] = [];
      for (let i = 0; i + 4 <= e.content.length; i += 4) {
        points.push(new DataView(e.content.buffer, e.content.byteOffset + i, 4).getUint32(0));
      }
      return String.fromCodePoint(...points);
    }
  }
  return undefined;
}

/** RFC 2253 section 2.4 escaping of an attribute value. */
export function escapeRfc2253(value: string): string {
  let out = value.replace(/[,+"\\<>;]/g, (c) => `\\${c}`);
  if (out.startsWith("#") || out.startsWith(" ")) out = `\\${out}`;
  if (out.endsWith(" ") && out.length > 1) out = `${out.slice(0, -1)}\\ `;
  return out;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** One AttributeTypeAndValue as `TYPE=value`. */
function formatAttribute(e: Element): string | undefined {
  const [type, value] = e.tag === TAG_SEQUENCE ? children(e.content) ?? [] : [];
  if (type?.tag !== TAG_OID || value === undefined) return undefined;
  const oid = decodeOid(type.content);
  if (oid === undefined) return undefined;
  const keyword = RFC2253_KEYWORDS[oid];
  const text = keyword === undefined ? undefined : decodeString(value);
  if (keyword === undefined || text === undefined) return `${oid}=#${hex(value.encoded)}`;
  return `${keyword}=${escapeRfc2253(text)}`;
}

/** The subject Name element of a DER certificate. */
function subjectName(der: Uint8Array): Element | undefined {
  const cert = readElement(der, 0);
  if (cert?.tag !== TAG_SEQUENCE) return undefined;
  const tbs = readElement(cert.content, 0);
  if (tbs?.tag !== TAG_SEQUENCE) return undefined;
  const fields = children(tbs.content);
  if (fields === undefined) return undefined;
  // [0] version (optional), serialNumber, signature, issuer, validity, subject.
  const start = fields[0]?.tag === TAG_VERSION ? 1 : 0;
  if (fields[start]?.tag !== TAG_INTEGER) return undefined;
  const subject = fields[start + 4];
  return subject?.tag === TAG_SEQUENCE ? subject : undefined;
}

/**
 * The subject of a DER X.509 certificate in RFC 2253 form (`CN=alice,OU=eng,O=Acme,C=US`),
 * or undefined when the bytes are not a certificate.
 */
export function subjectRfc2253(der: Uint8Array): string | undefined {
  const subject = subjectName(der);
  const rdns = subject === undefined ? undefined : children(subject.content);
  if (rdns === undefined) return undefined;
  const parts: string[] = [];
  for (const rdn of rdns.toReversed()) {
    const attributes = rdn.tag === TAG_SET ? children(rdn.content) : undefined;
    if (attributes === undefined) return undefined;
    const formatted = attributes.map(formatAttribute);
    if (formatted.some((a) => a === undefined)) return undefined;
    parts.push(formatted.join("+"));
  }
  return parts.join(",");
}

/**
 * Kafka's principal for a client certificate (`User:CN=alice,OU=eng,...`), or undefined when
 * the certificate does not parse.
 */
export function principalFromCertificate(der: Uint8Array): string | undefined {
  const name = subjectRfc2253(der);
  return name === undefined ? undefined : `User:${name}`;
}
