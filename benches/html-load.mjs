// How long headless Chromium takes to open an HTML report: navigation start
// to first paint, to first contentful paint, to DOMContentLoaded and to the
// load event (the script has run by then), best of RUNS (default 3) loads.
//
//   node benches/html-load.mjs REPORT.html [RUNS]
// Needs puppeteer-core in .ci/node/ (bash .ci/mermaid-setup) and /usr/bin/chromium.
import { createRequire } from "node:module";
import { pathToFileURL, fileURLToPath } from "node:url";
import { dirname, join, resolve } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, ".ci/node/node_modules/puppeteer-core/package.json"));
const puppeteer = require(join(root, ".ci/node/node_modules/puppeteer-core"));
const file = resolve(process.argv[2]);
const runs = Number(process.argv[3] || 3);

const browser = await puppeteer.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
});
let best = null;
for (let i = 0; i < runs; i++) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1300, height: 900 });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const t0 = Date.now();
  await page.goto(pathToFileURL(file).href, { waitUntil: "load", timeout: 120000 });
  const wall = Date.now() - t0;
  const t = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const paint = Object.fromEntries(performance.getEntriesByType("paint").map((p) => [p.name, p.startTime]));
    return {
      firstPaint: paint["first-paint"] ?? null,
      firstContentfulPaint: paint["first-contentful-paint"] ?? null,
      domContentLoaded: nav.domContentLoadedEventEnd,
      load: nav.loadEventEnd,
      rows: document.querySelectorAll("#conns tbody tr").length,
    };
  });
  t.wall = wall;
  t.errors = errors;
  if (!best || t.load < best.load) best = t;
  await page.close();
}
await browser.close();
console.log(JSON.stringify(best));
