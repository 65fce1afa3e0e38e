// Kept apart from torrent-fixtures.ts because it registers Vitest hooks: the benchmark and the child
// engine import the fixtures outside Vitest.
import path from "node:path";
import type { DownloadStatus } from "@perpetuanet/core";
import { afterAll, beforeAll } from "vitest";
import {
  createTorrentEngine,
  type DownloadRecord,
  type TorrentEngine,
  type TorrentEngineOptions,
  type TorrentSettings,
} from "../../src/torrent/index.ts";
import {
  type Fixture,
  makeFixture,
  memoryPersistence,
  startSeeder,
  startTracker,
  type TestSeeder,
  type TestTracker,
  tempDir,
  testSettings,
  waitFor,
} from "./torrent-fixtures.ts";

export interface SwarmOptions {
  /** Names the temp folder (`pn-<prefix>-…`). */
  prefix: string;
  /** The torrent's name; a single file of that same name makes a single-file torrent. */
  name: string;
  /** Paths inside the torrent → sizes in bytes. */
  files: Record<string, number>;
  /** Start a WebTorrent seeder (default true); false when the test brings its own (external) seeders. */
  seeder?: boolean;
  /** The seeder's upload cap in bytes/s (default unlimited), for tests that need time mid-transfer. */
  seederUploadLimit?: number;
}

export interface TestEngine {
  engine: TorrentEngine;
  persistence: ReturnType<typeof memoryPersistence>;
  /** The engine's download folder. */
  folder: string;
  /** Every "status" event, in order. */
  statuses: DownloadRecord[];
  /** The first status event with `status` (of download `id`, when given), waiting up to `timeoutMs`. */
  waitForStatus(status: DownloadStatus, opts?: { id?: string; timeoutMs?: number }): Promise<DownloadRecord>;
}

export type TestEngineOptions = Partial<Omit<TorrentEngineOptions, "settings" | "persistence">> & {
  settings?: Partial<TorrentSettings>;
};

export interface Swarm {
  /** This file's temp folder; deleted at the end. */
  readonly dir: string;
  readonly tracker: TestTracker;
  readonly fixture: Fixture;
  readonly seeder: TestSeeder;
  /** Run `close` when the file's tests are over, before the seeder and tracker stop (last registered first). */
  closeAtEnd(close: () => unknown): void;
  /** An engine with in-memory persistence downloading into `<dir>/<folderName>`, closed at the end. */
  engine(folderName: string, opts?: TestEngineOptions): TestEngine;
}

interface SwarmState {
  work: Awaited<ReturnType<typeof tempDir>>;
  tracker: TestTracker;
  fixture: Fixture;
  seeder: TestSeeder | undefined;
}

/**
 * One temp folder, an in-process tracker, a random fixture announcing to it and (unless `seeder: false`)
 * a WebTorrent seeder, shared by the tests of one file. Registers its own beforeAll/afterAll; the
 * accessors are usable from tests and later hooks.
 */
export function useSwarm(opts: SwarmOptions): Swarm {
  let state: Partial<SwarmState> = {};
  const closers: Array<() => unknown> = [];
  const ready = (): SwarmState => {
    if (!state.work || !state.tracker || !state.fixture) throw new Error("useSwarm: used before its beforeAll ran");
    return state as SwarmState;
  };

  beforeAll(async () => {
    state.work = await tempDir(opts.prefix);
    state.tracker = await startTracker();
    state.fixture = await makeFixture({
      dir: state.work.dir,
      name: opts.name,
      files: opts.files,
      announceUrl: state.tracker.announceUrl,
    });
    if (opts.seeder !== false) {
      state.seeder = await startSeeder(state.fixture, state.tracker, opts.seederUploadLimit ?? -1);
    }
  });

  afterAll(async () => {
    // Engines and processes first, so that nothing is still talking to the seeder or tracker as they go.
    for (const close of closers.reverse()) await close();
    await state.seeder?.close();
    await state.tracker?.close();
    await state.work?.cleanup();
    state = {};
  });

  const swarm: Swarm = {
    get dir() {
      return ready().work.dir;
    },
    get tracker() {
      return ready().tracker;
    },
    get fixture() {
      return ready().fixture;
    },
    get seeder() {
      const { seeder } = ready();
      if (!seeder) throw new Error("useSwarm: this swarm was started with seeder: false");
      return seeder;
    },
    closeAtEnd(close) {
      closers.push(close);
    },
    engine(folderName, { settings, ...options } = {}) {
      const folder = path.join(swarm.dir, folderName);
      const persistence = memoryPersistence();
      const engine = createTorrentEngine({
        ...options,
        settings: { ...testSettings(folder), ...settings },
        persistence,
      });
      closers.push(() => engine.close());
      const statuses: DownloadRecord[] = [];
      engine.on("status", (r) => statuses.push(r));
      const waitForStatus: TestEngine["waitForStatus"] = (status, { id, timeoutMs = 60_000 } = {}) =>
        waitFor(
          () => statuses.find((r) => r.status === status && (id === undefined || r.id === id)),
          timeoutMs,
          `download ${id ?? "(any)"} to become ${status}`,
        );
      return { engine, persistence, folder, statuses, waitForStatus };
    },
  };
  return swarm;
}
