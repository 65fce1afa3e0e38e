/**
 * Separate network hosts on this machine: Linux network namespaces joined by veth links, so a test
 * can build a topology where some PCs cannot reach each other at all and cut or restore any link.
 * Needs root and iproute2; `netnsAvailable()` tells whether this machine has them.
 */
import { execFileSync } from "node:child_process";

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

export function netnsAvailable(): boolean {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return false;
  const probe = `pnprobe${process.pid % 100000}`;
  try {
    ip("netns", "add", probe);
    ip("netns", "del", probe);
    return true;
  } catch {
    return false;
  }
}

export interface Link {
  /** The two hosts' addresses on this link. */
  addresses: Record<string, string>;
  up(): void;
  down(): void;
}

export class Network {
  private readonly prefix: string;
  private readonly hosts = new Set<string>();
  private readonly links: Array<{ ends: [string, string]; devices: [string, string] }> = [];
  private subnet = 0;

  constructor() {
    // Unique per process, short enough for interface names (15 characters at most).
    this.prefix = `pn${(process.pid % 10000).toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
  }

  /** The namespace name of host `name` (created with loopback up). */
  host(name: string): string {
    const ns = `${this.prefix}${name}`;
    if (!this.hosts.has(ns)) {
      ip("netns", "add", ns);
      this.hosts.add(ns);
      ip("-n", ns, "link", "set", "lo", "up");
    }
    return ns;
  }

  /**
   * A point-to-point link between two hosts, each end with an address in a /24 of its own. With
   * `multicast`, each host routes multicast (224.0.0.0/4: mDNS) onto this link, as on a LAN.
   */
  connect(a: string, b: string, opts: { multicast?: boolean } = {}): Link {
    const [nsA, nsB] = [this.host(a), this.host(b)];
    const n = this.links.length;
    const devices: [string, string] = [`${this.prefix}${n}x`, `${this.prefix}${n}y`];
    const net = `10.213.${++this.subnet}`;
    ip("link", "add", devices[0], "type", "veth", "peer", "name", devices[1]);
    ip("link", "set", devices[0], "netns", nsA);
    ip("link", "set", devices[1], "netns", nsB);
    ip("-n", nsA, "addr", "add", `${net}.1/24`, "dev", devices[0]);
    ip("-n", nsB, "addr", "add", `${net}.2/24`, "dev", devices[1]);
    this.links.push({ ends: [nsA, nsB], devices });
    const set = (state: "up" | "down") => {
      ip("-n", nsA, "link", "set", devices[0], state);
      ip("-n", nsB, "link", "set", devices[1], state);
    };
    set("up");
    if (opts.multicast) {
      ip("-n", nsA, "route", "add", "224.0.0.0/4", "dev", devices[0]);
      ip("-n", nsB, "route", "add", "224.0.0.0/4", "dev", devices[1]);
    }
    return { addresses: { [a]: `${net}.1`, [b]: `${net}.2` }, up: () => set("up"), down: () => set("down") };
  }

  /** Removes every namespace (and with them their links). */
  destroy(): void {
    for (const ns of this.hosts) {
      try {
        ip("netns", "del", ns);
      } catch {
        // already gone
      }
    }
    this.hosts.clear();
  }
}
