/**
 * `npm run bench`: runs every benchmark in packages/*\/bench/*.bench.ts, one after another (they
 * measure speed, so they must not share the two cores), and prints their figures.
 * `npm run bench -- store` runs only benchmarks whose path contains "store".
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const filters = process.argv.slice(2);
const benches = readdirSync(join(root, "packages"))
  .flatMap((pkg) => {
    try {
      return readdirSync(join(root, "packages", pkg, "bench"))
        .filter((f) => f.endsWith(".bench.ts"))
        .map((f) => join("packages", pkg, "bench", f));
    } catch {
      return [];
    }
  })
  .filter((path) => filters.length === 0 || filters.some((f) => path.includes(f)))
  .sort();

if (benches.length === 0) {
  console.error(`no benchmark matches ${filters.join(" ")}`);
  process.exit(1);
}
let failed = 0;
for (const bench of benches) {
  console.log(`\n=== ${bench}`);
  const result = spawnSync(process.execPath, [bench], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    failed++;
    console.error(`${bench} failed with status ${result.status}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
