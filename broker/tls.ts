/**
 * TLS settings of the SSL and SASL_SSL listeners: PEM files named by
 * `ssl.certificate.location` (`--tls-cert`), `ssl.key.location` (`--tls-key`)
 * and `ssl.truststore.location` (`--tls-ca`, the CA client certificates must
 * chain to), and Kafka's `ssl.client.auth` (none, requested, required).
 *
 * The files are read and checked here, before a runtime sees them: the
 * certificate and key parse, the key belongs to the certificate, the CA file
 * holds at least one certificate. A broker starts only with material that
 * passes; a reload (SIGHUP) that fails the checks keeps the old material and
 * says why. The runtime's TLS listener lives in `ffi/`.
 *
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { Libc, TlsClientAuth, TlsServerOptions } from "../ffi/port.ts";

/** Kafka's ssl.client.auth values. */
export const TLS_CLIENT_AUTH_VALUES: readonly TlsClientAuth[] = ["none", "requested", "required"];

/** Where the TLS material is and what clients must show. */
export interface TlsSettings {
  /** PEM certificate chain of the broker (ssl.certificate.location). */
  readonly certFile: string;
  /** PEM private key, unencrypted (ssl.key.location). */
  readonly keyFile: string;
  /** PEM CA certificates for client certificates (ssl.truststore.location, PEM only). */
  readonly caFile: string | undefined;
  readonly clientAuth: TlsClientAuth;
}

/** TLS material that cannot be used, with a sentence saying why. */
export class TlsMaterialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TlsMaterialError";
  }
}

/**
 * The TLS settings from their raw option values, or undefined when no certificate is set;
 * throws {@linkcode TlsMaterialError} on a combination that cannot work.
 */
export function resolveTlsSettings(raw: {
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  clientAuth?: string;
}): TlsSettings | undefined {
  const clientAuth = (raw.clientAuth ?? "none").trim().toLowerCase() as TlsClientAuth;
  if (!TLS_CLIENT_AUTH_VALUES.includes(clientAuth)) {
    throw new TlsMaterialError(
      `Option "ssl.client.auth" must be one of ${
        TLS_CLIENT_AUTH_VALUES.join(", ")
      }, got "${raw.clientAuth}".`,
    );
  }
  const certFile = raw.certFile || undefined;
  const keyFile = raw.keyFile || undefined;
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    throw new TlsMaterialError(
      `TLS needs both a certificate and a key: set "tls-cert" (ssl.certificate.location) and "tls-key" (ssl.key.location).`,
    );
  }
  const caFile = raw.caFile || undefined;
  if (clientAuth !== "none" && caFile === undefined) {
    throw new TlsMaterialError(
      `Option "ssl.client.auth" is "${clientAuth}": set "tls-ca" (ssl.truststore.location) to the CA client certificates must chain to.`,
    );
  }
  return { certFile, keyFile, caFile, clientAuth };
}

const decoder = new TextDecoder();

function readPem(libc: Libc, path: string, what: string): string {
  try {
    return decoder.decode(libc.readFile(path));
  } catch (e) {
    throw new TlsMaterialError(`Cannot read the TLS ${what} "${path}": ${(e as Error).message}`);
  }
}

/** The CA file a TLS client trusts (`tls-ca`), or `undefined` for the system's roots. */
export function readCaPem(libc: Libc, caFile: string | undefined): string | undefined {
  return caFile === undefined ? undefined : readPem(libc, caFile, "CA file");
}

/**
 * Reads and checks the PEM files of `settings`: what a TLS listener is given at start and
 * on every reload. Throws {@linkcode TlsMaterialError} saying what is wrong.
 */
export function loadTlsMaterial(libc: Libc, settings: TlsSettings): TlsServerOptions {
  const certPem = readPem(libc, settings.certFile, "certificate");
  const keyPem = readPem(libc, settings.keyFile, "key");
  const caPem = settings.caFile === undefined
    ? undefined
    : readPem(libc, settings.caFile, "CA file");
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (e) {
    throw new TlsMaterialError(
      `The TLS certificate "${settings.certFile}" is not a PEM certificate: ${
        (e as Error).message
      }`,
    );
  }
  let matches: boolean;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch (e) {
    throw new TlsMaterialError(
      `The TLS key "${settings.keyFile}" is not an unencrypted PEM private key: ${
        (e as Error).message
      }`,
    );
  }
  if (!matches) {
    throw new TlsMaterialError(
      `The TLS key "${settings.keyFile}" does not belong to the certificate "${settings.certFile}".`,
    );
  }
  if (caPem !== undefined) {
    try {
      new X509Certificate(caPem);
    } catch (e) {
      throw new TlsMaterialError(
        `The TLS CA file "${settings.caFile}" holds no PEM certificate: ${(e as Error).message}`,
      );
    }
  }
  return { certPem, keyPem, caPem, clientAuth: settings.clientAuth };
}

/** When the certificate of `material` stops being valid (for the start-up and reload logs). */
export function certificateExpiry(material: TlsServerOptions): Date {
  return new X509Certificate(material.certPem).validToDate;
}
