// A trace (JSON lines, grader/harness/trace.ts) as one self-contained HTML page: the lines
// themselves, and the page's style and script (page.css, page.js) inline. Its
// Content-Security-Policy lets it load nothing, so it opens the same from a CI artifact, a
// Gradescope download or a laptop offline. Whatever a program sent is only ever data in the
// page (JSON, shown as text), never markup.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
let assets: { css: string; js: string } | undefined;

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderHtml(jsonl: string): string {
  assets ??= { css: readFileSync(path.join(here, 'page.css'), 'utf8'), js: readFileSync(path.join(here, 'page.js'), 'utf8') };
  let title = 'trace';
  try {
    title = (JSON.parse(jsonl.slice(0, jsonl.indexOf('\n'))) as { test?: string }).test ?? title;
  } catch {
    // The page says what it can; the script reports nothing it cannot read.
  }
  // In JSON, "<" can only be inside a string, where \u003c means the same: no "</script>" can end the block early.
  const data = jsonl.replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} · trace</title>
<style>
${assets.css}</style>
</head>
<body>
<header>
  <h1><span id="title"></span><span id="outcome"></span></h1>
  <div class="summary" id="summary"></div>
  <pre class="error" id="error" hidden></pre>
  <div class="controls">
    <fieldset><legend>order</legend>
      <label><input type="radio" name="order" value="time" checked> wall clock</label>
      <label><input type="radio" name="order" value="lamport"> happens-before (Lamport)</label>
    </fieldset>
    <button id="to-failure" type="button">show the failure</button>
    <fieldset id="kinds"><legend>show</legend></fieldset>
  </div>
  <div class="controls">
    <fieldset id="lanes"><legend>lanes</legend><button id="all-lanes" type="button">all</button><button id="no-lanes" type="button">none</button></fieldset>
  </div>
  <div class="controls">
    <fieldset id="types"><legend>messages</legend></fieldset>
  </div>
</header>
<main>
  <div id="scroll"><div id="lanehead"></div><div id="canvas"></div></div>
  <aside>
    <div id="details"><h2>Click an arrow or a mark</h2><p class="hint">It shows the message, decoded, and its bytes.</p></div>
    <div class="legend">
      <p><b>Lanes</b> are the programs under test and the ends the grader plays (its connections, its fake peers). Time flows down.</p>
      <p><b>Arrows</b> are messages: blue from the grader, green from a program; dashed red with a cross: lost by a fault; dashed yellow: not delivered (or not whole) when the test ended. An arrow from or to the grader has the grader's time at both ends: it saw one end only.</p>
      <p><b>Bars</b> beside a lane are the test's waits: green came, red failed, yellow never came; the wait that failed the test is dark red.</p>
      <p><b>Marks</b>: ▶ started, ■ exited (red: on its own, with an error), ✕ killed or reset, ❚❚ paused, ▬ closed; ⚡ a fault of a proxy; ◆ in the margin, a note of the test.</p>
      <p><b>Orders</b>: wall clock puts rows in the order the grader saw them; happens-before orders them by Lamport timestamps, which keep every send above its receipt.</p>
    </div>
  </aside>
</main>
<div id="tip"></div>
<script type="application/x-ndjson" id="trace-data">
${data}</script>
<script>
${assets.js}</script>
</body>
</html>
`;
}
