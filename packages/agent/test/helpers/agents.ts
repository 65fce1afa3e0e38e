/** Account and library steps that end-to-end tests repeat, in the words of a user of the app. */
import type { LinkView } from "@perpetuanet/core";
import type { AgentProcess } from "./processes.ts";

export const PASSWORD = "correct horse battery";

export async function register(agent: AgentProcess, login: string, serverUrl: string, deviceName?: string) {
  return agent.call("POST", "/api/account/register", { serverUrl, login, password: PASSWORD, deviceName });
}

export async function logIn(agent: AgentProcess, login: string, password = PASSWORD, deviceName?: string) {
  return agent.call("POST", "/api/account/login", { login, password, deviceName });
}

export async function addLink(agent: AgentProcess, title: string, extra: Record<string, unknown> = {}) {
  return agent.call<LinkView>("POST", "/api/links", {
    url: `https://example.org/${encodeURIComponent(title)}`,
    title,
    ...extra,
  });
}

/** Adds many links, a few requests at a time (the API is local; this only bounds sockets). */
export async function addLinks(agent: AgentProcess, prefix: string, count: number): Promise<LinkView[]> {
  const out: LinkView[] = [];
  for (let i = 0; i < count; i += 16) {
    const batch = Array.from({ length: Math.min(16, count - i) }, (_, j) => addLink(agent, `${prefix}-${i + j}`));
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

export async function titles(agent: AgentProcess): Promise<string[]> {
  const links = await agent.call<LinkView[]>("GET", "/api/links");
  return links.map((l) => l.title).sort();
}

export interface StateHash {
  hash: string;
  entries: number;
  pending: number;
}

export function stateHash(agent: AgentProcess): Promise<StateHash> {
  return agent.call<StateHash>("GET", "/api/state-hash");
}

/**
 * Waits until all agents hold the same merged state and message log, and (unless the server is known
 * to be down: `serverUp: false`) have pushed everything to the server.
 */
export async function converged(
  agents: AgentProcess[],
  timeoutMs: number,
  opts: { serverUp?: boolean } = {},
): Promise<StateHash> {
  const [first] = agents;
  if (!first) throw new Error("no agents");
  const pushed = opts.serverUp !== false;
  return first.until(
    "all agents to converge",
    async () => {
      const states = await Promise.all(agents.map(stateHash));
      const same = states.every(
        (s) => (!pushed || s.pending === 0) && s.hash === states[0]!.hash && s.entries === states[0]!.entries,
      );
      return same ? states[0] : undefined;
    },
    timeoutMs,
  );
}
