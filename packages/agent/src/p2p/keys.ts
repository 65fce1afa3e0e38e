/**
 * The device's libp2p identity: an Ed25519 key kept (protobuf-encoded) by the runtime in store meta.
 * The peer id and public key derived from it go into the device record so other PCs can trust it.
 */
import {
  generateKeyPair,
  privateKeyFromProtobuf,
  privateKeyToProtobuf,
  publicKeyToProtobuf,
} from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";

export async function generatePeerKey(): Promise<Uint8Array> {
  return privateKeyToProtobuf(await generateKeyPair("Ed25519"));
}

export function decodePeerKey(key: Uint8Array): PrivateKey {
  return privateKeyFromProtobuf(key);
}

export function peerIdFromKey(key: Uint8Array): string {
  return peerIdFromPrivateKey(decodePeerKey(key)).toString();
}

/** Base64 of the protobuf-encoded public key, for the device record. */
export function publicKeyFromKey(key: Uint8Array): string {
  return Buffer.from(publicKeyToProtobuf(decodePeerKey(key).publicKey)).toString("base64");
}
