// ws_echo.mjs: the npm `ws` client (an independent, strict RFC 6455 implementation) against a
// server's WebSocket echo endpoint.
//
//   node ws_echo.mjs ws://HOST:PORT/ws [--protocol NAME] [--max-size BYTES] [--timeout SECONDS]
//
// Checks, each with a bound in time:
//   1. the handshake; with --protocol NAME we offer NAME and "x-unknown" and the server must pick
//      NAME (RFC 6455 §4.1, §4.2.2); without it we offer none and the server must not answer one
//      (ws fails a handshake that offered subprotocols and got none back, so we only offer when
//      the server is known to have one);
//   2. echo round trips of text (multi-byte UTF-8) and binary messages of 0, 1, 125, 126, 127,
//      65535, 65536 bytes and 1 MiB (capped by --max-size, the server's message limit), each
//      echoed byte for byte with the same type;
//   3. 1000 messages in flight at once (sent before reading any echo), echoed in order;
//   4. a ping answered by a pong with the same payload;
//   5. a clean close: we send 1000, the server answers with a close frame (1000) and the close
//      is clean (ws reports 1006 when the TCP connection drops without a close frame).
// Prints one line per check and exits 1 on the first mismatch, 2 on a usage error.
import { WebSocket } from 'ws';

const argv = process.argv.slice(2);
if (argv.length < 1 || !argv[0].startsWith('ws')) {
    console.error('usage: node ws_echo.mjs ws://HOST:PORT/PATH [--protocol NAME] [--max-size N]');
    process.exit(2);
}
const url = argv[0];
function opt(name, dflt) {
    const i = argv.indexOf(name);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
}
const wantProtocol = opt('--protocol', '');
const maxSize = Number(opt('--max-size', String(1 << 20)));
const timeoutMs = Number(opt('--timeout', '30')) * 1000;
const OFFERED = wantProtocol ? ['x-unknown', wantProtocol] : [];

function fail(why) {
    console.error(`FAIL: ${why}`);
    process.exit(1);
}
const watchdog = setTimeout(() => fail(`not finished within ${timeoutMs / 1000} s`), timeoutMs);

// Text of exactly n UTF-8 bytes, mixing 1-, 2-, 3- and 4-byte code points so that a server that
// splits or re-encodes text is caught.
function textOfBytes(n) {
    const units = ['a', 'é', '€', '😀']; // 1, 2, 3, 4 bytes
    let s = '';
    let len = 0;
    for (let i = 0; len < n; i++) {
        const u = units[i % units.length];
        const b = Buffer.byteLength(u);
        if (len + b > n) {
            s += 'a'.repeat(n - len);
            break;
        }
        s += u;
        len += b;
    }
    return s;
}

function binaryOfBytes(n, seed) {
    const b = Buffer.allocUnsafe(n);
    let x = seed >>> 0 || 1;
    for (let i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        b[i] = x & 0xff;
    }
    return b;
}

const ws = new WebSocket(url, OFFERED, { perMessageDeflate: false, maxPayload: 64 << 20 });
const inbox = [];
let waiter = null;
ws.on('message', (data, isBinary) => {
    inbox.push({ data, isBinary });
    if (waiter) waiter();
});
ws.on('error', (err) => fail(`socket error: ${err.message}`));
let closed = null;
ws.on('close', (code, reason) => {
    closed = { code, reason: reason.toString() };
    if (waiter) waiter();
});

function next() {
    return new Promise((resolve) => {
        const take = () => {
            if (inbox.length) {
                waiter = null;
                resolve(inbox.shift());
            } else if (closed) {
                fail(`connection closed (${closed.code} ${closed.reason}) while waiting for an echo`);
            } else {
                waiter = take;
            }
        };
        take();
    });
}

function sameBytes(got, want, what) {
    const g = Buffer.isBuffer(got) ? got : Buffer.from(got);
    const w = Buffer.isBuffer(want) ? want : Buffer.from(want, 'utf8');
    if (g.length !== w.length) fail(`${what}: echoed ${g.length} bytes, sent ${w.length}`);
    if (!g.equals(w)) {
        let i = 0;
        while (i < g.length && g[i] === w[i]) i++;
        fail(`${what}: echo differs from byte ${i}`);
    }
}

await new Promise((resolve) => ws.once('open', resolve));
const chosen = ws.protocol;
if (chosen !== wantProtocol)
    fail(`server chose subprotocol "${chosen}", expected "${wantProtocol}"`);
console.log(`ok   handshake (subprotocol: ${chosen || 'none'})`);

const sizes = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20].filter((n) => n <= maxSize);
for (const n of sizes) {
    const text = textOfBytes(n);
    ws.send(text);
    const t = await next();
    if (t.isBinary) fail(`text message of ${n} bytes echoed as binary`);
    sameBytes(t.data, text, `text ${n} bytes`);
    const bin = binaryOfBytes(n, n + 1);
    ws.send(bin);
    const b = await next();
    if (!b.isBinary) fail(`binary message of ${n} bytes echoed as text`);
    sameBytes(b.data, bin, `binary ${n} bytes`);
}
console.log(`ok   echo of text and binary at ${sizes.join(', ')} bytes`);

const N = 1000;
const sent = [];
for (let i = 0; i < N; i++) {
    // Alternate types and vary sizes (up to ~4 KiB) so that frames straddle read boundaries.
    const m = i % 2 ? binaryOfBytes((i * 37) % 4096, i) : `msg ${i} ` + 'x'.repeat((i * 53) % 4096);
    sent.push(m);
    ws.send(m);
}
for (let i = 0; i < N; i++) {
    const r = await next();
    if (r.isBinary !== (i % 2 === 1)) fail(`in-flight message ${i}: wrong type`);
    sameBytes(r.data, sent[i], `in-flight message ${i}`);
}
console.log(`ok   ${N} messages in flight echoed in order`);

const pingPayload = Buffer.from('ping-payload-1234');
const pong = new Promise((resolve) => ws.once('pong', resolve));
ws.ping(pingPayload);
sameBytes(await pong, pingPayload, 'pong payload');
console.log('ok   ping answered by a pong with the same payload');

const closedP = new Promise((resolve) => {
    if (closed) resolve();
    else waiter = resolve;
});
ws.close(1000, 'bye');
await closedP;
if (inbox.length) fail(`${inbox.length} unexpected message(s) before the close`);
if (closed.code !== 1000) fail(`close: server answered ${closed.code} (${closed.reason}), expected 1000`);
console.log('ok   clean close with code 1000');
clearTimeout(watchdog);
process.exit(0);
