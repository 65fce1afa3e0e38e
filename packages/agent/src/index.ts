/** @perpetuanet/agent: the per-PC backend (store, keys, sync, peers, torrents, local API). */
export { startLocalApi, UI_DIST } from "./api/local-api.ts";
export { defaultDataDir, resolveDataDir } from "./paths.ts";
export {
  closeOnSignals,
  createLogger,
  type RunAgentOptions,
  type RunningAgent,
  runAgent,
  runningAgentInfo,
} from "./run-agent.ts";
export { AGENT_VERSION, Agent, type AgentOptions } from "./runtime/agent.ts";
export { MAX_TORRENT_FILE_BYTES } from "./torrent/index.ts";
