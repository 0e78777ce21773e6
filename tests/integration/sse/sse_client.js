// sse_client.js: the npm `eventsource` client (v2, WHATWG EventSource for Node) against the SSE
// clock of examples/embed_c/web_server.c (GET /events).
//
//   node sse_client.js <web_server binary>
//
// The script starts the server on a free port with a fast clock (--clock-ms), puts a TCP
// proxy in front of it that cuts the first connections after a while (a network drop, not a clean
// end), and lets one EventSource read through the proxy. EventSource reconnects by itself after
// the server's `retry:` delay, sending Last-Event-ID; the server replays what was missed from the
// channel's ring. Checks:
//   - ids are consecutive integers: nothing lost, nothing duplicated, across every reconnection;
//   - every reconnection carried Last-Event-ID = the last id received before the drop;
//   - the response head: 200, text/event-stream, no-cache, X-Accel-Buffering: no, chunked;
//   - Last-Event-ID of an old but kept event replays from the next one at once; an unknown one
//     replays nothing (the next event is a live one);
//   - eight parallel clients each get consecutive events (two server loops share the channel);
//   - SIGTERM stops the server cleanly (exit 0) with a stream open.
'use strict';
const { spawn } = require('child_process');
const net = require('net');
const http = require('http');
const path = require('path');
const EventSource = require(path.join(__dirname, 'node_modules', 'eventsource'));

const CLOCK_MS = 50;
const DROPS = 3;        // connections cut by the proxy
const DROP_AFTER = 400; // ms after a connection starts
const WANT_EVENTS = 40;

function fail(msg) {
  console.error('FAIL: ' + msg);
  process.exitCode = 1;
  throw new Error(msg);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function waitListening(port, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.on('connect', () => { c.destroy(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  fail(`server not listening on ${port} after ${ms} ms`);
}

function waitFor(cond, ms, what) {
  return new Promise((resolve, reject) => {
    const until = Date.now() + ms;
    const t = setInterval(() => {
      if (cond()) { clearInterval(t); resolve(); }
      else if (Date.now() > until) { clearInterval(t); reject(new Error('timeout: ' + what())); }
    }, 20);
  });
}

// Reads events from a raw GET with the given headers until `count` events came; returns them
// with the response head.
function rawEvents(port, headers, count) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/events', headers }, (res) => {
      let buf = '';
      const events = [];
      res.setEncoding('utf8');
      res.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = {};
          for (const line of block.split('\n')) {
            const m = /^(\w+): ?(.*)$/.exec(line);
            if (m) ev[m[1]] = m[2];
          }
          if (ev.data !== undefined) events.push(ev);
        }
        if (events.length >= count) {
          req.destroy();
          resolve({ res, events });
        }
      });
      res.on('error', () => {});
    });
    req.on('error', (e) => { if (!req.destroyed) reject(e); });
    setTimeout(() => reject(new Error('rawEvents timeout')), 10000);
  });
}

async function main() {
  const bin = process.argv[2];
  if (!bin) fail('usage: node sse_client.js <web_server binary>');
  const port = await freePort();
  // Two loops: reconnections and the parallel clients below land on either (SO_REUSEPORT), so
  // the channel's fan-out to several loops is exercised.
  const server = spawn(bin, ['--port', String(port), '--clock-ms', String(CLOCK_MS),
                             '--io-threads', '2'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  let exited = null;
  const exitP = new Promise((resolve) => server.on('exit', (code, sig) => {
    exited = { code, sig };
    resolve(exited);
  }));
  try {
    await waitListening(port, 10000);

    // The proxy: the first DROPS connections are cut DROP_AFTER ms after they start.
    const conns = []; // { head: request head text, last: the last id received at accept }
    const got = [];
    const proxy = net.createServer((client) => {
      // Same process and loop as the EventSource: nothing can arrive on this connection before
      // this runs, so `last` is exactly what the client had when it reconnected.
      const info = { head: '', last: got.length ? got[got.length - 1].id : null };
      conns.push(info);
      const n = conns.length;
      const up = net.connect(port, '127.0.0.1');
      client.on('data', (d) => { if (info.head.length < 4096) info.head += d.toString('latin1'); });
      client.pipe(up);
      up.pipe(client);
      const kill = () => { client.destroy(); up.destroy(); };
      client.on('error', kill);
      up.on('error', kill);
      client.on('close', kill);
      up.on('close', kill);
      if (n <= DROPS) setTimeout(kill, DROP_AFTER);
    });
    await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
    const pport = proxy.address().port;

    const es = new EventSource(`http://127.0.0.1:${pport}/events`);
    es.onmessage = (e) => got.push({ id: e.lastEventId, data: e.data });
    es.onerror = () => {};
    await waitFor(() => conns.length > DROPS && got.length >= WANT_EVENTS, 30000,
      () => `${WANT_EVENTS} events over ${DROPS + 1} connections (got ${got.length} over ` +
            `${conns.length}: ${got.map((e) => e.id).join(',')})`);
    es.close();
    proxy.close();

    // No loss, no duplicate.
    const first = Number(got[0].id);
    got.forEach((e, i) => {
      if (Number(e.id) !== first + i)
        fail(`event ${i}: id ${e.id}, expected ${first + i} (ids: ${got.map((x) => x.id).join(',')})`);
      if (!e.data) fail(`event ${e.id} has no data`);
    });
    // Reconnections carried Last-Event-ID.
    for (let i = 1; i <= DROPS; i++) {
      const m = /\r\nlast-event-id: *([^\r]*)\r\n/i.exec(conns[i].head);
      if (!m) fail(`reconnection ${i} had no Last-Event-ID:\n${conns[i].head}`);
      const want = conns[i].last;
      if (want !== null && m[1] !== want)
        fail(`reconnection ${i}: Last-Event-ID ${m[1]}, last received ${want}`);
    }
    console.log(`ok: ${got.length} events ${got[0].id}..${got[got.length - 1].id} over ` +
                `${conns.length} connections, none lost or duplicated`);

    // Response head.
    const live = await rawEvents(port, {}, 1);
    const h = live.res.headers;
    if (live.res.statusCode !== 200) fail('status ' + live.res.statusCode);
    if (!/^text\/event-stream/.test(h['content-type'] || '')) fail('content-type ' + h['content-type']);
    if (h['cache-control'] !== 'no-cache') fail('cache-control ' + h['cache-control']);
    if (h['x-accel-buffering'] !== 'no') fail('x-accel-buffering ' + h['x-accel-buffering']);
    if (h['transfer-encoding'] !== 'chunked') fail('transfer-encoding ' + h['transfer-encoding']);

    // Replay of a kept id: the next events come at once, in order.
    const from = Number(got[5].id);
    const rep = await rawEvents(port, { 'Last-Event-ID': String(from) }, 3);
    rep.events.forEach((e, i) => {
      if (Number(e.id) !== from + 1 + i) fail(`replay after ${from}: got id ${e.id} at ${i}`);
    });
    // Unknown id: nothing replayed; the first event is live (newer than everything seen).
    const unk = await rawEvents(port, { 'Last-Event-ID': 'no-such-id' }, 1);
    const newest = Number(live.events[0].id);
    if (Number(unk.events[0].id) <= newest)
      fail(`unknown Last-Event-ID replayed ${unk.events[0].id} (newest seen ${newest})`);
    console.log('ok: head, replay after a kept id, nothing replayed for an unknown id');

    // Eight clients at once, directly: each gets consecutive ids from where it started.
    const many = await Promise.all(Array.from({ length: 8 }, () => rawEvents(port, {}, 10)));
    many.forEach((r, k) => r.events.forEach((e, i) => {
      if (Number(e.id) !== Number(r.events[0].id) + i) fail(`client ${k}: id ${e.id} at ${i}`);
    }));
    console.log('ok: 8 parallel clients, 10 consecutive events each');

    // Graceful stop with a stream open.
    const open = new EventSource(`http://127.0.0.1:${port}/events`);
    open.onerror = () => {};
    await new Promise((r) => { open.onmessage = r; });
    server.kill('SIGTERM');
    const t0 = Date.now();
    const ex = await Promise.race([exitP, new Promise((r) => setTimeout(() => r(null), 10000))]);
    open.close();
    if (!ex) fail('server did not exit within 10 s of SIGTERM');
    if (ex.code !== 0) fail(`server exit ${JSON.stringify(ex)}`);
    console.log(`ok: SIGTERM with a stream open: exit 0 in ${Date.now() - t0} ms`);
  } finally {
    if (!exited) server.kill('SIGKILL');
  }
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exitCode = 1;
}).finally(() => setTimeout(() => process.exit(process.exitCode || 0), 10));
