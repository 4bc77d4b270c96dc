import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
// @peculiar/x509's dependency injection needs the Reflect metadata API before it loads.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

/**
 * X.509 certificates, assembled and signed with @peculiar/x509 over Node's WebCrypto: no
 * JavaScript cryptography of our own or of a library's. Keys stay PEM (PKCS#1 private, SPKI
 * public), the form every Kubernetes component reads; they are imported into WebCrypto to sign.
 */

const SIGNING = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

export interface KeyPairPem {
  privatePem: string;
  publicPem: string;
}

export interface CertificateSpec {
  cn: string;
  o?: readonly string[] | undefined;
  keys: KeyPairPem;
  /** The CA that signs; none: self-signed. */
  issuer?: { certPem: string; privatePem: string } | undefined;
  ca: boolean;
  usage?: 'server' | 'client' | undefined;
  names?: { dns: readonly string[]; ip: readonly string[] } | undefined;
  days: number;
  /** How far back the certificate is valid, for clocks a little behind. */
  skewMs?: number;
}

async function signingKey(privatePem: string): Promise<CryptoKey> {
  const der = createPrivateKey(privatePem).export({ format: 'der', type: 'pkcs8' });
  return crypto.subtle.importKey('pkcs8', der, SIGNING, false, ['sign']);
}

async function publicKey(publicPem: string): Promise<CryptoKey> {
  const der = createPublicKey(publicPem).export({ format: 'der', type: 'spki' });
  return crypto.subtle.importKey('spki', der, SIGNING, true, ['verify']);
}

/** A distinguished name from structured parts, escaped by the library (RFC 4514). */
function distinguishedName(cn: string, o: readonly string[] = []): x509.JsonName {
  return [{ CN: [cn] }, ...o.map((value) => ({ O: [value] }))];
}

function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive
  return bytes.toString('hex');
}

/** Issues a certificate for `spec.keys`, signed by `spec.issuer` (or by itself); returns PEM. */
export async function issueCertificate(spec: CertificateSpec): Promise<string> {
  const subjectKey = await publicKey(spec.keys.publicPem);
  const issuerCert = spec.issuer ? new x509.X509Certificate(spec.issuer.certPem) : undefined;
  const extensions: x509.Extension[] = [await x509.SubjectKeyIdentifierExtension.create(subjectKey)];
  if (spec.ca) {
    extensions.push(
      new x509.BasicConstraintsExtension(true, undefined, true),
      // As kubeadm's CAs: sign certificates, and serve when the CA is its own leaf.
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    );
    // A self-signed serving certificate that is its own CA (a webhook's caBundle).
    if (spec.usage === 'server') extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]));
  } else {
    extensions.push(
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([spec.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    );
  }
  if (spec.names) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        ...spec.names.dns.map((value) => ({ type: 'dns' as const, value })),
        ...spec.names.ip.map((value) => ({ type: 'ip' as const, value })),
      ]),
    );
  }
  if (issuerCert) {
    // The issuer's own key identifier, whatever made it (CAs of earlier versions were node-forge's).
    const issuerKeyId = issuerCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    extensions.push(issuerKeyId ? new x509.AuthorityKeyIdentifierExtension(issuerKeyId) : await x509.AuthorityKeyIdentifierExtension.create(issuerCert.publicKey, false, crypto));
  }
  const subject = new x509.Name(distinguishedName(spec.cn, spec.o)).toString();
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serialNumber(),
      subject,
      issuer: issuerCert?.subject ?? subject,
      notBefore: new Date(Date.now() - (spec.skewMs ?? 5 * 60_000)),
      notAfter: new Date(Date.now() + spec.days * 86_400_000),
      signingAlgorithm: SIGNING,
      publicKey: subjectKey,
      signingKey: await signingKey(spec.issuer?.privatePem ?? spec.keys.privatePem),
      extensions,
    },
    crypto,
  );
  return cert.toString('pem');
}
