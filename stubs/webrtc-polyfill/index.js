// No WebRTC in the agent: peers connect over TCP (and uTP where available).
export const RTCPeerConnection = undefined;
export const RTCSessionDescription = undefined;
export const RTCIceCandidate = undefined;
export default {};
