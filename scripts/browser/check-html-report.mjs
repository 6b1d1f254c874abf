// Opens a dora HTML report in headless Chromium (Debian's /usr/bin/chromium)
// and fails on any console error, page error, failed request or missing
// chart; saves full-page screenshots (desktop and phone width).
//
// Usage: node check-html-report.mjs REPORT.html SCREENSHOT.png [MIN_CHARTS]
import { chromium } from "playwright-core";
import path from "node:path";

const [report, shot, minCharts = "6"] = process.argv.slice(2);
if (!report || !shot) {
  console.error("usage: node check-html-report.mjs REPORT.html SCREENSHOT.png [MIN_CHARTS]");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
const problems = [];
try {
  for (const [name, viewport] of [["desktop", { width: 1200, height: 900 }], ["phone", { width: 390, height: 844 }]]) {
    const page = await browser.newPage({ viewport });
    page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`${name}: console ${m.type()}: ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`${name}: page error: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`${name}: request failed: ${r.url()}`));
    page.on("request", (r) => { if (!r.url().startsWith("file:")) problems.push(`${name}: network request: ${r.url()}`); });
    await page.goto("file://" + path.resolve(report), { waitUntil: "load" });
    const charts = await page.$$eval("svg.chart", (svgs) =>
      svgs.map((s) => { const b = s.getBoundingClientRect(); return { w: b.width, h: b.height, lines: s.querySelectorAll("polyline, circle").length }; }));
    if (charts.length < Number(minCharts)) problems.push(`${name}: ${charts.length} charts, expected at least ${minCharts}`);
    charts.forEach((c, i) => { if (c.w < 50 || c.h < 20) problems.push(`${name}: chart ${i} is ${c.w}x${c.h}`); });
    if (!charts.some((c) => c.lines > 0)) problems.push(`${name}: no chart draws any point`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 1) problems.push(`${name}: the page is ${overflow}px wider than the screen`);
    const file = name === "desktop" ? shot : shot.replace(/\.png$/, `-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`${name}: ${charts.length} charts, screenshot ${file}`);
    await page.close();
  }
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log("HTML report: ok");
