// The trace page's script: it reads the trace (JSON lines, in the page) and draws it as a
// space-time diagram. One column per lane, time flowing down, one row per moment; an arrow per
// message from its send to its receipt. Rows come in one of two orders: by the grader's clock
// (wall clock), or by the Lamport timestamps the grader gave what it saw (happens-before), which
// spaces out bursts and keeps every cause above its effect. Nothing here loads anything.
(function () {
  'use strict';

  const ROW = 18;
  const LANE = 132;
  const GUTTER = 96;
  const TOP = 14;

  const lines = document.getElementById('trace-data').textContent.split('\n').filter(Boolean).map((line) => JSON.parse(line));
  const header = lines[0] || {};
  const lanes = lines.filter((l) => l.kind === 'lane');
  const events = lines.filter((l) => l.kind && l.kind !== 'lane');
  events.forEach((e, i) => (e.i = i));
  // A gap (events not kept) has no Lamport stamp: it sits where the events before it were.
  let lastL = 0;
  for (const e of events) {
    if (e.kind === 'gap') e.l = lastL;
    else lastL = e.kind === 'msg' ? e.ls : e.kind === 'expect' ? e.ls : e.l;
  }
  const laneById = new Map(lanes.map((l) => [l.id, l]));
  const messages = events.filter((e) => e.kind === 'msg');
  const types = new Map();
  for (const m of messages) types.set(m.type, (types.get(m.type) || 0) + 1);

  const state = {
    order: 'time',
    hiddenLanes: new Set(),
    hiddenTypes: new Set(),
    showWaits: true,
    showNotes: true,
    selected: undefined,
  };

  const $ = (id) => document.getElementById(id);
  const esc = (text) => String(text).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
  const ms = (t) => (t === undefined || t === null ? '?' : t < 1000 ? t.toFixed(2) + ' ms' : (t / 1000).toFixed(3) + ' s');
  const laneName = (id) => (laneById.has(id) ? laneById.get(id).name : '?');

  // ---- the header --------------------------------------------------------------------------

  $('title').textContent = header.test || 'trace';
  const outcome = $('outcome');
  outcome.textContent = header.outcome || '';
  outcome.className = 'outcome ' + (header.outcome || '');
  const failure = events.find((e) => e.kind === 'failure');
  if (failure) {
    $('error').textContent = failure.text;
    $('error').hidden = false;
  }
  const dropped = header.dropped || {};
  const droppedText = Object.entries(dropped)
    .filter(([, n]) => n > 0)
    .map(([what, n]) => n.toLocaleString('en') + ' ' + what)
    .join(', ');
  $('summary').textContent =
    messages.length.toLocaleString('en') + ' messages, ' + lanes.length + ' lanes, ' + events.length.toLocaleString('en') + ' events' +
    (header.started ? ', started ' + header.started.replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '') +
    (droppedText ? '; not kept (too many): ' + droppedText : '');

  function checkbox(parent, text, count, checked, onChange) {
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = checked;
    box.addEventListener('change', () => onChange(box.checked));
    label.append(box, ' ' + text);
    if (count !== undefined) {
      const c = document.createElement('span');
      c.className = 'count';
      c.textContent = ' ' + count;
      label.append(c);
    }
    parent.append(label);
    return box;
  }

  const laneBoxes = [];
  for (const lane of orderedLanes(lanes)) {
    laneBoxes.push(checkbox($('lanes'), lane.name, undefined, true, (on) => {
      if (on) state.hiddenLanes.delete(lane.id);
      else state.hiddenLanes.add(lane.id);
      draw();
    }));
  }
  for (const [type, count] of [...types].sort((a, b) => b[1] - a[1])) {
    checkbox($('types'), type, count, true, (on) => {
      if (on) state.hiddenTypes.delete(type);
      else state.hiddenTypes.add(type);
      draw();
    });
  }
  checkbox($('kinds'), 'waits', undefined, true, (on) => ((state.showWaits = on), draw()));
  checkbox($('kinds'), 'notes', undefined, true, (on) => ((state.showNotes = on), draw()));
  for (const radio of document.querySelectorAll('input[name=order]')) {
    radio.addEventListener('change', () => {
      state.order = radio.value;
      draw();
    });
  }
  $('all-lanes').addEventListener('click', () => {
    state.hiddenLanes.clear();
    laneBoxes.forEach((b) => (b.checked = true));
    draw();
  });
  $('no-lanes').addEventListener('click', () => {
    for (const lane of lanes) state.hiddenLanes.add(lane.id);
    laneBoxes.forEach((b) => (b.checked = false));
    draw();
  });
  const failing = events.find((e) => e.kind === 'expect' && e.failing) || failure;
  $('to-failure').hidden = !failing;
  $('to-failure').addEventListener('click', () => {
    if (!failing) return;
    select(failing.i);
    const el = document.querySelector('[data-i="' + failing.i + '"]');
    if (el) el.scrollIntoView({ block: 'center', inline: 'center' });
  });

  function orderedLanes(all) {
    // Programs first, then the grader's own ends, each in the order they appeared.
    return [...all].sort((a, b) => (a.role === b.role ? a.id - b.id : a.role === 'program' ? -1 : 1));
  }

  // ---- layout -------------------------------------------------------------------------------

  function key(e, which) {
    if (state.order === 'time') {
      if (e.kind === 'msg') return which === 'end' ? e.recv : e.sent;
      if (e.kind === 'expect') return which === 'end' ? e.end : e.t;
      return e.t;
    }
    if (e.kind === 'msg') return which === 'end' ? e.lr : e.ls;
    if (e.kind === 'expect') return which === 'end' ? e.le : e.ls;
    return e.l;
  }

  function visible(e) {
    const shown = (id) => id !== undefined && id !== null && !state.hiddenLanes.has(id);
    switch (e.kind) {
      case 'msg':
        return shown(e.from) && shown(e.to) && !state.hiddenTypes.has(e.type);
      case 'expect':
        return state.showWaits && shown(e.lane);
      case 'event':
        return shown(e.lane);
      case 'fault':
        return shown(e.from) || shown(e.to) || (e.from === undefined && e.to === undefined);
      case 'note':
        return state.showNotes;
      default:
        return true;
    }
  }

  let drawn = [];

  function draw() {
    const shownLanes = orderedLanes(lanes).filter((l) => !state.hiddenLanes.has(l.id));
    const x = new Map(shownLanes.map((l, n) => [l.id, GUTTER + n * LANE + LANE / 2]));
    drawn = events.filter(visible);
    const keys = new Set();
    for (const e of drawn) {
      const a = key(e, 'start');
      const b = key(e, 'end');
      if (a !== undefined && a !== null) keys.add(a);
      if (b !== undefined && b !== null) keys.add(b);
    }
    const sorted = [...keys].sort((a, b) => a - b);
    const row = new Map(sorted.map((k, n) => [k, n]));
    const last = Math.max(0, sorted.length - 1);
    const y = (k) => TOP + ROW * (k === undefined || k === null ? last + 1 : row.get(k));
    const width = GUTTER + shownLanes.length * LANE + 20;
    const height = TOP + ROW * (sorted.length + 2);
    const right = GUTTER + shownLanes.length * LANE;
    const out = [];
    out.push('<svg xmlns="http://www.w3.org/2000/svg" id="diagram" width="' + width + '" height="' + height + '">');
    out.push('<defs>' + marker('ah', '#3a6fc4') + marker('ahb', '#2f8a57') + marker('ahs', '#111') + marker('ahw', '#c98a12') + '</defs>');
    for (const lane of shownLanes) {
      out.push('<line class="lane ' + lane.role + '" x1="' + x.get(lane.id) + '" y1="0" x2="' + x.get(lane.id) + '" y2="' + height + '"/>');
    }
    // The time (or the Lamport stamp) in the margin, every few rows.
    let labelled = -Infinity;
    for (let n = 0; n < sorted.length; n++) {
      if (n - labelled < 3) continue;
      labelled = n;
      const text = state.order === 'time' ? ms(sorted[n]) : 'L ' + sorted[n];
      out.push('<text class="tick" x="4" y="' + (y(sorted[n]) + 4) + '">' + esc(text) + '</text>');
    }
    // In wall-clock order, a long pause between two rows gets a dashed line and its length.
    if (state.order === 'time') {
      for (let n = 1; n < sorted.length; n++) {
        const pause = sorted[n] - sorted[n - 1];
        if (pause < 200) continue;
        const at = y(sorted[n]) - ROW / 2;
        out.push('<line class="gapline" x1="' + GUTTER + '" y1="' + at + '" x2="' + right + '" y2="' + at + '"/>');
        out.push('<text class="gaptext" x="' + (GUTTER + 4) + '" y="' + (at - 2) + '">' + esc('+' + ms(pause)) + '</text>');
      }
    }
    const labels = drawn.filter((e) => e.kind === 'msg').length <= 1500;
    for (const e of drawn) {
      if (e.kind === 'expect') {
        const cls = e.failing ? 'failing' : e.ok === true ? 'ok' : e.ok === false ? 'bad' : 'open';
        const top = y(key(e, 'start')) - 3;
        const bottom = y(key(e, 'end')) + 3;
        out.push('<rect class="wait ' + cls + '" data-i="' + e.i + '" x="' + (x.get(e.lane) + 5) + '" y="' + top + '" width="' + (e.failing ? 8 : 5) + '" height="' + Math.max(6, bottom - top) + '"/>');
        if (e.failing) out.push('<text class="failure" x="' + (x.get(e.lane) + 16) + '" y="' + (bottom - 2) + '" fill="#a4161a" font-weight="700">✗ failed: ' + esc(short(e.what, 40)) + '</text>');
      }
    }
    for (const e of drawn) {
      switch (e.kind) {
        case 'msg':
          out.push(arrow(e, x, y, labels));
          break;
        case 'event':
          out.push(glyph(e, x.get(e.lane), y(key(e))));
          break;
        case 'fault': {
          const xs = [e.from, e.to].filter((id) => x.has(id)).map((id) => x.get(id));
          const a = xs.length ? Math.min(...xs) - 10 : GUTTER;
          const b = xs.length > 1 ? Math.max(...xs) + 10 : xs.length ? a + 60 : right;
          const at = y(key(e));
          out.push('<g class="fault" data-i="' + e.i + '"><line x1="' + a + '" y1="' + at + '" x2="' + b + '" y2="' + at + '"/><text x="' + (a + 2) + '" y="' + (at - 4) + '">' + esc('⚡ ' + e.what) + '</text></g>');
          break;
        }
        case 'note':
          out.push('<path class="note" data-i="' + e.i + '" d="M' + (GUTTER - 14) + ' ' + y(key(e)) + ' l5 -5 l5 5 l-5 5 z"/>');
          break;
        case 'failure': {
          const at = y(key(e));
          out.push('<g class="failure" data-i="' + e.i + '"><line x1="' + GUTTER + '" y1="' + at + '" x2="' + right + '" y2="' + at + '"/><text x="' + (GUTTER + 4) + '" y="' + (at - 4) + '">the test failed here</text></g>');
          break;
        }
        case 'gap': {
          const at = y(key(e));
          out.push('<g class="gap" data-i="' + e.i + '"><line x1="' + GUTTER + '" y1="' + at + '" x2="' + right + '" y2="' + at + '"/><text x="' + (GUTTER + 4) + '" y="' + (at + 4) + '">' + esc('… ' + e.text) + '</text></g>');
          break;
        }
      }
    }
    out.push('</svg>');
    $('canvas').innerHTML = out.join('');
    $('lanehead').style.width = width + 'px';
    $('lanehead').innerHTML = shownLanes
      .map((l) => '<div class="' + l.role + '" style="left:' + (x.get(l.id) - LANE / 2 + 2) + 'px;width:' + (LANE - 4) + 'px" title="' + esc(l.name) + '">' + esc(l.name) + '<small>' + (l.role === 'program' ? 'program' : 'grader') + '</small></div>')
      .join('');
    if (state.selected !== undefined) mark(state.selected);
    window.traceDrawn = { messages: drawn.filter((e) => e.kind === 'msg').length, events: drawn.length };
  }

  function marker(id, colour) {
    // In the page's own units, so that a thicker (selected) line keeps the same head.
    return '<marker id="' + id + '" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto"><path d="M0,1L10,5L0,9z" fill="' + colour + '"/></marker>';
  }

  function short(text, n) {
    return text.length > n ? text.slice(0, n) + '…' : text;
  }

  function arrow(m, x, y, labels) {
    const x1 = x.get(m.from);
    const x2 = x.get(m.to);
    const y1 = y(key(m, 'start'));
    const fromProgram = laneById.get(m.from) && laneById.get(m.from).role === 'program';
    let cls = 'msg' + (fromProgram ? ' back' : '');
    let head = fromProgram ? 'ahb' : 'ah';
    let ex = x2;
    let ey = y(key(m, 'end'));
    let extra = '';
    if (m.lost) {
      // Lost on the way: the arrow stops half-way, at a cross.
      cls += ' lost';
      ex = x1 + (x2 - x1) * 0.55;
      ey = y1 + ROW * 0.6;
      head = '';
      extra = '<path class="lostmark" d="M' + (ex - 4) + ' ' + (ey - 4) + 'l8 8m0 -8l-8 8"/>';
    } else if (m.partial) {
      cls += ' partial';
      head = 'ahw';
    } else if (m.recv === undefined || m.recv === null) {
      // Still held or delayed by a proxy when the test ended.
      cls += ' inflight';
      head = 'ahw';
    }
    const line = '<line class="' + cls + '" data-i="' + m.i + '" x1="' + x1 + '" y1="' + y1 + '" x2="' + ex + '" y2="' + ey + '"' + (head ? ' marker-end="url(#' + head + ')"' : '') + '/>';
    let label = '';
    if (labels) {
      const lx = (x1 + ex) / 2;
      const ly = (y1 + ey) / 2 - 3;
      // As much of the message as fits along its arrow; its type when little does.
      const room = Math.floor(Math.abs(ex - x1) / 6);
      const text = room >= 12 ? short(m.text, room) : short(m.type, Math.max(room, 8));
      label = '<text class="mlabel" x="' + lx + '" y="' + ly + '" text-anchor="middle">' + esc(text) + '</text>';
    }
    return line + extra + label;
  }

  function glyph(e, x, y) {
    let shape;
    switch (e.what) {
      case 'start':
      case 'restart':
      case 'resume':
        shape = '<path class="shape" d="M-5 -6L6 0L-5 6z"/>';
        break;
      case 'exit':
        shape = '<rect class="shape" x="-5" y="-5" width="10" height="10"/>';
        break;
      case 'kill':
      case 'signal':
      case 'reset':
      case 'error':
        shape = '<circle class="shape" r="6" fill-opacity="0.15"/><path class="x" d="M-4 -4L4 4M4 -4L-4 4"/>';
        break;
      case 'pause':
        shape = '<rect class="shape" x="-5" y="-5" width="4" height="10"/><rect class="shape" x="1" y="-5" width="4" height="10"/>';
        break;
      case 'fin':
      case 'eof':
        shape = '<rect class="shape" x="-6" y="-2" width="12" height="4"/>';
        break;
      default:
        shape = '<circle class="shape" r="4"/>';
    }
    return '<g class="ev ' + esc(e.what) + (e.bad ? ' bad' : '') + '" data-i="' + e.i + '" transform="translate(' + x + ',' + y + ')">' + shape + '</g>';
  }

  // ---- details, hover and selection ------------------------------------------------------------

  function summary(e) {
    switch (e.kind) {
      case 'msg':
        return laneName(e.from) + ' → ' + laneName(e.to) + ': ' + e.text + (e.lost ? '  (lost: ' + e.lost + ')' : '');
      case 'expect':
        return laneName(e.lane) + ' waits for ' + e.what + (e.ok === true ? ' ✓' : e.ok === false ? ' ✗' : ' (still waiting)');
      case 'event':
        return laneName(e.lane) + ': ' + e.text;
      case 'gap':
        return e.text;
      default:
        return e.text;
    }
  }

  function hexDump(hex, size) {
    const bytes = hex.match(/../g) || [];
    const rows = [];
    for (let at = 0; at < bytes.length; at += 8) {
      const part = bytes.slice(at, at + 8);
      const ascii = part.map((b) => {
        const n = parseInt(b, 16);
        return n >= 0x20 && n < 0x7f ? String.fromCharCode(n) : '.';
      });
      rows.push(at.toString(16).padStart(4, '0') + '  ' + part.join(' ').padEnd(24) + '  ' + ascii.join(''));
    }
    if (size > bytes.length) rows.push('… the first ' + bytes.length + ' of ' + size + ' bytes');
    return rows.join('\n');
  }

  function show(e) {
    const box = $('details');
    box.replaceChildren();
    const h2 = document.createElement('h2');
    const dl = document.createElement('dl');
    const row = (term, value) => {
      if (value === undefined || value === null || value === '') return;
      const dt = document.createElement('dt');
      dt.textContent = term;
      const dd = document.createElement('dd');
      dd.textContent = value;
      dl.append(dt, dd);
    };
    const pre = (text, wrap) => {
      const p = document.createElement('pre');
      if (wrap) p.className = 'wrap';
      p.textContent = text;
      return p;
    };
    box.append(h2, dl);
    switch (e.kind) {
      case 'msg': {
        h2.textContent = 'message: ' + e.type;
        row('from', laneName(e.from));
        row('to', laneName(e.to));
        row('link', e.link);
        row('sent', e.known === 'receive' ? ms(e.sent) + ' (when the grader received it)' : ms(e.sent));
        row('received', e.lost ? 'never: ' + e.lost : e.recv === undefined || e.recv === null ? (e.partial ? 'not yet whole' : 'not delivered when the test ended') : e.known === 'send' ? ms(e.recv) + ' (when the grader sent it)' : ms(e.recv));
        row('Lamport', e.ls + ' → ' + (e.lr === undefined || e.lr === null ? '?' : e.lr));
        row('size', e.size + ' bytes');
        box.append(pre(e.text, true), pre(hexDump(e.hex, e.size)));
        const hint = document.createElement('p');
        hint.className = 'hint';
        hint.textContent =
          e.known === 'send'
            ? 'The grader sent this: it knows when, not when the program read it, so both ends of the arrow carry the send time.'
            : e.known === 'receive'
              ? 'The grader received this: it knows when, not when the program wrote it, so both ends of the arrow carry the receive time.'
              : 'A fault proxy passed this on: it was sent when the proxy received it and received when the proxy delivered it.';
        box.append(hint);
        break;
      }
      case 'expect':
        h2.textContent = e.failing ? 'the wait that failed' : 'a wait of the test';
        row('on', laneName(e.lane));
        row('for', e.what);
        row('from', ms(e.t));
        row('until', e.end === undefined || e.end === null ? 'still waiting when the test ended' : ms(e.end));
        row('outcome', e.ok === true ? 'came' : e.ok === false ? 'failed' : 'never came');
        if (e.error) box.append(pre(e.error, true));
        break;
      case 'event':
        h2.textContent = e.what;
        row('on', laneName(e.lane));
        row('at', ms(e.t));
        row('Lamport', e.l);
        box.append(pre(e.text, true));
        break;
      case 'fault':
        h2.textContent = 'fault: ' + e.what;
        row('link', e.link);
        row('between', [e.from, e.to].filter((id) => id !== undefined && id !== null).map(laneName).join(' and '));
        row('at', ms(e.t));
        box.append(pre(e.text, true));
        break;
      case 'gap':
        h2.textContent = 'left out';
        box.append(pre(e.text, true));
        break;
      default:
        h2.textContent = e.kind === 'failure' ? 'the test failed' : 'a note of the test';
        row('at', ms(e.t));
        box.append(pre(e.text, true));
    }
  }

  function mark(i) {
    for (const el of document.querySelectorAll('.selected')) {
      el.classList.remove('selected');
      if (el.classList.contains('msg') && el.dataset.head) el.setAttribute('marker-end', el.dataset.head);
    }
    for (const el of document.querySelectorAll('[data-i="' + i + '"]')) {
      el.classList.add('selected');
      if (el.classList.contains('msg') && el.getAttribute('marker-end')) {
        el.dataset.head = el.getAttribute('marker-end');
        el.setAttribute('marker-end', 'url(#ahs)');
      }
    }
  }

  function select(i) {
    state.selected = i;
    mark(i);
    show(events[i]);
  }

  /** The drawn message nearest to the point, within a few pixels: thin lines are hard to hit. */
  function nearestMessage(px, py) {
    let best;
    let bestDistance = 7;
    for (const el of document.querySelectorAll('#diagram line.msg')) {
      const x1 = +el.getAttribute('x1');
      const y1 = +el.getAttribute('y1');
      const x2 = +el.getAttribute('x2');
      const y2 = +el.getAttribute('y2');
      const dx = x2 - x1;
      const dy = y2 - y1;
      const length = dx * dx + dy * dy;
      const t = length ? Math.max(0, Math.min(1, ((px - x1) * dx + (py - y1) * dy) / length)) : 0;
      const d = Math.hypot(px - (x1 + t * dx), py - (y1 + t * dy));
      if (d < bestDistance) {
        bestDistance = d;
        best = el;
      }
    }
    return best;
  }

  function target(event) {
    const hit = event.target.closest && event.target.closest('[data-i]');
    if (hit) return hit;
    const svg = $('diagram');
    if (!svg) return undefined;
    const box = svg.getBoundingClientRect();
    return nearestMessage(event.clientX - box.left, event.clientY - box.top);
  }

  $('canvas').addEventListener('click', (event) => {
    const el = target(event);
    if (el) select(+el.dataset.i);
  });
  const tip = $('tip');
  $('canvas').addEventListener('mousemove', (event) => {
    const el = event.target.closest && event.target.closest('[data-i]');
    if (!el) {
      tip.style.display = 'none';
      return;
    }
    tip.textContent = summary(events[+el.dataset.i]);
    tip.style.display = 'block';
    tip.style.left = Math.min(event.clientX + 14, window.innerWidth - 470) + 'px';
    tip.style.top = event.clientY + 14 + 'px';
  });
  $('canvas').addEventListener('mouseleave', () => (tip.style.display = 'none'));

  function fit() {
    document.documentElement.style.setProperty('--head', document.querySelector('header').offsetHeight + 'px');
  }
  window.addEventListener('resize', fit);
  fit();
  draw();
  if (failing) select(failing.i);
})();
