// SPDX-License-Identifier: Apache-2.0
// Drives the Radar page in a real headless Chromium (Debian's, through playwright-core) for
// radar_browser_test.cc, which owns the lab and the daemon. The two talk over this
// process's stdout, one line per step:
//   "ready"            the page shows the expected identities and learned edges; the test
//                      now makes the blocked attempts
//   "done <json>"      every check passed; the screenshot is saved
//   "fail <reason>"    a check failed (a screenshot of that moment is saved beside the other)
// Usage: node radar_browser.cjs <spec.json>, the spec naming the URL, the browser, the
// node_modules holding playwright-core, the screenshot path and what to expect.
'use strict';

const fs = require('fs');
const path = require('path');

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const { chromium } = require(path.join(spec.node_modules, 'playwright-core'));

const say = (line) => process.stdout.write(`${line}\n`);
const nodeId = (name) => `n:${name}`;

// Polls `check` in the page (every 200 ms, bounded) until it returns a truthy value.
async function waitInPage(page, what, check, arg, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await page.evaluate(check, arg);
    if (last && last.ok) return last;
    await page.waitForTimeout(200);
  }
  throw new Error(`${what} within ${timeoutMs} ms; last seen: ${JSON.stringify(last)}`);
}

// What the graph holds now, as the page's cytoscape instance has it.
function graphHas({ nodes, edges }) {
  const cy = window.radar.cy;
  const missingNodes = nodes.filter((n) => cy.getElementById(`n:${n}`).empty());
  const have = cy.edges().map((e) => `${e.data('source').slice(2)}>${e.data('target').slice(2)} ${e.data('port')} ${e.data('state')}`);
  const missingEdges = edges.filter((e) => !have.includes(e));
  return { ok: missingNodes.length === 0 && missingEdges.length === 0, missingNodes, missingEdges, have };
}

async function run(page) {
  await page.goto(spec.url, { waitUntil: 'load' });
  await waitInPage(page, 'the page did not load the graph', () => ({ ok: window.radar && window.radar.state.updates > 0 }), null, 10000);
  await waitInPage(page, 'the lab\'s identities and learned flows did not appear', graphHas,
    { nodes: spec.nodes, edges: spec.learned }, 15000);
  // A mark that a reload would wipe: the blocked edges must arrive by live update.
  await page.evaluate(() => { window.radarTestMark = 'no reload'; });
  say('ready');

  await waitInPage(page, 'the blocked attempts did not appear as blocked edges', graphHas,
    { nodes: spec.nodes, edges: spec.blocked }, spec.blocked_within_ms);
  const mark = await page.evaluate(() => window.radarTestMark);
  if (mark !== 'no reload') throw new Error('the page reloaded to show the blocked edges');

  // Click the node where it is drawn, as a person would.
  const box = await page.locator('#graph').boundingBox();
  const at = await page.evaluate((id) => window.radar.cy.getElementById(id).renderedPosition(), nodeId(spec.click));
  await page.mouse.click(box.x + at.x, box.y + at.y);
  const details = await waitInPage(page, `clicking ${spec.click} did not show its flows, workloads and audit records`,
    ({ name, texts }) => {
      const panel = document.getElementById('details');
      const title = panel.querySelector('h2');
      const text = panel.innerText;
      const missing = texts.filter((t) => !text.includes(t));
      return { ok: title && title.textContent === name && missing.length === 0, missing, text };
    }, { name: spec.click, texts: spec.details_show }, 8000);

  // The filter: one identity and its neighbours only.
  await page.fill('#filter-input', spec.filter);
  const filtered = await waitInPage(page, `filtering by ${spec.filter} did not narrow the graph`,
    ({ name, expect }) => {
      const visible = window.radar.cy.nodes().filter((n) => n.visible()).map((n) => n.data('name')).sort();
      return { ok: JSON.stringify(visible) === JSON.stringify(expect), visible };
    }, { name: spec.filter, expect: spec.filter_shows }, 5000);
  await page.click('#filter-clear');
  await page.evaluate((name) => window.radar.select(name), spec.click);
  await waitInPage(page, 'the details did not come back', ({ name }) => {
    const title = document.querySelector('#details h2');
    return { ok: title && title.textContent === name };
  }, { name: spec.click }, 5000);
  await page.waitForTimeout(300); // let the canvas draw the selection before the picture

  await page.screenshot({ path: spec.screenshot });
  return { details: details.text.split('\n').length, filtered: filtered.visible };
}

(async () => {
  const browser = await chromium.launch({
    executablePath: spec.browser,
    headless: true,
    // Root in a VM has no user namespace sandbox; the rest keeps Chromium off the network
    // (this machine has none, and each attempt would be a refused connection).
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-default-apps', '--disable-extensions'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  const consoleErrors = [];
  page.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(message.text()); });
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
  let code = 0;
  try {
    const result = await run(page);
    if (consoleErrors.length) throw new Error(`the page logged errors: ${consoleErrors.join(' | ')}`);
    say(`done ${JSON.stringify(result)}`);
  } catch (error) {
    await page.screenshot({ path: spec.screenshot.replace(/\.png$/, '.failure.png') }).catch(() => {});
    say(`fail ${String(error.message || error).replace(/\n/g, ' ')}`);
    code = 1;
  } finally {
    await browser.close();
  }
  process.exit(code);
})();
