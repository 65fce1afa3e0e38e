import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";

/** Fresh temp folders for a test file, removed after each test. */
export function useTempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}

export interface Cleanups {
  /** Registers teardown steps for the current test. */
  push(...steps: Array<() => Promise<void> | void>): void;
}

/** Teardown steps registered during a test, run after it in reverse order: what started last stops first. */
export function useCleanups(): Cleanups {
  const steps: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of steps.splice(0).reverse()) await step();
  });
  return { push: (...more) => void steps.push(...more) };
}
