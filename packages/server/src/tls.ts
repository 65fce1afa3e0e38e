/** TLS material: given files, or a self-signed certificate generated once into the data folder. */

import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import selfsigned from "selfsigned";

export interface TlsMaterial {
  cert: string;
  key: string;
  /** SHA-256 of the DER certificate as AA:BB:..., what clients pin. */
  fingerprint: string;
}

export function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

export function loadTls(certPath: string, keyPath: string): TlsMaterial {
  const cert = readFileSync(certPath, "utf8");
  const key = readFileSync(keyPath, "utf8");
  return { cert, key, fingerprint: fingerprintOf(cert) };
}

export async function selfSignedTls(dataDir: string, hostnames: string[] = []): Promise<TlsMaterial> {
  const dir = join(dataDir, "tls");
  const certPath = join(dir, "server.crt");
  const keyPath = join(dir, "server.key");
  if (existsSync(certPath) && existsSync(keyPath)) return loadTls(certPath, keyPath);
  const altNames = [
    { type: 2, value: "localhost" },
    { type: 7, ip: "127.0.0.1" },
    { type: 7, ip: "::1" },
    ...hostnames.map((h) => (/^[\d.]+$|:/.test(h) ? { type: 7, ip: h } : { type: 2, value: h })),
  ];
  const pems = await selfsigned.generate([{ name: "commonName", value: "PerpetuaNet server" }], {
    days: 3650,
    keySize: 2048,
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames },
    ],
  });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(keyPath, pems.private, { mode: 0o600 });
  writeFileSync(certPath, pems.cert);
  return { cert: pems.cert, key: pems.private, fingerprint: fingerprintOf(pems.cert) };
}
