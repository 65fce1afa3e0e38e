export { generatePeerKey, peerIdFromKey, publicKeyFromKey } from "./keys.ts";
export { createP2PNode } from "./node.ts";
export type { P2PLimits, P2PLogger, P2PNode, P2PNodeOptions, TrustedDevice } from "./types.ts";
