// ref_ws_server.mjs: the npm `ws` library as a reference WebSocket echo server.
//
// It exists to prove the conformance drivers (autobahn_driver.py, ws_echo.mjs) against an
// independent, widely used implementation before they are pointed at ours: a driver case that
// fails against `ws` (outside the documented NON-STRICT/INFORMATIONAL cases) is a driver bug.
//
//   node ref_ws_server.mjs [--port N] [--max-payload BYTES] [--protocol NAME] [--no-utf8-check]
//
// --no-utf8-check turns off ws's UTF-8 validation: a deliberately broken server, to show that
// the driver catches what it should (ctest integration/ws-driver-selftest).
// Serves an echo at any path (text echoed as text, binary as binary), prints
// "listening ws://127.0.0.1:PORT/ws" on stdout once bound (port 0 picks a free port), and exits
// on SIGTERM or when stdin closes (so a crashed test never leaves it running).
import { WebSocketServer } from 'ws';

const args = process.argv.slice(2);
function opt(name, dflt) {
    const i = args.indexOf(name);
    return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
}
const port = Number(opt('--port', '0'));
const maxPayload = Number(opt('--max-payload', String(16 * 1024 * 1024)));
const protocol = opt('--protocol', '');
const skipUTF8Validation = args.includes('--no-utf8-check');

const wss = new WebSocketServer({
    host: '127.0.0.1',
    port,
    maxPayload,
    // Strict by default in ws 8: UTF-8, close codes, RSV bits, masking. No compression, so that
    // RSV1 is a protocol error like in our server.
    perMessageDeflate: false,
    skipUTF8Validation,
    handleProtocols: (offered) => (protocol && offered.has(protocol) ? protocol : false),
});
wss.on('connection', (sock) => {
    sock.on('message', (data, isBinary) => sock.send(data, { binary: isBinary }));
    sock.on('error', () => {}); // protocol errors are answered with a close frame by ws itself
});
wss.on('listening', () => {
    process.stdout.write(`listening ws://127.0.0.1:${wss.address().port}/ws\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
