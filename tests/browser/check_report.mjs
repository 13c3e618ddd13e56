// Loads tcpstate's HTML reports and SVG figures in headless Chromium
// (puppeteer-core) and prints what it found as JSON on standard output, for
// tests/html_browser.rs to compare with the JSON report. It fails by itself
// (exit status 1) on a console error, an uncaught exception, any network
// request, or a blank page.
//
//   node tests/browser/check_report.mjs CONFIG.json
// CONFIG: {"chromium": PATH, "puppeteer": DIR of puppeteer-core,
//          "screenshots": DIR, "reports": [PATH…], "svgs": [PATH…]}
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { basename, join } from "node:path";
import { createRequire } from "node:module";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const require = createRequire(join(config.puppeteer, "package.json"));
const puppeteer = require(config.puppeteer);
mkdirSync(config.screenshots, { recursive: true });

const problems = [];
const fail = (what) => problems.push(what);

const browser = await puppeteer.launch({
  executablePath: config.chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
});

/// A page that records console errors, exceptions and requests.
async function open(url, name, { js = true } = {}) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1300, height: 900 });
  await page.setJavaScriptEnabled(js);
  const seen = { errors: [], requests: [] };
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") seen.errors.push(`${name}: console ${m.type()}: ${m.text()}`); });
  page.on("pageerror", (e) => seen.errors.push(`${name}: exception: ${e.message}`));
  page.on("request", (r) => { if (r.url() !== url) seen.requests.push(`${name}: request ${r.url()}`); });
  await page.goto(url, { waitUntil: "load" });
  return { page, seen };
}

/// Fails when the page shows nothing: a screenshot of a blank page
/// compresses to almost nothing.
async function screenshot(page, name, min) {
  const path = join(config.screenshots, name + ".png");
  const png = await page.screenshot({ path, fullPage: true });
  if (png.length < min) fail(`${name}: blank page? screenshot is only ${png.length} bytes`);
  return png.length;
}

// The connection table's rows: the lines of its blocks (pre.rows) that
// show, each split into its cells where the head line says the columns
// start. Run in the page.
const tableRows = () => {
  const starts = Array.from(document.querySelectorAll("#conns pre.head button.sort")).map((b) => Number(b.dataset.at));
  const lines = [];
  for (const pre of document.querySelectorAll("#conns pre.rows")) {
    if (pre.offsetParent === null || pre.textContent === "") continue;
    for (const line of pre.textContent.split("\n")) {
      lines.push(starts.map((a, i) => line.slice(a, i + 1 < starts.length ? starts[i + 1] : line.length).trim()));
    }
  }
  return lines;
};
const rowsOf = (page) => page.evaluate(`(${tableRows})()`);

const out = { reports: [], svgs: [] };
for (const file of config.reports) {
  const name = basename(file, ".html");
  const url = pathToFileURL(file).href;
  const { page, seen } = await open(url, name);
  const found = await page.evaluate(() => {
    const q = (s, r = document) => Array.from(r.querySelectorAll(s));
    const details = q("section.conn").map((sec) => {
      const ladder = sec.querySelector("figure.ladder-fig svg.ladder");
      const box = ladder ? ladder.getBoundingClientRect() : { width: 0, height: 0 };
      return {
        id: Number(sec.dataset.id),
        packets: Number(sec.dataset.packets),
        arrows: ladder ? q("g.arrow", ladder).length : 0,
        collapsed: ladder ? q("g.collapsed", ladder).reduce((n, g) => n + Number(g.dataset.segments), 0) : 0,
        states: ladder ? q("text.state:not(.initial)", ladder).map((t) => t.textContent.replace(/^→ /, "")) : [],
        initial: ladder ? q("text.state.initial", ladder).length : 0,
        steps: q("ol.steps > li", sec).length,
        graphs: q("svg.tsg-graph", sec).length,
        diagnosis: (() => {
          const d = sec.querySelector("p.diagnosis");
          if (!d) return null;
          const r = d.getBoundingClientRect();
          return { cause: d.dataset.cause, text: d.innerText, height: r.height, colour: getComputedStyle(d).color };
        })(),
        width: box.width,
        height: box.height,
      };
    });
    return {
      linked: q("#conns pre.rows a[href^='#c']").length,
      linkedIds: q("#conns pre.rows a[href^='#c']").map((a) => Number(a.textContent)),
      total: Number(document.getElementById("conns").dataset.rows),
      shown: (document.getElementById("shown") || {}).textContent || "",
      notDetailed: (document.getElementById("not-detailed") || {}).textContent || "",
      verdict: (document.getElementById("verdict") || {}).className || "",
      details,
      text: document.body.innerText.length,
    };
  });
  const all = await rowsOf(page);
  found.rows = all.length;
  found.ids = all.map((r) => Number(r[0]));
  found.visible = all.length;
  // The filter box: nothing matches a word no row holds; one client
  // endpoint narrows the table to the rows that hold it.
  const filter = {};
  await page.type("#filter", "no-such-connection-xyz");
  filter.none = (await rowsOf(page)).length;
  const needle = all.length ? all[0][1] : "";
  await page.$eval("#filter", (e) => { e.value = ""; });
  await page.type("#filter", needle);
  filter.needle = needle;
  filter.narrowed = (await rowsOf(page)).length;
  filter.expected = all.filter((r) => r.join("  ").toLowerCase().includes(needle.toLowerCase())).length;
  filter.shown = await page.evaluate(() => document.getElementById("shown").textContent);
  await page.$eval("#filter", (e) => { e.value = ""; e.dispatchEvent(new Event("input")); });
  // Sorting: the id column descending puts the largest id first.
  await page.click("#conns button.sort[data-col='0']");
  await page.click("#conns button.sort[data-col='0']");
  const sorted = (await rowsOf(page)).map((r) => Number(r[0]));
  found.linkedAfterSort = await page.evaluate(() => document.querySelectorAll("#conns pre.rows a[href^='#c']").length);
  // The step-through of the first connection: buttons and arrow keys.
  const stepper = await page.evaluate(() => {
    const s = document.querySelector(".stepper");
    return s ? { steps: Number(s.dataset.steps), at: Number(s.dataset.at), client: s.dataset.client, server: s.dataset.server } : null;
  });
  const moves = [];
  if (stepper) {
    const state = () => page.evaluate(() => {
      const s = document.querySelector(".stepper");
      const sec = s.closest("section.conn");
      const cur = Array.from(sec.querySelectorAll("figure.ladder-fig g.arrow.cur")).map((g) => Number(g.dataset.step));
      return { at: Number(s.dataset.at), client: s.dataset.client, server: s.dataset.server, cur, narration: s.querySelector(".narration").textContent.length, shownClient: s.querySelector(".cs").textContent };
    });
    moves.push(await state());
    await page.click(".stepper .next");
    moves.push(await state());
    await page.keyboard.press("ArrowRight");
    moves.push(await state());
    await page.keyboard.press("ArrowLeft");
    moves.push(await state());
    await page.keyboard.press("ArrowLeft");
    await page.keyboard.press("ArrowLeft");
    moves.push(await state());
  }
  // A full-page screenshot leaves out the table's blocks that
  // content-visibility skips (those out of the viewport): draw them all.
  await page.evaluate(() => document.querySelectorAll("#conns pre.rows").forEach((p) => { p.style.contentVisibility = "visible"; }));
  const shot = await screenshot(page, name, 20000);
  // The ladder alone, for a figure.
  const ladder = await page.$("figure.ladder-fig svg.ladder");
  if (ladder) await ladder.screenshot({ path: join(config.screenshots, name + "-ladder.png") });
  await page.close();
  // Without JavaScript: the table and the steps are there to read.
  const nojs = await open(url, name + " (no js)", { js: false });
  const nojsRows = (await rowsOf(nojs.page)).length;
  const readable = await nojs.page.evaluate((rows) => ({
    rows,
    steps: Array.from(document.querySelectorAll("ol.steps")).filter((o) => o.offsetParent !== null).length,
    ladders: Array.from(document.querySelectorAll("svg.ladder")).filter((s) => s.getBoundingClientRect().height > 50).length,
  }), nojsRows);
  await nojs.page.close();
  problems.push(...seen.errors, ...seen.requests, ...nojs.seen.errors, ...nojs.seen.requests);
  out.reports.push({ file, ...found, filter, sorted, stepper, moves, screenshot: shot, nojs: readable });
}

for (const file of config.svgs) {
  const name = basename(file, ".svg");
  const url = pathToFileURL(file).href;
  const { page, seen } = await open(url, name);
  const found = await page.evaluate(() => ({
    root: document.documentElement.tagName,
    parseError: document.getElementsByTagName("parsererror").length,
    arrows: document.querySelectorAll("g.arrow").length,
    states: document.querySelectorAll("text.state:not(.initial)").length,
    width: document.documentElement.getBoundingClientRect().width,
    height: document.documentElement.getBoundingClientRect().height,
  }));
  const shot = await screenshot(page, "svg-" + name, 5000);
  problems.push(...seen.errors, ...seen.requests);
  await page.close();
  out.svgs.push({ file, ...found, screenshot: shot });
}
await browser.close();
writeFileSync(join(config.screenshots, "found.json"), JSON.stringify(out, null, 1));
console.log(JSON.stringify(out));
if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
