import { readdir, rm, rmdir } from "node:fs/promises";
import path from "node:path";

/** Files of a torrent relative to its save folder (the torrent's name is already part of each path). */
export interface TorrentFileEntry {
  path: string;
  length: number;
}

function insideFolder(folder: string, target: string): boolean {
  const rel = path.relative(folder, target);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

/**
 * Delete a torrent's files from its save folder, then the folders they leave empty.
 * Never touches anything outside the save folder or files that are not part of the torrent.
 */
export async function deleteTorrentFiles(savePath: string, files: TorrentFileEntry[]): Promise<void> {
  const root = path.resolve(savePath);
  const dirs = new Set<string>();
  for (const file of files) {
    const target = path.resolve(root, file.path);
    if (!insideFolder(root, target)) continue;
    await rm(target, { force: true });
    for (let dir = path.dirname(target); insideFolder(root, dir); dir = path.dirname(dir)) dirs.add(dir);
  }
  // Deepest first so parents become empty before we look at them.
  for (const dir of [...dirs].sort((a, b) => b.length - a.length)) {
    const left = await readdir(dir).catch(() => null);
    if (left && left.length === 0) await rmdir(dir).catch(() => {});
  }
}
